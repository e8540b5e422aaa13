import Foundation
import TestSupport
import Testing

/// The Neovim plugin (clients/nvim) attacked as a hostile peer and worked by a careless operator:
/// a question interrupted with <C-c>, a subject of kilobytes, many pins, a tofu-rpc that writes
/// garbage, a request JSON cannot carry, a macro recording the password, an empty store.
/// Each test runs a script of Tests/Fixtures/nvim in a real headless Neovim, over the real
/// tofu-rpc and real TLS peers on loopback (see NeovimPluginTests for the harness).
@Suite(.serialized) struct NeovimPluginHardeningTests {
    static let rpc = productPath("tofu-rpc")

    static func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }

    static func prompts(_ data: [String: Any]) -> [[String: Any]] { data["prompts"] as? [[String: Any]] ?? [] }

    static func fingerprint(_ server: StoreServer, _ host: String) async throws -> String? {
        let certs = try await server.result("listCerts", ["host": host])["certs"] as? [[String: Any]] ?? []
        return certs.first?["sha256Fingerprint"] as? String
    }

    @Test func aQuestionInterruptedWithControlCKeepsThePinAndSaysSo() async throws {
        let password = "Zq8-interrupted"
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let original = try await CertificateFactory.make()
        let regenerated = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: original, dnac: ["username": "admin", "password": password])
        let nvim = try NeovimSession(
            script: "interrupted_question_test.lua",
            params: ["rpc": Self.rpc, "store": store, "server": dnac.address, "username": "admin", "password": password])

        let added = try await nvim.step("added")
        #expect(Self.strings(added["notes"]).contains { $0.contains("added: pinned on first use") }, "\(added)")
        #expect(try await Self.fingerprint(server, dnac.key) == original.fingerprint)
        try nvim.go()

        // dd, then <C-c> at "Delete or Keep": the pin stays, and the plugin says it kept it.
        let interrupted = try await nvim.step("delete-interrupted")
        #expect(Self.prompts(interrupted).count == 1, "\(interrupted)")
        let kept = Self.strings(interrupted["notes"]).joined(separator: "\n")
        #expect(kept.contains("kept the pin of \(dnac.key)") && kept.contains(original.fingerprint), "\(interrupted)")
        #expect(!(interrupted["errmsg"] as? String ?? "").contains("Keyboard interrupt"), "\(interrupted)")
        #expect(try await Self.fingerprint(server, dnac.key) == original.fingerprint, "an interrupted question deleted the pin")
        try nvim.go()

        _ = try await nvim.step("regenerate")
        try await peers.present(regenerated, on: dnac)
        try nvim.go()

        // :TofuAddDnac meets the new certificate; <C-c> at the offer to re-pin leaves the pin.
        let repin = try await nvim.step("repin-interrupted")
        #expect((Self.prompts(repin).first?["items"] as? [String])?.first?.contains("Re-pin to \(regenerated.fingerprint)") == true, "\(repin)")
        let left = Self.strings(repin["notes"]).joined(separator: "\n")
        #expect(left.contains("the pin of \(dnac.key) is unchanged (\(original.fingerprint))"), "\(repin)")
        #expect(!(repin["errmsg"] as? String ?? "").contains("Keyboard interrupt"), "\(repin)")
        #expect(try await Self.fingerprint(server, dnac.key) == original.fingerprint, "an interrupted offer re-pinned")
        #expect(try await peers.requests(dnac).count == 1, "credentials went to a certificate that is not the pin")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func theDeleteQuestionShowsFingerprintAndSerialBeforeASubjectOfKilobytes() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        // 200 RDNs: a subject of some 11,000 characters. pinCert never connects.
        let absurd = try await CertificateFactory.absurd(names: 5)
        let key = "127.0.0.1_8443", other = "127.0.0.1_8444"
        _ = try await server.result("pinCert", ["host": key, "pem": absurd.pem])
        let serial = try await absurd.serial()
        let nvim = try NeovimSession(script: "long_subject_test.lua", params: ["rpc": Self.rpc, "store": store, "pem": absurd.pem, "other": other])

        let asked = try await nvim.step("asked")
        #expect(Self.strings(asked["lines"]).first?.count ?? 0 > 10_000, "the list shows the whole subject: \(asked)")
        let prompt = Self.prompts(asked).first?["prompt"] as? String ?? ""
        #expect(prompt.contains(absurd.fingerprint) && prompt.contains(serial), "\(prompt.prefix(500))")
        #expect(prompt.count < 600, "the question runs to \(prompt.count) characters: \(prompt.prefix(300))")
        #expect(prompt.contains("subject CN = kong, OU = unit-0-") || prompt.contains("subject OU = unit-0-"), "\(prompt.prefix(500))")
        let kept = Self.strings(asked["notes"])
        #expect(kept.count == 1 && kept[0].count < 600 && kept[0].contains(absurd.fingerprint), "\(kept)")
        #expect(try await Self.fingerprint(server, key) == absurd.fingerprint)
        try nvim.go()

        let pinned = Self.strings(try await nvim.step("pinned")["notes"])
        #expect(pinned.count == 1 && pinned[0].count < 600, "\(pinned)")
        #expect(pinned.first?.contains("\(other) pinned: SHA-256 \(absurd.fingerprint)") == true, "\(pinned)")
        #expect(try await Self.fingerprint(server, other) == absurd.fingerprint)
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
    }

    @Test func verifyingManyPinsAddsEachProgressLineOnceAndKeepsTheQuickfixListCheap() async throws {
        let count = 600, jumps = 500
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let certificate = try await CertificateFactory.make()
        // Keys on loopback ports where nothing listens: each verify is refused at once.
        var keys = Set<String>()
        while keys.count < count { keys.insert("127.0.0.1_\(TLSPeers.closedPort())") }
        for key in keys { _ = try await server.result("pinCert", ["host": key, "pem": certificate.pem]) }
        let nvim = try NeovimSession(script: "many_pins_test.lua", params: ["rpc": Self.rpc, "store": store])

        let verified = try await nvim.step("verified", timeout: TestTime.bound(.seconds(180)))
        #expect(verified["progress"] as? Int == count, "\(verified["progress"] ?? "?")")
        #expect(verified["verify_lines"] as? Int == count + 1, "\(verified["verify_lines"] ?? "?")")
        // One line per host and a few headers; rewriting them all each time writes ~count²/2.
        let written = verified["written"] as? Int ?? .max
        #expect(written < 4 * count, "\(written) lines written into tofu://verify for \(count) hosts")
        let items = verified["quickfix"] as? [[String: Any]] ?? []
        #expect(items.count == count)
        let names = items.map { $0["name"] as? String ?? "" }
        #expect(names.prefix(jumps).allSatisfy { $0.hasPrefix("tofu://pin/127.0.0.1_") }, "\(names.prefix(3))")
        #expect(names.dropFirst(jumps).allSatisfy { $0 == "tofu://verify" }, "\(Set(names.dropFirst(jumps)))")
        #expect(Set(names.prefix(jumps)).count == jumps)
        try nvim.go()

        let jumped = try await nvim.step("jumped")
        let last = jumped["last"] as? [String: Any] ?? [:]
        let lastText = items.last?["text"] as? String ?? ""
        let lastHost = String(lastText.prefix { $0 != ":" })
        #expect(keys.contains(lastHost), "\(lastText)")
        #expect(last["name"] as? String == "tofu://verify")
        #expect((last["line"] as? String ?? "").contains("host=\(lastHost);  status=unreachable"), "\(last["line"] ?? "?")")
        let details = jumped["details"] as? [String: Any] ?? [:]
        #expect(details["name"] as? String == "tofu://pin/\(lastHost)", "\(details)")
        #expect(Self.strings(details["lines"]).contains("SHA-256        \(certificate.fingerprint)"), "\(details)")
        let first = jumped["first"] as? [String: Any] ?? [:]
        #expect(first["name"] as? String == names.first, "\(first)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
    }

    @Test func aTofuRPCThatWritesGarbageAndARequestJSONCannotCarryEndWithAMessage() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let directory = temporaryDirectory("tofu-nvim-garbage")
        // Answers its first request with a Content-Length body that is not JSON, then stays up.
        let garbage = directory + "/tofu-rpc"
        try """
            #!/usr/bin/env python3
            import sys, time
            header = b""
            while not header.endswith(b"\\r\\n\\r\\n"):
                byte = sys.stdin.buffer.read(1)
                if not byte:
                    sys.exit(0)
                header += byte
            length = int(header.split(b":")[1].split(b"\\r")[0])
            sys.stdin.buffer.read(length)
            sys.stdout.buffer.write(b"Content-Length: 5\\r\\n\\r\\n{{{{{")
            sys.stdout.buffer.flush()
            time.sleep(120)
            """.write(toFile: garbage, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: garbage)
        let nvim = try NeovimSession(script: "broken_server_test.lua", params: ["rpc": Self.rpc, "store": store, "garbage": garbage])

        let broken = try await nvim.step("garbage")
        let said = Self.strings(broken["notes"]).joined(separator: "\n")
        #expect(said.hasPrefix("tofu: listing the pins failed: tofu-rpc (\(garbage)) wrote something that is not JSON"), "\(said)")
        #expect(said.contains("it was stopped before it answered listCerts. The next command starts it again."), "\(said)")
        let pid = Int32(broken["pid"] as? Int ?? 0)
        #expect(pid > 0)
        try await eventually { processEnded(pid) }
        #expect(processEnded(pid), "the tofu-rpc that wrote garbage still runs")
        try nvim.go()

        let refused = try await nvim.step("not-utf8")
        let refusal = Self.strings(refused["notes"]).joined(separator: "\n")
        #expect(refusal.hasPrefix("tofu: verifying caf\\xE9.example failed: verifyCert was not sent: the host holds bytes that are not UTF-8"), "\(refusal)")
        #expect(refused["before"] as? Int != nil && refused["before"] as? Int == refused["after"] as? Int, "tofu-rpc was restarted: \(refused)")
        try nvim.go()

        let health = Self.strings(try await nvim.step("health")["lines"])
        #expect(health.contains { $0.contains("WARNING") && $0.contains("wrote something that is not JSON") }, "\(health)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
    }

    @Test func theDnacPasswordIsNotAskedWhileAMacroIsRecorded() async throws {
        let password = "Zq8-recorded"
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": password])
        let nvim = try NeovimSession(
            script: "macro_recording_test.lua",
            params: ["rpc": Self.rpc, "store": store, "server": dnac.address, "username": "admin", "password": password])

        let recording = try await nvim.step("while-recording")
        #expect(recording["recording"] as? String == "q", "the test did not record a macro: \(recording)")
        #expect(!(recording["register"] as? String ?? "").contains("Zq8"), "the macro recorded the password: \(recording)")
        let refusal = Self.strings(recording["notes"]).joined(separator: "\n")
        #expect(refusal.contains("a macro is being recorded into register q") && refusal.contains("nothing was asked or sent"), "\(refusal)")
        #expect(recording["unanswered"] as? Int == 4, "prompts were opened while recording: \(recording)")
        #expect(try await peers.connections(dnac) == 0)
        try nvim.go()

        let added = try await nvim.step("not-recording")
        #expect(Self.strings(added["notes"]).contains { $0.contains("added: pinned on first use, SHA-256 \(certificate.fingerprint)") }, "\(added)")
        #expect(try await Self.fingerprint(server, dnac.key) == certificate.fingerprint)
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        let shada = FileManager.default.contents(atPath: nvim.directory + "/shada") ?? Data()
        #expect(!shada.isEmpty, "Neovim wrote no shada file")
        #expect(shada.range(of: Data("Zq8".utf8)) == nil, "the password is in the shada file")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func aVerdictAndItsRemedyAreOneLineWhichNeovim07ShowsWhole() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let peers = try TLSPeers()
        let pinned = try await CertificateFactory.make()
        let presented = try await CertificateFactory.make()
        let changed = try await peers.listen("tls", certificate: presented)
        let closed = "127.0.0.1_\(TLSPeers.closedPort())"
        _ = try await server.result("pinCert", ["host": changed.key, "pem": pinned.pem])
        _ = try await server.result("pinCert", ["host": closed, "pem": pinned.pem])
        let nvim = try NeovimSession(script: "one_line_verdict_test.lua", params: ["rpc": Self.rpc, "store": store, "changed": changed.key, "closed": closed])

        let verdicts = try await nvim.step("verdicts")["verdicts"] as? [[String: Any]] ?? []
        #expect(verdicts.count == 2)
        let expected: [(level: Int, words: [String])] = [
            (4, ["\(changed.key): MISMATCH", "pinned \(pinned.fingerprint), presented \(presented.fingerprint)", ". Remedy: confirm \(presented.fingerprint)"]),
            (3, ["\(closed): unreachable (refused)", ". Remedy: check that \(closed) is up"]),
        ]
        for (verdict, wanted) in zip(verdicts, expected) {
            let notes = verdict["notes"] as? [[String: Any]] ?? []
            #expect(notes.count == 1, "\(verdict)")
            let message = notes.first?["message"] as? String ?? ""
            #expect(notes.first?["level"] as? Int == wanted.level, "\(verdict)")
            #expect(!message.contains("\n"), "a message of more lines than one: Neovim 0.7 shows its first only: \(message)")
            for words in wanted.words { #expect(message.contains(words), "\(message)") }
        }
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func aPasswordInAPostgreSQLStoreURIStaysOffTofuRPCsCommandLine() async throws {
        // Nothing listens there: libpq is refused on loopback, and tofu-rpc answers -32005.
        let port = TLSPeers.closedPort()
        let uri = "postgresql://tofu:Zq8%40pg@127.0.0.1:\(port)/tofu?application_name=nvim&password=Zq8%40pg"
        let nvim = try NeovimSession(script: "store_password_test.lua", params: ["rpc": Self.rpc, "uri": uri])

        let listed = try await nvim.step("listed")
        let pid = listed["pid"] as? Int ?? 0
        #expect(pid > 0, "\(listed)")
        let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(arguments.contains("postgresql://tofu@127.0.0.1:\(port)/tofu?application_name=nvim"), "\(arguments)")
        #expect(!arguments.contains { $0.contains("Zq8") }, "the password is on tofu-rpc's command line: \(arguments)")
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(variables.contains("PGPASSWORD=Zq8@pg"), "libpq does not get the password: \(variables.filter { $0.hasPrefix("PG") })")
        let notes = Self.strings(listed["notes"]).joined(separator: "\n")
        #expect(notes.contains("listing the pins failed: The pin store is unavailable") && !notes.contains("Zq8"), "\(notes)")
        let log = (try? String(contentsOfFile: listed["lsp_log"] as? String ?? "", encoding: .utf8)) ?? ""
        #expect(log.contains("tofu test: the LSP log records at INFO"), "the LSP log did not record at INFO: \(log.prefix(1000))")
        #expect(!log.contains("Zq8"), "the password is in the LSP log")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
    }

    @Test func aCmdThatIsNotTofuRPCIsNamed() async throws {
        let cli = productPath("tofu")
        let nvim = try NeovimSession(script: "not_tofu_rpc_test.lua", params: ["rpc": Self.rpc, "cli": cli])

        let notes = Self.strings(try await nvim.step("listed")["notes"])
        #expect(notes == ["tofu: listing the pins failed: tofu-rpc exited with status 0 before it answered listCerts. It said nothing on stderr: is \(cli) (from setup{ cmd }) tofu-rpc? The next command starts it again."], "\(notes)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
    }

    @Test func anEmptyStoreIsNamedAndQLeavesTheListInTheOnlyWindow() async throws {
        let store = newStorePath()
        let nvim = try NeovimSession(script: "empty_store_test.lua", params: ["rpc": Self.rpc, "store": store])

        let listed = try await nvim.step("listed")
        #expect(Self.strings(listed["notes"]) == ["tofu: the store \(store) (setup{ store }) holds no pins"], "\(listed)")
        #expect(listed["windows"] as? Int == 1 && listed["name"] as? String == "tofu://pins", "\(listed)")
        let afterQ = listed["after_q"] as? [String: Any] ?? [:]
        #expect(afterQ["name"] as? String != "tofu://pins", "q left the list shown: \(afterQ)")
        #expect(!(afterQ["errmsg"] as? String ?? "").contains("E444"), "\(afterQ)")
        try nvim.go()

        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")
    }
}
