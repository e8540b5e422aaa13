import Foundation
import TestSupport
import Testing

/// addDnacServer against the answers real controllers (and their proxies) send, and against
/// hostile ones: the real tofu-rpc, the fake DNA Center of Tests/Fixtures/tls_peers.py.
@Suite struct HTTPAnswerTests {
    static let newer = "/dna/system/api/v1/auth/token"
    static let older = "/api/system/v1/auth/token"

    static func controller(_ peers: TLSPeers, _ certificate: TestCertificate, _ options: [String: Any]) async throws -> Peer {
        var dnac: [String: Any] = ["username": "admin", "password": DnacTests.password]
        dnac.merge(options) { _, new in new }
        return try await peers.listen("tls", certificate: certificate, dnac: dnac)
    }

    /// (fake DNA Center options, expected error code or nil, paths the fake read, TCP connections)
    @Test(arguments: [
        // The 404 on the newer path, then the controller closes: HTTP/1.0 without keep-alive, a
        // Connection token list, or without a word. The token comes from the older path over a
        // new connection that presented the same certificate.
        (["behaviour": "old", "after404": "http10"], nil, [newer, older], 2),
        (["behaviour": "old", "after404": "closelist"], nil, [newer, older], 2),
        (["behaviour": "old", "after404": "silent"], nil, [newer, older], 2),
        // A 404 that keeps the connection: the older path goes over the same connection.
        (["behaviour": "old"], nil, [newer, older], 1),
        // A 404 followed by bytes nobody asked for (a forged answer to the next request): the
        // connection is not trusted with another request.
        (["behaviour": "old", "after404": "surplus"], nil, [newer, older], 2),
        (["behaviour": "continue"], nil, [newer], 1),
        (["behaviour": "early"], nil, [newer], 1),
        (["behaviour": "barelf"], nil, [newer], 1),
        // Bodiless: answered at once, not after the timeout (30 s here; the bound of 15 s
        // leaves room for a loaded machine).
        (["behaviour": "nocontent"], -32006, [newer], 1),
    ] as [([String: String], Int?, [String], Int)])
    func realAnswers(options: [String: String], code: Int?, paths: [String], connections: Int) async throws {
        let peers = try TLSPeers()
        let dnac = try await Self.controller(peers, try await CertificateFactory.make(), options)
        let server = try StoreServer(storePath: newStorePath())
        let start = ContinuousClock.now
        let answer = try await server.call("addDnacServer", DnacTests.add(dnac, extra: ["timeoutMs": 30000]))
        let elapsed = ContinuousClock.now - start
        #expect(answer.errorCode == code, "\(options): \(answer)")
        #expect(elapsed < TestTime.bound(.seconds(15)), "\(options) took \(elapsed): it waited for the timeout")
        if code == nil {
            #expect((answer.object["result"] as? [String: Any])?["authenticated"] as? Bool == true)
        } else {
            #expect(answer.errorData?["status"] as? Int == 204, "\(answer)")
        }
        #expect(try await peers.requests(dnac).compactMap { $0["path"] as? String } == paths)
        #expect(try await peers.connections(dnac) == connections)
        _ = try await server.stop()
        peers.stop()
    }

    /// The controller closes after the 404 and the reconnection meets another certificate: the
    /// error says that the credentials went once, over the checked connection, to the newer
    /// path, and that nothing was sent on the new connection, whose certificate it names.
    @Test(arguments: [
        ("http10", "the credentials were sent once, over the checked connection, to /dna/system/api/v1/auth/token (answered 404)"),
        ("silent", "the credentials were sent twice over the checked connection: to /dna/system/api/v1/auth/token (answered 404) and to /api/system/v1/auth/token (the connection ended before any answer)"),
    ])
    func aReconnectionThatMeetsAnotherCertificate(after404: String, sent: String) async throws {
        let peers = try TLSPeers()
        let checked = try await CertificateFactory.make()
        let other = try await CertificateFactory.make()
        let dnac = try await Self.controller(peers, checked, ["behaviour": "old", "after404": after404])
        try await peers.alternate([checked, other], on: dnac)
        let server = try StoreServer(storePath: newStorePath())
        let answer = try await server.call("addDnacServer", DnacTests.add(dnac, extra: ["timeoutMs": 30000]))
        #expect(answer.errorCode == -32006, "\(answer)")
        let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains(sent), "\(message)")
        #expect(message.contains("presented a different certificate (SHA-256 \(other.fingerprint)"), "\(message)")
        #expect(message.contains("nothing was sent on it"), "\(message)")
        #expect(!message.contains("no credentials were sent"), "\(message)")
        #expect(answer.errorReason.contains(other.fingerprint), "data does not name the other certificate: \(answer)")
        // The fake read one request, on the checked connection; the second connection got none.
        #expect(try await peers.requests(dnac).compactMap { $0["path"] as? String } == [Self.newer])
        #expect(try await peers.connections(dnac) == 2)
        let pins = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(pins.compactMap { $0["sha256Fingerprint"] as? String } == [checked.fingerprint])
        let presented = (answer.errorData?["presentedOnReconnect"] as? [String: Any])?["sha256Fingerprint"] as? String
        #expect(presented == other.fingerprint, "\(answer)")
        // The history records the first use and the certificate the reconnection met.
        let events = try await server.result("certHistory")["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["event"] as? String } == ["pinned", "mismatch"], "\(events)")
        #expect(events.last?["sha256Fingerprint"] as? String == other.fingerprint, "\(events)")
        _ = try await server.stop()
        peers.stop()
    }

    /// A controller that echoes the request into a malformed answer: the error quotes what was
    /// wrong with the answer, except when that would repeat the password or its base64 form.
    @Test(arguments: [DnacTests.password, "Pa55w0r'Secr3t!'x", "пароль-секрет", #"ab\cd\ef\gh"#])
    func anAnswerEchoingTheCredentialsIsNotQuoted(password: String) async throws {
        let peers = try TLSPeers()
        let dnac = try await Self.controller(peers, try await CertificateFactory.make(), ["behaviour": "raw"])
        let server = try StoreServer(storePath: newStorePath())
        let basic = Data("admin:\(password)".utf8).base64EncodedString()
        let answers = [
            "Basic \(basic)\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\(password)\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: \(basic)\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(basic)\r\n",
            // The password cut by the excerpt's 40-byte end: only its first 5 bytes would show.
            "HTTP/1.1 200 OK\r\n\(String(repeating: "x", count: 35))\(password)\r\n\r\n",
        ]
        // Any 4 characters in a row of either secret, raw or as an excerpt escapes them.
        let windows = [basic, password].flatMap { secret in
            [Array(secret), Array(Self.escaped(secret))].flatMap { characters in
                (0...(characters.count - 4)).map { String(characters[$0..<($0 + 4)]) }
            }
        }
        for answer in answers {
            try await peers.dnac(dnac, ["raw": Data(answer.utf8).base64EncodedString()])
            let received = try await server.call("addDnacServer", DnacTests.add(dnac, password: password))
            #expect(received.errorCode == -32006, "\(received)")
            let error = received.object["error"] as? [String: Any] ?? [:]
            let strings = [error["message"] as? String ?? ""] + (received.errorData ?? [:]).values.compactMap { $0 as? String }
            for text in strings {
                #expect(!windows.contains { text.contains($0) }, "a secret is echoed: \(text)")
            }
            #expect(received.errorReason.contains("withheld: it may echo the credentials"), "\(received)")
        }
        // An answer that echoes nothing secret is still quoted.
        try await peers.dnac(dnac, ["raw": Data("SSH-2.0-OpenSSH_9.2\r\n\r\n".utf8).base64EncodedString()])
        let plain = try await server.call("addDnacServer", DnacTests.add(dnac, password: password))
        #expect(plain.errorReason.contains("its first line is \u{201C}SSH-2.0-OpenSSH_9.2\u{201D}"), "\(plain)")
        _ = try await server.stop()
        peers.stop()
    }

    /// How an excerpt writes text: printable ASCII but ' and \\, the rest of the bytes as \\xNN.
    static func escaped(_ text: String) -> String {
        text.utf8.map { byte in
            byte >= 0x20 && byte < 0x7F && byte != 0x27 && byte != 0x5C
                ? String(UnicodeScalar(byte)) : "\\x" + String(format: "%02X", byte)
        }.joined()
    }

    /// Hostile answers to the token request, one after the other against one tofu-rpc: each is
    /// a clean -32006 naming what was wrong, well before the timeout, and tofu-rpc keeps
    /// serving. (A chunk size of 7FFFFFFFFFFFFFFF used to kill it with an overflow trap.)
    @Test func hostileAnswersGetATypedErrorAndTheServerGoesOn() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        let cases = [
            ("chunkoverflow", "chunk size “7FFFFFFFFFFFFFFF”"),
            ("hugelength", "announces a body of “99999999999999999999” bytes"),
            ("manyheaders", "more than 256 header fields"),
            ("longheader", "headers exceed 65536 bytes"),
            ("endless1xx", "interim (1xx) answers"),
        ]
        for (behaviour, reason) in cases {
            let dnac = try await Self.controller(peers, certificate, ["behaviour": behaviour])
            let start = ContinuousClock.now
            let answer: Received
            do {
                answer = try await server.call("addDnacServer", DnacTests.add(dnac, extra: ["timeoutMs": 30000]))
            } catch {
                let process = server.process.process
                _ = try? await server.process.waitForExit(timeout: .seconds(5))
                let death = process.exit.map { $0.signaled ? "was killed by signal \($0.status)" : "exited with \($0.status)" } ?? "is still running"
                Issue.record("\(behaviour): no answer (\(error)); tofu-rpc \(death)")
                break
            }
            #expect(answer.errorCode == -32006, "\(behaviour): \(answer)")
            #expect(answer.errorReason.contains(reason), "\(behaviour): \(answer)")
            #expect(answer.errorReason.contains("the credentials were sent once, over the checked connection, to \(Self.newer)"), "\(answer)")
            #expect(ContinuousClock.now - start < TestTime.bound(.seconds(15)), "\(behaviour) was not refused promptly")
            // Still serving: another request gets its answer.
            let listed = try await server.result("listCerts", ["host": dnac.key])["certs"] as? [Any]
            #expect(listed?.count == 1, "\(behaviour)")
            #expect(server.process.process.isRunning, "\(behaviour) killed tofu-rpc: \(server.process.stderr)")
        }
        #expect(try await server.stop() == 0)
        peers.stop()
    }
}
