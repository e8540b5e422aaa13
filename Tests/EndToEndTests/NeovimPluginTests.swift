import Foundation
import TestSupport
import Testing

/// The Neovim plugin (clients/nvim) in a real `nvim --headless`, over the real tofu-rpc, against
/// real TLS peers on loopback. Each test runs a script of Tests/Fixtures/nvim that works the
/// plugin as an operator would and stops after each step; the test checks what the editor shows
/// and, through a tofu-rpc of its own on the same store, what the store holds.
@Suite(.serialized) struct NeovimPluginTests {
    static let rpc = productPath("tofu-rpc")

    /// The pins of the store, by host key.
    static func pins(_ server: StoreServer) async throws -> [String: [String: Any]] {
        let certs = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: certs.compactMap { pin in (pin["host"] as? String).map { ($0, pin) } })
    }

    static func events(_ server: StoreServer, _ host: String) async throws -> [String] {
        let events = try await server.result("certHistory", ["host": host])["events"] as? [[String: Any]] ?? []
        return events.compactMap { $0["event"] as? String }
    }

    static func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }

    static func prompts(_ data: [String: Any]) -> [[String: Any]] { data["prompts"] as? [[String: Any]] ?? [] }

    /// The findings of a :checkhealth buffer, in the words of Neovim 0.7 (`  - OK: message`)
    /// and of later releases (`- ✅ OK message`); advice lines are left out.
    static func health(_ lines: Any?) -> [(status: String, message: String)] {
        strings(lines).compactMap { line in
            guard let match = line.firstMatch(of: /^\s*- (?:\S+ )?(OK|WARNING|ERROR|INFO):? (.*)$/) else { return nil }
            return (String(match.1), String(match.2))
        }
    }

    static func fingerprint(_ pin: [String: Any]?) -> String? { pin?["sha256Fingerprint"] as? String }

    @Test func listShowsDetailsDeletesOnlyTheListedCertificateAndRefreshes() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let kong = try await CertificateFactory.make()
        let staged = try await CertificateFactory.make()
        // A subject with a zero-width space and a right-to-left override: shown escaped.
        let disguised = try await CertificateFactory.make(subject: "/CN=ko\u{200B}ng/OU=\u{202E}evil")
        let replacement = try await CertificateFactory.make()
        let other = try await CertificateFactory.make(subject: "/CN=dnac")
        // Keys on loopback; pinCert never connects, and no step of this test dials them.
        let first = "127.0.0.1_8443", second = "localhost_9443", third = "::1_8443"
        _ = try await server.result("pinCert", ["host": first, "pem": kong.pem])
        _ = try await server.result("pinCert", ["host": first, "pem": staged.pem, "next": true])
        _ = try await server.result("pinCert", ["host": second, "pem": disguised.pem])
        let realSubject = try await disguised.openssl(["-subject", "-nameopt", "oneline,-esc_msb"]).replacingOccurrences(of: "subject=", with: "")
        let shownSubject = realSubject.replacingOccurrences(of: "\u{200B}", with: "\\u200B").replacingOccurrences(of: "\u{202E}", with: "\\u202E")
        #expect(shownSubject != realSubject)

        let nvim = try NeovimSession(script: "list_test.lua", params: ["rpc": Self.rpc, "store": store])

        let listed = try await nvim.step("listed")
        #expect(listed["name"] as? String == "tofu://pins")
        #expect(Self.strings(listed["lines"]) == ["host=\(first);  subject=CN = kong", "host=\(second);  subject=\(shownSubject)"], "\(listed)")
        #expect(try await Self.pins(server).keys.sorted() == [first, second])
        try nvim.go()

        let details = try await nvim.step("details")
        #expect(details["name"] as? String == "tofu://pin/\(first)")
        let detailLines = Self.strings(details["lines"])
        let pin = try await Self.pins(server)[first]
        let serial = try await kong.serial()
        #expect(detailLines.first == "host=\(first);  subject=CN = kong")
        #expect(detailLines.contains("serial         \(serial)"), "\(detailLines)")
        #expect(detailLines.contains("SHA-256        \(kong.fingerprint)"), "\(detailLines)")
        #expect(detailLines.contains("SPKI SHA-256   \(pin?["spkiSha256"] as? String ?? "?")"), "\(detailLines)")
        #expect(detailLines.contains("valid          from \(pin?["notBefore"] as? String ?? "?") to \(pin?["notAfter"] as? String ?? "?")"), "\(detailLines)")
        #expect(detailLines.contains("policy         certificate (exactly this certificate)"), "\(detailLines)")
        #expect(detailLines.contains("last verified  never"), "\(detailLines)")
        #expect(detailLines.contains("staged next    SHA-256 \(staged.fingerprint)"), "\(detailLines)")
        #expect(detailLines.contains("               serial \(try await staged.serial())"), "\(detailLines)")
        #expect(details["windows"] as? Int == 2, "details open in a split")
        try nvim.go()

        let kept = try await nvim.step("kept")
        let keptPrompt = Self.prompts(kept).first?["prompt"] as? String ?? ""
        #expect(keptPrompt.contains(serial) && keptPrompt.contains(kong.fingerprint), "the confirmation shows the serial and fingerprint: \(keptPrompt)")
        #expect(Self.strings(Self.prompts(kept).first?["items"]) == ["Delete", "Keep"])
        #expect(Self.fingerprint(try await Self.pins(server)[first]) == kong.fingerprint, "Keep deleted the pin")
        try nvim.go()

        // The controller's pin changes in another process while the list shows the old one.
        _ = try await nvim.step("replace-behind-the-list")
        _ = try await server.result("deleteCert", ["host": first, "expectedFingerprint": kong.fingerprint])
        _ = try await server.result("pinCert", ["host": first, "pem": replacement.pem])
        try nvim.go()

        let refused = try await nvim.step("stale-delete-refused")
        let refusedPrompt = Self.prompts(refused).first?["prompt"] as? String ?? ""
        #expect(refusedPrompt.contains(kong.fingerprint), "the question showed what the list showed: \(refusedPrompt)")
        #expect(Self.fingerprint(try await Self.pins(server)[first]) == replacement.fingerprint, "dd deleted a pin it never showed: expectedFingerprint was not sent")
        let refusal = Self.strings(refused["notes"]).joined(separator: "\n")
        #expect(refusal.contains("nothing was deleted") && refusal.contains(replacement.fingerprint), "\(refusal)")
        #expect(Self.strings(refused["lines"]).count == 2)
        try nvim.go()

        let deleted = try await nvim.step("deleted")
        let deletedPrompt = Self.prompts(deleted).first?["prompt"] as? String ?? ""
        #expect(deletedPrompt.contains(try await replacement.serial()) && deletedPrompt.contains(replacement.fingerprint), "\(deletedPrompt)")
        #expect(try await Self.pins(server)[first] == nil, "the pin was not deleted")
        #expect(try await Self.events(server, first).last == "deleted")
        #expect(Self.strings(deleted["lines"]) == ["host=\(second);  subject=\(shownSubject)"], "\(deleted)")
        #expect(Self.strings(deleted["notes"]).contains { $0.contains("deleted the pin of \(first)") }, "\(deleted)")
        try nvim.go()

        _ = try await nvim.step("pin-another")
        _ = try await server.result("pinCert", ["host": third, "pem": other.pem])
        try nvim.go()

        let refreshed = try await nvim.step("refreshed")
        #expect(Self.strings(refreshed["lines"]) == ["host=\(third);  subject=CN = dnac", "host=\(second);  subject=\(shownSubject)"], "\(refreshed)")
        try nvim.go()
        let rpcPid = Int32(refreshed["pid"] as? Int ?? 0)

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        try await eventually { processEnded(rpcPid) }
        #expect(processEnded(rpcPid), "tofu-rpc outlived Neovim")
        _ = try await server.stop()
    }

    @Test func verifyOneAndEveryPinWithProgressQuickfixAndACancel() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let presentedByGood = try await CertificateFactory.make()
        let pinnedForChanged = try await CertificateFactory.make()
        let presentedByChanged = try await CertificateFactory.make()
        let spare = try await CertificateFactory.make()
        let good = try await peers.listen("tls", certificate: presentedByGood)
        let changed = try await peers.listen("tls", certificate: presentedByChanged)
        let closed = "127.0.0.1_\(TLSPeers.closedPort())"
        _ = try await server.result("pinCert", ["host": good.key, "pem": presentedByGood.pem])
        _ = try await server.result("pinCert", ["host": changed.key, "pem": pinnedForChanged.pem])
        _ = try await server.result("pinCert", ["host": closed, "pem": spare.pem])

        let nvim = try NeovimSession(
            script: "verify_test.lua", params: ["rpc": Self.rpc, "store": store, "good": good.key, "changed": changed.key, "fast": 3])

        let match = try await nvim.step("one-match")
        #expect(Self.strings(match["notes"]) == ["tofu: \(good.key): match, SHA-256 \(presentedByGood.fingerprint)"], "\(match)")
        #expect(try await Self.pins(server)[good.key]?["lastVerifiedAt"] is String, "a match sets lastVerifiedAt")
        #expect(Set(Self.strings(match["completion"])) == [good.key, changed.key, closed], "host keys complete from the store: \(match)")
        try nvim.go()

        let mismatch = try await nvim.step("one-mismatch")
        let verdict = Self.strings(mismatch["notes"]).joined(separator: "\n")
        #expect(verdict.hasPrefix("tofu: \(changed.key): MISMATCH"), "\(verdict)")
        #expect(verdict.contains("pinned \(pinnedForChanged.fingerprint), presented \(presentedByChanged.fingerprint)"), "\(verdict)")
        #expect(verdict.contains("a new key"), "\(verdict)")
        #expect(verdict.contains(". Remedy: confirm \(presentedByChanged.fingerprint)"), "\(verdict)")
        #expect(Self.fingerprint(try await Self.pins(server)[changed.key]) == pinnedForChanged.fingerprint, "verifying changed the pin")
        #expect(try await Self.events(server, changed.key).last == "mismatch")
        try nvim.go()

        let all = try await nvim.step("all")
        #expect(all["progress"] as? Int == 3, "one $/progress per host: \(all)")
        let lines = Self.strings(all["lines"])
        #expect(lines.first == "Verified 3 pins: 1 mismatch, 1 unreachable, 1 match. Results in the quickfix list (:copen), mismatches first.", "\(lines)")
        let progressed = Set(lines.dropFirst().map { $0.replacingOccurrences(of: #"^\d/3  "#, with: "", options: .regularExpression) })
        #expect(progressed == ["host=\(good.key);  status=match", "host=\(changed.key);  status=mismatch", "host=\(closed);  status=unreachable"], "\(lines)")
        let quickfix = all["quickfix"] as? [String: Any] ?? [:]
        let items = quickfix["items"] as? [[String: Any]] ?? []
        #expect(quickfix["title"] as? String == "tofu: verify every pin")
        #expect(items.map { $0["name"] as? String ?? "" } == ["tofu://pin/\(changed.key)", "tofu://pin/\(closed)", "tofu://pin/\(good.key)"], "mismatches first: \(items)")
        #expect(items.map { $0["type"] as? String ?? "" } == ["E", "W", "I"])
        let first = items.first?["text"] as? String ?? ""
        #expect(first.contains("MISMATCH") && first.contains(pinnedForChanged.fingerprint) && first.contains(presentedByChanged.fingerprint), "\(first)")
        #expect(first.contains("Remedy: confirm \(presentedByChanged.fingerprint)"), "\(first)")
        let second = items.dropFirst().first?["text"] as? String ?? ""
        #expect(second.contains("\(closed): unreachable (refused)"), "\(items)")
        #expect(all["filetype"] as? String == "qf", "the quickfix window opens")
        #expect(Self.fingerprint(try await Self.pins(server)[changed.key]) == pinnedForChanged.fingerprint)
        try nvim.go()

        let jumped = try await nvim.step("jumped")
        #expect(jumped["name"] as? String == "tofu://pin/\(changed.key)")
        #expect(Self.strings(jumped["lines"]).contains("SHA-256        \(pinnedForChanged.fingerprint)"), "\(jumped)")
        try nvim.go()

        // Three hosts that accept and never answer the handshake.
        _ = try await nvim.step("pin-silent-hosts")
        let silent = try await peers.listen("silent", count: 3)
        for peer in silent { _ = try await server.result("pinCert", ["host": peer.key, "pem": spare.pem]) }
        try nvim.go()

        let cancelled = try await nvim.step("cancelled")
        #expect(Self.strings(cancelled["while_running"]).first == "Verifying every pin: 3 of 6 done (<C-c> cancels)", "\(cancelled)")
        #expect((cancelled["elapsed_ms"] as? Int ?? .max) < 10_000, "the cancel took \(cancelled["elapsed_ms"] ?? "?") ms; the silent hosts' deadline is 60 s")
        let cancelledLines = Self.strings(cancelled["lines"])
        #expect(cancelledLines.first?.hasPrefix("Cancelled after 3 of 6 hosts") == true, "\(cancelledLines)")
        let partial = cancelled["quickfix"] as? [String: Any] ?? [:]
        let partialItems = partial["items"] as? [[String: Any]] ?? []
        #expect(partial["title"] as? String == "tofu: verify every pin (cancelled)")
        #expect(partialItems.map { $0["name"] as? String ?? "" } == ["tofu://pin/\(changed.key)", "tofu://pin/\(closed)", "tofu://pin/\(good.key)"], "\(partialItems)")
        #expect(Self.strings(cancelled["notes"]).contains { $0.hasPrefix("tofu: Cancelled after 3 of 6 hosts") }, "\(cancelled)")
        for peer in silent {
            #expect(try await Self.events(server, peer.key) == ["pinned"], "a cancelled run recorded something for \(peer.key)")
        }
        try nvim.go()

        let served = try await nvim.step("served-after-cancel")
        #expect(Self.strings(served["lines"]).count == 6, "\(served)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
        peers.stop()
    }

    /// Every string in a decoded JSON value.
    static func allStrings(_ value: Any?) -> [String] {
        switch value {
        case let text as String: [text]
        case let array as [Any]: array.flatMap { allStrings($0) }
        case let object as [String: Any]: object.flatMap { [$0.key] + allStrings($0.value) }
        default: []
        }
    }

    @Test func addDnacPinsOnFirstUseShowsAMismatchRepinsInOneStepAndKeepsThePasswordNowhere() async throws {
        // "Zq8" marks the password wherever a piece of it could end up.
        let password = "Zq8-\"nvim\" é-secret"
        let basic = "Basic " + Data("admin:\(password)".utf8).base64EncodedString()
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let original = try await CertificateFactory.make()
        let regenerated = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: original, dnac: ["username": "admin", "password": password])

        let nvim = try NeovimSession(
            script: "dnac_test.lua",
            params: ["rpc": Self.rpc, "store": store, "server": dnac.address, "key": dnac.key, "username": "admin", "password": password])

        let differ = try await nvim.step("passwords-differ")
        #expect(Self.strings(differ["notes"]) == ["tofu: the two passwords differ: nothing was sent. Run :TofuAddDnac again."], "\(differ)")
        #expect(try await peers.connections(dnac) == 0, "passwords that differ went out")
        #expect(try await Self.pins(server).isEmpty)
        try nvim.go()

        let added = try await nvim.step("added")
        let addedNotes = Self.strings(added["notes"]).joined(separator: "\n")
        #expect(addedNotes.contains("\(dnac.address) added: pinned on first use, SHA-256 \(original.fingerprint)"), "\(addedNotes)")
        #expect(addedNotes.contains("the controller accepted the credentials"), "\(addedNotes)")
        #expect(Self.fingerprint(try await Self.pins(server)[dnac.key]) == original.fingerprint)
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.count == 1 && servers.first?["username"] as? String == "admin", "\(servers)")
        let requests = try await peers.requests(dnac)
        #expect(requests.count == 1)
        #expect((requests.first?["headers"] as? [String: Any])?["authorization"] as? String == basic, "the password did not arrive as typed")
        try nvim.go()

        // The controller regenerates its certificate: same address, new key.
        _ = try await nvim.step("regenerate")
        try await peers.present(regenerated, on: dnac)
        try nvim.go()

        let left = try await nvim.step("mismatch-left")
        let leftNotes = Self.strings(left["notes"]).joined(separator: "\n")
        #expect(leftNotes.contains("pinned \(original.fingerprint)") && leftNotes.contains("presented \(regenerated.fingerprint)"), "both fingerprints: \(leftNotes)")
        #expect(leftNotes.contains("nothing was sent") && leftNotes.contains("the pin of \(dnac.key) is unchanged"), "\(leftNotes)")
        let offer = Self.strings(Self.prompts(left).first?["items"])
        #expect(offer.first?.contains("Re-pin to \(regenerated.fingerprint)") == true, "\(offer)")
        #expect(Self.fingerprint(try await Self.pins(server)[dnac.key]) == original.fingerprint, "the pin changed though the operator left it")
        #expect(try await peers.requests(dnac).count == 1, "credentials went to a certificate that is not the pin")
        try nvim.go()

        let repinned = try await nvim.step("repinned")
        let repinnedNotes = Self.strings(repinned["notes"]).joined(separator: "\n")
        #expect(repinnedNotes.contains("added: the pin was replaced by the accepted certificate, SHA-256 \(regenerated.fingerprint)"), "\(repinnedNotes)")
        #expect(Self.fingerprint(try await Self.pins(server)[dnac.key]) == regenerated.fingerprint)
        // The server's additions are in the history too (each add-dnac-server that was accepted).
        #expect(try await Self.events(server, dnac.key) == ["pinned", "serverAdded", "mismatch", "mismatch", "replaced", "serverAdded"])
        #expect(try await peers.requests(dnac).count == 2)
        try nvim.go()

        // :TofuHistory shows what `tofu history` prints, line for line.
        let historyOne = try await nvim.step("history-one")
        let cliOne = try await runProgram(productPath("tofu"), ["history", dnac.key], environment: ["TOFU_STORE": store])
        #expect(historyOne["name"] as? String == "tofu://history/\(dnac.key)")
        #expect(Self.strings(historyOne["lines"]) == cliOne.stdout.split(separator: "\n").map(String.init), "\(historyOne) vs \(cliOne.stdout)")
        #expect(Self.strings(historyOne["lines"]).map { $0.components(separatedBy: ";  ")[1] } == ["event=pinned", "event=serverAdded", "event=mismatch", "event=mismatch", "event=replaced", "event=serverAdded"])
        #expect(historyOne["cursor"] as? Int == 6, "the most recent event is not in view")
        try nvim.go()
        let historyAll = try await nvim.step("history-all")
        let cliAll = try await runProgram(productPath("tofu"), ["history"], environment: ["TOFU_STORE": store])
        #expect(historyAll["name"] as? String == "tofu://history")
        #expect(Self.strings(historyAll["lines"]) == cliAll.stdout.split(separator: "\n").map(String.init), "\(historyAll) vs \(cliAll.stdout)")
        try nvim.go()

        let nowhere = try await nvim.step("kept-nowhere")
        let everything = Self.allStrings(nowhere)
        #expect(Self.strings(nowhere["notes"]).count >= 8, "the plugin's messages were not collected: \(nowhere)")
        #expect(!everything.contains { $0.contains("Zq8") || $0.contains(basic.dropFirst(6)) }, "the password is kept in Neovim: \(nowhere)")
        let inputHistory = Self.strings((nowhere["histories"] as? [String: Any])?["input"])
        #expect(inputHistory.contains("admin") && inputHistory.contains(dnac.address), "the input history was not read: \(inputHistory)")
        let log = (try? String(contentsOfFile: nowhere["lsp_log"] as? String ?? "", encoding: .utf8)) ?? ""
        #expect(log.contains("rpc.send") && log.contains("listCerts"), "the LSP log did not record at DEBUG: \(log.prefix(2000))")
        #expect(!log.contains("Zq8") && !log.contains(basic.dropFirst(6)), "the password is in the LSP log")
        let rpcPid = Int32(nowhere["pid"] as? Int ?? 0)
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        let shada = FileManager.default.contents(atPath: nvim.directory + "/shada") ?? Data()
        #expect(!shada.isEmpty, "Neovim wrote no shada file")
        #expect(shada.range(of: Data("Zq8".utf8)) == nil, "the password is in the shada file")
        #expect(!nvim.transcript.contains("Zq8"), "the password was written to the terminal")
        try await eventually { processEnded(rpcPid) }
        #expect(processEnded(rpcPid), "tofu-rpc outlived Neovim")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func pinTakesTheCertificateOfTheBuffer() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let first = try await CertificateFactory.make()
        let second = try await CertificateFactory.make(subject: "/CN=kong-next")
        // Keys on loopback; pinCert never connects.
        let key = "127.0.0.1_7443", other = "127.0.0.1_7444", third = "127.0.0.1_7445"
        let nvim = try NeovimSession(
            script: "pin_test.lua", params: ["rpc": Self.rpc, "store": store, "key": key, "other": other, "third": third, "first": first.pem, "second": second.pem])

        let pinned = try await nvim.step("pinned")
        #expect(Self.strings(pinned["notes"]) == ["tofu: \(key) pinned: SHA-256 \(first.fingerprint) (subject CN = kong, serial \(try await first.serial()))"], "\(pinned)")
        #expect(Self.fingerprint(try await Self.pins(server)[key]) == first.fingerprint)
        try nvim.go()

        let matched = try await nvim.step("matched")
        #expect(Self.strings(matched["notes"]).first?.contains("\(key) was already pinned to this certificate") == true, "\(matched)")
        #expect(try await Self.events(server, key) == ["pinned"])
        try nvim.go()

        let refused = try await nvim.step("refused")
        let refusal = Self.strings(refused["notes"]).joined(separator: "\n")
        #expect(refusal.hasPrefix("tofu: pinning for \(key) failed: ") && refusal.contains(first.fingerprint) && refusal.contains(second.fingerprint), "\(refusal)")
        #expect(Self.fingerprint(try await Self.pins(server)[key]) == first.fingerprint, "a refused pin changed the store")
        try nvim.go()

        let staged = try await nvim.step("staged")
        #expect(Self.strings(staged["notes"]).first?.hasPrefix("tofu: \(key) staged as the next certificate (the pin \(first.fingerprint) stays until the host presents it): SHA-256 \(second.fingerprint)") == true, "\(staged)")
        let stagedPin = try await Self.pins(server)[key]
        #expect(Self.fingerprint(stagedPin) == first.fingerprint)
        #expect(Self.fingerprint(stagedPin?["next"] as? [String: Any]) == second.fingerprint)
        try nvim.go()

        let chained = try await nvim.step("block-under-cursor")
        #expect(Self.fingerprint(try await Self.pins(server)[other]) == second.fingerprint, "\(chained)")
        try nvim.go()

        let none = try await nvim.step("no-certificate")
        #expect(Self.strings(none["notes"]).first?.hasPrefix("tofu: no certificate in this buffer") == true, "\(none)")
        #expect(try await Self.pins(server)[third] == nil)
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
    }

    @Test func checkhealthAndHelp() async throws {
        let store = newStorePath()
        let directory = temporaryDirectory("tofu-nvim-health")
        let broken = directory + "/not-a-store.sqlite"
        let garbage = Data("this is not an SQLite store, and tofu must not touch it\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: broken))
        let missing = directory + "/no-such-tofu-rpc"
        let version = (OpenRPCDocument.repository.document["info"] as? [String: Any])?["version"] as? String ?? "?"

        let nvim = try NeovimSession(
            script: "health_help_test.lua", params: ["broken": broken, "missing": missing],
            environment: ["TOFU_RPC": Self.rpc, "TOFU_STORE": store])

        let healthy = Self.health(try await nvim.step("health-ok")["lines"])
        #expect(healthy.contains { $0 == ("OK", "tofu-rpc found: \(Self.rpc) (from $TOFU_RPC)") }, "\(healthy)")
        #expect(healthy.contains { $0.status == "OK" && $0.message.hasPrefix("tofu-rpc answers: tofu \(version) (pid ") && !$0.message.hasSuffix("?)") }, "\(healthy)")
        #expect(healthy.contains { $0 == ("OK", "the pin store is reachable: \(store) ($TOFU_STORE), no pins yet") }, "\(healthy)")
        #expect(healthy.count == 4 && healthy.allSatisfy { $0.status == "OK" }, "\(healthy)")
        #expect(FileManager.default.fileExists(atPath: store), "the store was not opened")
        try nvim.go()

        let refused = Self.health(try await nvim.step("health-store-refused")["lines"])
        #expect(refused.contains { $0.status == "OK" && $0.message.hasPrefix("tofu-rpc answers: tofu \(version)") }, "\(refused)")
        #expect(refused.contains { $0.status == "ERROR" && $0.message.hasPrefix("the pin store \(broken) (setup{ store }) is unavailable: ") }, "\(refused)")
        #expect(FileManager.default.contents(atPath: broken) == garbage, "tofu changed a file that is not its store")
        try nvim.go()

        let none = Self.health(try await nvim.step("health-no-tofu-rpc")["lines"])
        #expect(none.contains { $0 == ("ERROR", "setup{ cmd = \"\(missing)\" } is not an executable tofu-rpc") }, "\(none)")
        try nvim.go()

        let help = try await nvim.step("help")
        let page = help["help"] as? [String: Any] ?? [:]
        #expect(page["file"] as? String == nvim.pluginDirectory + "/doc/tofu.txt", "\(help)")
        #expect(page["filetype"] as? String == "help")
        #expect((page["line"] as? String ?? "").contains("*tofu*"), "\(page)")
        let commands = help["commands"] as? [String: String] ?? [:]
        #expect(commands.keys.sorted() == ["TofuAddDnac", "TofuCancel", "TofuHistory", "TofuList", "TofuPin", "TofuVerify"], "\(commands)")
        for (name, line) in commands {
            #expect(line.contains("*:\(name)*"), ":help :\(name) shows \(line)")
        }
        for (topic, line) in help["topics"] as? [String: String] ?? [:] {
            #expect(line.contains("*\(topic)*"), ":help \(topic) shows \(line)")
        }
        #expect(FileManager.default.fileExists(atPath: nvim.pluginDirectory + "/doc/tags"))
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
    }

    @Test func aTofuRPCThatDiesIsReportedNotWaitedFor() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let silent = try await peers.listen("silent")
        _ = try await server.result("pinCert", ["host": silent.key, "pem": certificate.pem])
        let dying = temporaryDirectory("tofu-nvim-dying") + "/tofu-rpc"
        try "#!/bin/sh\necho 'tofu-rpc: cannot open the store: the disk is on fire' >&2\nexit 3\n".write(toFile: dying, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dying)

        let nvim = try NeovimSession(script: "server_exit_test.lua", params: ["rpc": Self.rpc, "store": store, "silent": silent.key, "dying": dying])

        let verifying = try await nvim.step("verifying")
        let first = Int32(verifying["pid"] as? Int ?? 0)
        #expect(first > 0 && !processEnded(first))
        #expect(kill(first, SIGKILL) == 0)
        try nvim.go()

        let reported = try await nvim.step("reported")
        let report = Self.strings(reported["notes"]).joined(separator: "\n")
        #expect(report.hasPrefix("tofu: verifying \(silent.key) failed: tofu-rpc was killed by signal 9 before it answered verifyCert."), "\(report)")
        #expect(report.contains("The next command starts it again."), "\(report)")
        #expect((reported["elapsed_ms"] as? Int ?? .max) < 10_000, "\(reported)")
        try nvim.go()

        let restarted = try await nvim.step("restarted")
        let second = Int32(restarted["pid"] as? Int ?? 0)
        #expect(second > 0 && second != first, "\(restarted)")
        #expect(Self.strings(restarted["lines"]) == ["host=\(silent.key);  subject=CN = kong"], "\(restarted)")
        try nvim.go()

        _ = try await nvim.step("kill-idle")
        #expect(kill(second, SIGKILL) == 0)
        try nvim.go()

        let idle = try await nvim.step("idle-death")
        #expect(Self.strings(idle["notes"]) == ["tofu: tofu-rpc was killed by signal 9. The next command starts it again."], "\(idle)")
        try nvim.go()

        let lastWords = Self.strings(try await nvim.step("last-words")["notes"]).joined(separator: "\n")
        #expect(lastWords.contains("tofu-rpc exited with status 3 before it answered listCerts. Its last words: tofu-rpc: cannot open the store: the disk is on fire"), "\(lastWords)")
        try nvim.go()

        let health = Self.strings(try await nvim.step("health-after-exit")["lines"])
        #expect(Self.health(health).contains { $0 == ("WARNING", "an earlier tofu-rpc of this Neovim ended: status 3: tofu-rpc: cannot open the store: the disk is on fire") }, "\(health)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        #expect(try await Self.events(server, silent.key) == ["pinned"])
        _ = try await server.stop()
        peers.stop()
    }
}
