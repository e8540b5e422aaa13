import Foundation
import TestSupport
import Testing

/// addDnacServer, listDnacServers, removeDnacServer against the fake DNA Center on loopback.
@Suite struct DnacTests {
    static let password = "s3cr3t-Pässwörd-\"quoted\"-$(id)"

    static func add(_ peer: Peer, password: String = password, extra: [String: Any] = [:]) -> [String: Any] {
        var params: [String: Any] = ["server": peer.address, "username": "admin", "password": password, "confirmPassword": password, "timeoutMs": 3000]
        params.merge(extra) { _, new in new }
        return params
    }

    /// A controller whose fake DNA Center accepts admin / `password`.
    static func controller(_ peers: TLSPeers, _ certificate: TestCertificate, behaviour: String = "token") async throws -> Peer {
        try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": password, "behaviour": behaviour])
    }

    @Test func theOutageAndTheSlowWayOut() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await Self.controller(peers, old)
        let server = try StoreServer(storePath: newStorePath())

        // 1. Add the controller: pinned on first use, credentials accepted.
        let added = try await server.result("addDnacServer", Self.add(dnac))
        #expect(added["pinStatus"] as? String == "pinned")
        #expect(added["authenticated"] as? Bool == true)
        #expect((added["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == old.fingerprint)
        let firstRequests = try await peers.requests(dnac)
        #expect(firstRequests.count == 1)
        #expect(firstRequests.first?["path"] as? String == "/dna/system/api/v1/auth/token")
        #expect(firstRequests.first?["method"] as? String == "POST")

        // 2. The controller regenerates its certificate (new key, new serial, same address).
        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)

        // 3. Adding again fails with the mismatch and its remedy; not a byte of HTTP was sent.
        let refused = try await server.call("addDnacServer", Self.add(dnac))
        #expect(refused.errorCode == -32002)
        #expect(refused.errorData?["change"] as? String == "newKey")
        #expect((refused.errorData?["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String == old.fingerprint)
        #expect((refused.errorData?["presented"] as? [String: Any])?["sha256Fingerprint"] as? String == new.fingerprint)
        #expect((refused.errorData?["remedyCalls"] as? [[String: Any]])?.compactMap { $0["method"] as? String } == ["deleteCert", "addDnacServer"])
        #expect((refused.errorData?["acceptCall"] as? [String: Any])?["method"] as? String == "addDnacServer")
        #expect(try await peers.requests(dnac).count == 1, "the fake DNA Center saw a request after the mismatch")

        // 4. listcerts shows the stale pin; deletecert; listcerts shows it gone.
        let listed = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["sha256Fingerprint"] as? String } == [old.fingerprint])
        _ = try await server.result("deleteCert", ["host": dnac.key, "expectedFingerprint": old.fingerprint])
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)

        // 5. Add again: the new certificate is pinned; verifyCert matches.
        let again = try await server.result("addDnacServer", Self.add(dnac))
        #expect(again["pinStatus"] as? String == "pinned")
        #expect((again["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == new.fingerprint)
        #expect(try await server.result("verifyCert", ["host": dnac.key])["status"] as? String == "match")
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.count == 1)
        #expect(servers.first?["pinnedFingerprint"] as? String == new.fingerprint)
        _ = try await server.stop()
        peers.stop()
    }

    @Test func theOneStepWayOutIsSafe() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await Self.controller(peers, old)
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("addDnacServer", Self.add(dnac))
        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)

        func pinned() async throws -> String? {
            (try await server.result("listCerts", ["host": dnac.key])["certs"] as? [[String: Any]])?.first?["sha256Fingerprint"] as? String
        }

        // A wrong fingerprint: refused, old pin kept, nothing sent.
        let wrong = try await server.call("addDnacServer", Self.add(dnac, extra: ["acceptFingerprint": old.fingerprint]))
        #expect(wrong.errorCode == -32002)
        #expect(wrong.errorData?["acceptFingerprint"] as? String == old.fingerprint)
        #expect(try await pinned() == old.fingerprint)
        #expect(try await peers.requests(dnac).count == 1)

        // The right fingerprint but a wrong password: -32004, old pin kept.
        let badPassword = try await server.call("addDnacServer", Self.add(dnac, password: "wrong", extra: ["acceptFingerprint": new.fingerprint]))
        #expect(badPassword.errorCode == -32004)
        #expect(badPassword.errorData?["pinStatus"] as? String == "kept")
        #expect(try await pinned() == old.fingerprint)

        // The right fingerprint (any spelling) and password: replaced.
        let accept = new.fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
        let replaced = try await server.result("addDnacServer", Self.add(dnac, extra: ["acceptFingerprint": accept]))
        #expect(replaced["pinStatus"] as? String == "replaced")
        #expect(try await pinned() == new.fingerprint)
        let events = try await server.result("certHistory", ["host": dnac.key])["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["event"] as? String }.suffix(2) == ["replaced", "serverAdded"])
        _ = try await server.stop()
        peers.stop()
    }

    @Test func everyValidationErrorNamesItsField() async throws {
        let server = try StoreServer(storePath: newStorePath())
        let base: [String: Any] = ["server": "127.0.0.1:9", "username": "admin", "password": "pw", "confirmPassword": "pw"]
        let cases: [([String: Any], String)] = [
            (base.merging(["server": "not a host!"]) { $1 }, "server"),
            (base.merging(["server": 5]) { $1 }, "server"),
            (base.filter { $0.key != "server" }, "server"),
            (base.merging(["username": ""]) { $1 }, "username"),
            (base.merging(["username": "   "]) { $1 }, "username"),
            (base.merging(["username": "a:b"]) { $1 }, "username"),
            (base.filter { $0.key != "username" }, "username"),
            (base.merging(["password": "", "confirmPassword": ""]) { $1 }, "password"),
            (base.merging(["password": 5]) { $1 }, "password"),
            (base.merging(["confirmPassword": "pW"]) { $1 }, "confirmPassword"),
            (base.filter { $0.key != "confirmPassword" }, "confirmPassword"),
            (base.merging(["server": "127.0.0.1:8443", "port": 443]) { $1 }, "port"),
            (base.merging(["port": 0]) { $1 }, "port"),
            (base.merging(["timeoutMs": 5]) { $1 }, "timeoutMs"),
            (base.merging(["checkCredentials": "no"]) { $1 }, "checkCredentials"),
            (base.merging(["acceptFingerprint": "AB:CD"]) { $1 }, "acceptFingerprint"),
            (base.merging(["passwd": "pw"]) { $1 }, "passwd"),
        ]
        for (params, field) in cases {
            let answer = try await server.call("addDnacServer", params)
            #expect(answer.errorCode == -32602, "\(params): \(answer)")
            #expect(answer.errorData?["field"] as? String == field, "\(params): \(answer)")
            #expect(!answer.text.contains("\"pw\""), "the password was echoed: \(answer)")
        }
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        _ = try await server.stop()
    }

    @Test func unreachableControllersAreNamedAndNothingIsPinned() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try StoreServer(storePath: newStorePath())
        let closed = try await server.call("addDnacServer", Self.add(Peer(id: 0, host: "127.0.0.1", port: TLSPeers.closedPort())))
        #expect(closed.errorCode == -32003)
        #expect(closed.errorData?["reason"] as? String == "refused")
        let quiet = try await server.call("addDnacServer", Self.add(silent, extra: ["timeoutMs": 500]))
        #expect(quiet.errorCode == -32003)
        #expect(quiet.errorData?["reason"] as? String == "timeout")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        _ = try await server.stop()
        peers.stop()
    }

    /// (behaviour, expected error code or nil for success, paths the fake saw)
    @Test(arguments: [
        ("unauthorized", -32004, ["/dna/system/api/v1/auth/token"]),
        ("forbidden", -32004, ["/dna/system/api/v1/auth/token"]),
        ("old", nil, ["/dna/system/api/v1/auth/token", "/api/system/v1/auth/token"]),
        ("error", -32006, ["/dna/system/api/v1/auth/token"]),
        ("nonjson", -32006, ["/dna/system/api/v1/auth/token"]),
        ("chunked", nil, ["/dna/system/api/v1/auth/token"]),
        ("endless", -32006, ["/dna/system/api/v1/auth/token"]),
    ] as [(String, Int?, [String])])
    func controllerAnswers(behaviour: String, code: Int?, paths: [String]) async throws {
        let peers = try TLSPeers()
        let dnac = try await Self.controller(peers, try await CertificateFactory.make(), behaviour: behaviour)
        let server = try StoreServer(storePath: newStorePath())
        let start = ContinuousClock.now
        let answer = try await server.call("addDnacServer", Self.add(dnac, extra: ["timeoutMs": 1500]))
        #expect(answer.errorCode == code, "\(behaviour): \(answer)")
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(10)), "\(behaviour) was not bounded in time")
        if code == nil {
            #expect((answer.object["result"] as? [String: Any])?["authenticated"] as? Bool == true)
        } else {
            // A first-use pin records what the host presented, whatever it answered after.
            #expect(answer.errorData?["pinStatus"] as? String == "pinned")
        }
        let requests = try await peers.requests(dnac)
        #expect(requests.compactMap { $0["path"] as? String } == paths)
        let expected = "Basic " + Data("admin:\(Self.password)".utf8).base64EncodedString()
        #expect(requests.allSatisfy { ($0["headers"] as? [String: String])?["authorization"] == expected })
        _ = try await server.stop()
        peers.stop()
    }

    @Test func withoutCredentialCheckNothingIsSent() async throws {
        let peers = try TLSPeers()
        let dnac = try await Self.controller(peers, try await CertificateFactory.make())
        let server = try StoreServer(storePath: newStorePath())
        let added = try await server.result("addDnacServer", Self.add(dnac, extra: ["checkCredentials": false]))
        #expect(added["authenticated"] is NSNull)
        #expect(added["pinStatus"] as? String == "pinned")
        #expect(try await peers.requests(dnac).isEmpty)
        _ = try await server.stop()
        peers.stop()
    }

    @Test func removingAServerKeepsItsPin() async throws {
        let peers = try TLSPeers()
        let dnac = try await Self.controller(peers, try await CertificateFactory.make())
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("addDnacServer", Self.add(dnac))
        let again = try await server.result("addDnacServer", Self.add(dnac))
        #expect(again["pinStatus"] as? String == "matched")
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.count == 1)
        #expect(servers.first?["username"] as? String == "admin")
        let removed = try await server.result("removeDnacServer", ["server": dnac.address])
        #expect((removed["removed"] as? [String: Any])?["server"] as? String == dnac.key)
        #expect((try await server.result("listDnacServers")["servers"] as? [Any])?.isEmpty == true)
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.count == 1, "the pin stays")
        let gone = try await server.call("removeDnacServer", ["server": dnac.address])
        #expect(gone.errorCode == -32001)
        #expect(gone.errorKind == "dnacServerNotFound")
        _ = try await server.stop()
        peers.stop()
    }

    /// Two processes add the same new controller at once while it presents two different
    /// certificates (one to each connection): exactly one pin, the other add is refused.
    @Test func twoProcessesRacingToAddEndWithOnePin() async throws {
        let peers = try TLSPeers()
        let a = try await CertificateFactory.make()
        let b = try await CertificateFactory.make()
        let store = newStorePath()
        for round in 0..<5 {
            let dnac = try await Self.controller(peers, a)
            try await peers.alternate([a, b], on: dnac)
            let left = try StoreServer(storePath: store)
            let right = try StoreServer(storePath: store)
            left.process.send(line: Wire.request("addDnacServer", id: 1, params: Self.add(dnac)))
            right.process.send(line: Wire.request("addDnacServer", id: 1, params: Self.add(dnac)))
            let answers = [try await left.process.reader.next(), try await right.process.reader.next()]
            let pins = try await left.result("listCerts", ["host": dnac.key])["certs"] as? [[String: Any]] ?? []
            #expect(pins.count == 1, "round \(round)")
            let winners = answers.filter { $0.errorCode == nil }
            let losers = answers.filter { $0.errorCode != nil }
            #expect(winners.count == 1, "round \(round): \(answers)")
            #expect(losers.allSatisfy { $0.errorCode == -32002 }, "round \(round): \(answers)")
            let winner = (winners.first?.object["result"] as? [String: Any])?["pin"] as? [String: Any]
            #expect(winner?["sha256Fingerprint"] as? String == pins.first?["sha256Fingerprint"] as? String)
            _ = try await left.stop()
            _ = try await right.stop()
        }
        peers.stop()
    }

    /// Every string an answer carries, parsed: keys, `message`, every string in `result` and
    /// `data`, at any depth. Searching the raw JSON text instead misses any secret JSON escapes.
    static func strings(in value: Any) -> [String] {
        switch value {
        case let text as String: return [text]
        case let object as [String: Any]: return object.flatMap { [$0.key] + strings(in: $0.value) }
        case let array as [Any]: return array.flatMap { strings(in: $0) }
        default: return []
        }
    }

    /// The password, the wrong one tried, their Basic credentials and the token are in no
    /// answer (parsed), no log line, no store file, and nothing either CLI prints; with a
    /// secret JSON escapes (quotes, backslash) and one it does not.
    @Test(arguments: [#"s3cr3t-Pässwörd-"quoted"-\back-$(id)"#, "plainSecret4711"])
    func thePasswordIsNowhere(password: String) async throws {
        let peers = try TLSPeers()
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "admin", "password": password])
        let wrong = "Wrong" + password
        let directory = temporaryDirectory("tofu-store")
        let store = directory + "/store.sqlite"
        let server = try StoreServer(storePath: store, environment: ["TOFU_LOG_LEVEL": "trace"])
        var answers: [Received] = []
        answers.append(try await server.call("addDnacServer", Self.add(dnac, password: password)))
        let refused = try await server.call("addDnacServer", Self.add(dnac, password: wrong))
        #expect(refused.errorCode == -32004, "the wrong password must be refused: \(refused)")
        answers.append(refused)
        answers.append(try await server.call("addDnacServer", Self.add(dnac, password: password, extra: ["confirmPassword": wrong])))
        answers.append(try await server.call("addDnacServer", Self.add(dnac, password: wrong, extra: ["confirmPassword": password])))
        answers.append(try await server.call("addDnacServer", Self.add(dnac, password: password, extra: ["acceptFingerprint": "zz"])))
        try await peers.present(try await CertificateFactory.make(), on: dnac)
        answers.append(try await server.call("addDnacServer", Self.add(dnac, password: password)))
        answers.append(try await server.call("listDnacServers"))
        answers.append(try await server.call("certHistory"))
        // Look at the store and its WAL while the server still has them open, then after.
        var files = try FileManager.default.contentsOfDirectory(atPath: directory).map { directory + "/" + $0 }
        var bytes = files.compactMap { FileManager.default.contents(atPath: $0) }
        _ = try await server.stop()
        files = try FileManager.default.contentsOfDirectory(atPath: directory).map { directory + "/" + $0 }
        bytes += files.compactMap { FileManager.default.contents(atPath: $0) }

        // Both CLIs, with the right password on a changed certificate and with a wrong one.
        var printed: [String] = []
        for client in CLITests.Client.allCases {
            let cliStore = temporaryDirectory("tofu-cli") + "/store.sqlite"
            let add = ["add-dnac-server", "--server", dnac.address, "--username", "admin", "--password-stdin", "--timeout-ms", "3000"]
            let first = try await CLITests.run(client, add, store: cliStore, stdin: wrong + "\n")
            #expect(first.status == 6, "\(client): a wrong password must be refused: \(first.stderr)")
            let second = try await CLITests.run(client, add + ["--json"], store: cliStore, stdin: password + "\n")
            printed += [first.stdout, first.stderr, second.stdout, second.stderr]
        }

        let strings = answers.flatMap { Self.strings(in: $0.json) }
        #expect(strings.count > 50, "the answers were not parsed")
        let secrets = [password, wrong, Data("admin:\(password)".utf8).base64EncodedString(), Data("admin:\(wrong)".utf8).base64EncodedString(), "test-token"]
        for secret in secrets {
            let needle = Data(secret.utf8)
            #expect(bytes.allSatisfy { $0.range(of: needle) == nil }, "'\(secret)' is in a store file")
            #expect(!server.process.stderr.contains(secret), "'\(secret)' is in stderr")
            #expect(!strings.contains { $0.contains(secret) }, "'\(secret)' is in an answer")
            #expect(!printed.contains { $0.contains(secret) }, "'\(secret)' was printed by a CLI")
        }
        peers.stop()
    }
}
