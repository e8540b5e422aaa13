import Foundation
import TestSupport
import Testing

/// `listCerts {host}` sent alone is answered on the input thread with its text built straight in
/// jansson; the same request as the only entry of a batch is answered by the task handler, whose
/// result is a `JSONValue` serialised by `JSONCodec`. The two answers are the same bytes, for
/// every kind of pin (odd texts, staged certificates, policies, PEM or not, damaged rows), every
/// kind of id and every failure of the params.
@Suite struct DirectAnswerParityTests {
    static func edit(_ store: String, _ sql: String) async throws {
        let result = try await runProgram("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", store, sql])
        #expect(result.status == 0, "sqlite3 \(sql): \(result.stderr)")
    }

    /// Text no certificate here holds, as SQL: bytes JSON escapes, quotes, backslashes, a slash,
    /// DEL, U+2028/2029, a byte-order mark, accents, CJK, astral code points, NUL (where a text
    /// read from the store ends).
    static let oddText =
        "'\"q\" \\ / <x>' || char(1) || char(9) || char(10) || char(13) || char(27) || char(31) || char(127)"
        + " || char(160) || char(8232) || char(8233) || char(65279) || 'é Ω 東京 ' || char(128512) || char(1114111) || char(0) || 'after NUL'"

    /// The certificates the parity tests pin: plain, one with non-ASCII names and SANs, an
    /// Ed25519 one, and one to stage as the next certificate.
    struct Certificates {
        let plain, unicode, edwards, next: TestCertificate

        static func make() async throws -> Certificates {
            try await Certificates(
                plain: CertificateFactory.make(),
                unicode: CertificateFactory.make(
                    subject: "/CN=Zürich Ω 東京/O=Ünïcode Ltd/OU=a+OU=b", subjectAltNames: ["DNS:kong", "IP:192.0.2.7", "email:a@example.com"]),
                edwards: CertificateFactory.make(subject: "/CN=ed", key: .ed25519, subjectAltNames: []),
                next: CertificateFactory.make(subject: "/CN=next"))
        }
    }

    /// Pins each of `pins` through `server`, then stages `next` for the hosts in `staged`.
    static func seed(
        _ server: StoreServer, _ pins: [(host: String, certificate: TestCertificate, policy: String?)], staging next: TestCertificate, for staged: [String]
    ) async throws {
        for pin in pins {
            var params: [String: Any] = ["host": pin.host, "pem": pin.certificate.pem]
            if let policy = pin.policy { params["policy"] = policy }
            _ = try await server.result("pinCert", params)
        }
        for host in staged {
            _ = try await server.result("pinCert", ["host": host, "pem": next.pem, "next": true])
        }
    }

    @Test func aPointReadsDirectAnswerIsTheTaskPathsByteForByte() async throws {
        let store = newStorePath("tofu-direct")
        let server = try StoreServer(storePath: store)
        let made = try await Certificates.make()
        let (plain, unicode) = (made.plain, made.unicode)
        let pins: [(host: String, certificate: TestCertificate, policy: String?)] = [
            ("plain.example", plain, nil), ("unicode.example", unicode, "publicKey"), ("192.0.2.30", plain, nil),
            ("[2001:db8::1]:8443", made.edwards, "certificate"), ("odd.example:9443", plain, nil), ("odd-next.example", unicode, nil),
            ("damaged.example", plain, nil), ("damaged-der.example", plain, nil),
            // Rows a point read checks in place, and must leave to the strict reading of a `Pin`.
            ("utf8.example", plain, nil), ("surrogate.example", unicode, nil), ("crlf.example", plain, nil),
            ("nul-time.example", plain, nil), ("upper-address.example", plain, nil), ("verified.example", unicode, "publicKey"),
        ]
        try await Self.seed(server, pins, staging: made.next, for: ["192.0.2.30", "odd-next.example", "damaged.example"])
        try await Self.edit(
            store,
            "UPDATE pin SET subject = \(Self.oddText), issuer = 'x' || \(Self.oddText), serialNumber = '00', "
                + "subjectAltNames = 'DNS:a' || char(10) || 'URI:' || \(Self.oddText) || char(10) || '', publicKey = \(Self.oddText), "
                + "lastVerifiedAt = '2026-11-30T10:00:00Z' WHERE host = 'odd.example_9443'")
        try await Self.edit(
            store, "UPDATE pin SET nextSubject = \(Self.oddText), nextSubjectAltNames = '' WHERE host = 'odd-next.example_443'")
        try await Self.edit(store, "UPDATE pin SET notAfter = '2026-02-30T00:00:00Z' WHERE host = 'damaged.example_443'")
        try await Self.edit(store, "UPDATE pin SET der = X'' WHERE host = 'damaged-der.example_443'")
        for (host, set) in [
            ("utf8", "subject = CAST(X'41C328' AS TEXT)"), ("surrogate", "issuer = CAST(X'EDA080' AS TEXT)"),
            ("crlf", "subjectAltNames = 'DNS:a' || char(13) || char(10) || 'DNS:b' || char(10) || 'é'"),
            ("nul-time", "pinnedAt = pinnedAt || char(0) || 'x'"), ("upper-address", "address = upper(address)"),
            ("verified", "lastVerifiedAt = '2026-11-30T10:00:00Z'"),
        ] {
            try await Self.edit(store, "UPDATE pin SET \(set) WHERE host = '\(host).example_443'")
        }

        let hosts = pins.map(\.host) + ["unpinned.example", "ODD.example.:9443", "not a host", "192.0.2.30:0"]
        let badHosts: Set<String> = ["not a host", "192.0.2.30:0"]
        // (params, whether they are wrong whatever the host)
        let paramSets: [((String) -> Any, Bool)] = [
            ({ ["host": $0] }, false), ({ ["host": $0, "includePem": true] }, false), ({ ["host": $0, "includePem": false] }, false),
            ({ ["host": $0, "includePem": NSNull()] }, false), ({ ["host": $0, "limit": 1, "staged": true] }, false),
            ({ ["host": $0, "expiringWithinDays": 36_500] }, false), ({ ["host": $0, "includePem": "yes"] }, true), ({ ["host": $0, "limit": 0] }, true),
            ({ ["host": $0, "cursor": "not a cursor"] }, true), ({ ["host": $0, "unknown": 1] }, true), ({ [$0] }, true),
        ]
        let ids: [Any] = [
            0, 1, -1, Int.max, Int.min, 1.5, -0.25, 1e300, 2.0, "", "1", "a\"b\\c/\u{1}\u{1F}é😀\u{2028}東", NSNull(),
        ]
        var requests: [[String: Any]] = []
        var wrong: [Bool] = []
        for (index, host) in hosts.enumerated() {
            for (which, (params, wrongParams)) in paramSets.enumerated() {
                requests.append(["jsonrpc": "2.0", "id": ids[(index * paramSets.count + which) % ids.count], "method": "listCerts", "params": params(host)])
                wrong.append(wrongParams || badHosts.contains(host))
            }
        }
        for id in ids {
            requests.append(["jsonrpc": "2.0", "id": id, "method": "listCerts", "params": ["host": "odd.example:9443", "includePem": true]])
            wrong.append(false)
        }

        // Alone, one after another (the input thread answers each, the store idle)...
        for request in requests { server.process.send(line: Wire.json(request)) }
        let alone = try await server.process.reader.next(requests.count)
        // ...then each as a batch of one, answered by the task handler.
        for request in requests { server.process.send(line: Wire.json([request])) }
        let batched = try await server.process.reader.next(requests.count)

        var checked = (results: 0, errors: 0, pems: 0, odd: 0)
        var different = 0
        for (index, request) in requests.enumerated() {
            if batched[index].text != "[" + alone[index].text + "]" {
                different += 1
                // The first few differences are enough to read.
                if different <= 3 { Issue.record("\(Wire.json(request)):\nalone:   \(alone[index].text)\nbatched: \(batched[index].text)") }
            }
            let problems = OpenRPCDocument.repository.problems(answering: "listCerts", alone[index])
            #expect(problems.isEmpty, "\(Wire.json(request)): \(problems)")
            if alone[index].object["error"] != nil { checked.errors += 1 } else { checked.results += 1 }
            let code = (alone[index].object["error"] as? [String: Any])?["code"] as? Int
            #expect((code == -32602) == wrong[index], "\(Wire.json(request)): \(alone[index].text)")
            if alone[index].text.contains("-----BEGIN CERTIFICATE-----") { checked.pems += 1 }
            if alone[index].text.contains("<x>\\u0001\\t\\n\\r\\u001B\\u001F\u{7F}") { checked.odd += 1 }
        }
        #expect(different == 0, "\(different) of \(requests.count) answers differ")
        // The run met what it was meant to: answers and errors, PEM, the odd texts escaped.
        #expect(checked.results > 40 && checked.errors > 40 && checked.pems > 10 && checked.odd > 10, "\(checked)")
        let damaged = alone.filter { ($0.object["error"] as? [String: Any])?["code"] as? Int == -32005 }
        #expect(damaged.count >= 8, "damaged rows met: \(damaged.count)")
        #expect(try await server.stop() == 0)
    }

    /// A notification is not answered, by either path; the next request is.
    @Test func aPointReadSentAsANotificationIsNotAnswered() async throws {
        let server = try StoreServer(storePath: newStorePath("tofu-direct"))
        let certificate = try await CertificateFactory.make()
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        server.process.send(line: Wire.request("listCerts", params: ["host": "kong.example"]))
        server.process.send(line: Wire.request("listCerts", params: ["host": "not a host"]))
        server.process.send(line: Wire.json([["jsonrpc": "2.0", "method": "listCerts", "params": ["host": "kong.example"]]]))
        // Batches run one at a time, in order: once this one is answered, every call before it was handled.
        server.process.send(line: Wire.json([["jsonrpc": "2.0", "id": "after", "method": "listCerts", "params": ["host": "kong.example"]]]))
        let answer = try await server.process.reader.next()
        #expect(answer.array.first?["id"] as? String == "after", "\(answer)")
        #expect((answer.array.first?["result"] as? [String: Any])?["certs"] as? [Any] != nil)
        #expect(try await server.stop() == 0)
    }
}
