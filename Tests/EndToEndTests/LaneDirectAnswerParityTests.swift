import Foundation
import TestSupport
import Testing

/// A lane's hottest answers are built straight in jansson and written as text from there:
/// `deleteCert` of a pin (the write lane) and `listCerts {host}` of a PostgreSQL store (its read
/// lane). The same call as the only entry of a batch gets its result as a `JSONValue`, serialised
/// by `JSONCodec`. The two answers are the same bytes, for every kind of pin, id and failure.
@Suite struct LaneDirectAnswerParityTests {
    static var ids: [Any] { [0, 1, -1, Int.max, Int.min, 1.5, -0.25, 1e300, 2.0, "", "1", "a\"b\\c/\u{1}\u{1F}é😀\u{2028}東", NSNull()] }

    /// Compares each answer alone with the same call's answer batched, and checks both kinds
    /// of answer were met; returns how many answers were results.
    static func expectSame(_ requests: [[String: Any]], alone: [Received], batched: [Received], method: String) -> Int {
        var different = 0
        var results = 0
        for (index, request) in requests.enumerated() {
            if batched[index].text != "[" + alone[index].text + "]" {
                different += 1
                if different <= 3 { Issue.record("\(Wire.json(request)):\nalone:   \(alone[index].text)\nbatched: \(batched[index].text)") }
            }
            let problems = OpenRPCDocument.repository.problems(answering: method, alone[index])
            #expect(problems.isEmpty, "\(Wire.json(request)): \(problems)")
            if alone[index].object["result"] != nil { results += 1 }
        }
        #expect(different == 0, "\(different) of \(requests.count) answers differ")
        return results
    }

    /// Two stores holding the same pins, byte for byte: one deletes each pin alone, the other as
    /// a batch of one.
    @Test func aDeletedPinsDirectAnswerIsTheBatchPathsByteForByte() async throws {
        let first = newStorePath("tofu-lane-direct")
        let seeding = try StoreServer(storePath: first)
        let made = try await DirectAnswerParityTests.Certificates.make()
        let (plain, unicode, next) = (made.plain, made.unicode, made.next)
        let pins: [(host: String, certificate: TestCertificate, policy: String?)] = [
            ("plain.example", plain, nil), ("unicode.example", unicode, "publicKey"), ("192.0.2.30", plain, nil),
            ("[2001:db8::1]:8443", made.edwards, "certificate"), ("odd.example:9443", plain, nil), ("staged.example", unicode, nil),
            ("unstaged.example", plain, nil), ("damaged.example", plain, nil), ("guarded.example", plain, nil),
        ]
        try await DirectAnswerParityTests.seed(seeding, pins, staging: next, for: ["192.0.2.30", "staged.example", "unstaged.example"])
        #expect(try await seeding.stop() == 0)
        try await DirectAnswerParityTests.edit(
            first,
            "UPDATE pin SET subject = \(DirectAnswerParityTests.oddText), issuer = 'x' || \(DirectAnswerParityTests.oddText), "
                + "subjectAltNames = 'DNS:a' || char(10) || 'URI:' || \(DirectAnswerParityTests.oddText), "
                + "lastVerifiedAt = '2026-11-30T10:00:00Z' WHERE host = 'odd.example_9443'")
        try await DirectAnswerParityTests.edit(first, "UPDATE pin SET notAfter = '2026-02-30T00:00:00Z' WHERE host = 'damaged.example_443'")
        try await DirectAnswerParityTests.edit(first, "PRAGMA wal_checkpoint(TRUNCATE)")
        let second = newStorePath("tofu-lane-direct")
        try FileManager.default.copyItem(atPath: first, toPath: second)

        let calls: [[String: Any]] = [
            ["host": "plain.example"], ["host": "unicode.example"], ["host": "192.0.2.30"], ["host": "[2001:db8::1]:8443"],
            ["host": "ODD.example.:9443"], ["host": "staged.example"], ["host": "unstaged.example", "next": true],
            ["host": "damaged.example"], ["host": "guarded.example", "expectedFingerprint": next.fingerprint],
            ["host": "guarded.example", "expectedFingerprint": plain.fingerprint], ["host": "plain.example"],
            ["host": "not a host"], ["host": "unpinned.example", "unknown": 1],
        ]
        var requests: [[String: Any]] = []
        for (index, params) in calls.enumerated() {
            requests.append(["jsonrpc": "2.0", "id": Self.ids[index % Self.ids.count], "method": "deleteCert", "params": params])
        }
        let alone = try StoreServer(storePath: first)
        for request in requests { alone.process.send(line: Wire.json(request)) }
        let aloneAnswers = try await alone.process.reader.next(requests.count)
        let batched = try StoreServer(storePath: second)
        for request in requests { batched.process.send(line: Wire.json([request])) }
        let batchedAnswers = try await batched.process.reader.next(requests.count)

        let results = Self.expectSame(requests, alone: aloneAnswers, batched: batchedAnswers, method: "deleteCert")
        // Seven pins deleted with their answer built in jansson, two (unstaged, damaged) as values.
        #expect(results == 9, "\(aloneAnswers.map(\.text))")
        #expect(aloneAnswers[4].text.contains("<x>\\u0001\\t\\n\\r\\u001B\\u001F\u{7F}"), "\(aloneAnswers[4].text)")
        #expect(aloneAnswers[5].text.contains("\"deleted\":{") && aloneAnswers[5].text.contains("\"next\":{"), "\(aloneAnswers[5].text)")
        #expect(try await alone.stop() == 0)
        #expect(try await batched.stop() == 0)
    }

    /// On PostgreSQL a point read runs on the store's read lane; its answer built in jansson is
    /// the batch path's, byte for byte, as on SQLite.
    @Test(.enabled(if: PostgreSQLDatabase.configured))
    func aPostgreSQLPointReadsDirectAnswerIsTheBatchPathsByteForByte() async throws {
        let database = try await PostgreSQLDatabase.create()
        let server = try StoreServer(storePath: database.uri, environment: database.environment)
        let plain = try await CertificateFactory.make()
        let unicode = try await CertificateFactory.make(subject: "/CN=Zürich Ω 東京/O=Ünïcode Ltd", subjectAltNames: ["DNS:kong", "IP:192.0.2.7"])
        let next = try await CertificateFactory.make(subject: "/CN=next")
        for (host, certificate) in [("plain.example", plain), ("unicode.example", unicode), ("odd.example:9443", plain), ("[2001:db8::1]:8443", unicode)] {
            _ = try await server.result("pinCert", ["host": host, "pem": certificate.pem])
        }
        _ = try await server.result("pinCert", ["host": "unicode.example", "pem": next.pem, "next": true])
        let odd = "E'\"q\" \\\\ / <x>\\x01\\t\\n\\r\\x1b\\x1f\\x7f' || chr(160) || chr(8232) || chr(65279) || 'é 東京 ' || chr(128512)"
        let edited = try await runProgram(
            "/usr/bin/psql", ["-XAt", "-v", "ON_ERROR_STOP=1", "-c", "UPDATE tofu.pin SET subject = \(odd), publicKey = \(odd) WHERE host = 'odd.example_9443'", database.uri],
            environment: database.environment)
        #expect(edited.status == 0, "\(edited.stderr)")

        let hosts = ["plain.example", "unicode.example", "ODD.example.:9443", "[2001:db8::1]:8443", "unpinned.example", "not a host"]
        let paramSets: [(String) -> Any] = [{ ["host": $0] }, { ["host": $0, "includePem": true] }, { ["host": $0, "limit": 0] }, { [$0] }]
        var requests: [[String: Any]] = []
        for (index, host) in hosts.enumerated() {
            for (which, params) in paramSets.enumerated() {
                requests.append(["jsonrpc": "2.0", "id": Self.ids[(index * paramSets.count + which) % Self.ids.count], "method": "listCerts", "params": params(host)])
            }
        }
        for request in requests { server.process.send(line: Wire.json(request)) }
        let alone = try await server.process.reader.next(requests.count)
        for request in requests { server.process.send(line: Wire.json([request])) }
        let batched = try await server.process.reader.next(requests.count)
        let results = Self.expectSame(requests, alone: alone, batched: batched, method: "listCerts")
        #expect(results == 10, "\(alone.map(\.text))")
        #expect(alone.contains { $0.text.contains("<x>\\u0001\\t\\n\\r\\u001B\\u001F\u{7F}") }, "the odd text was not met")
        #expect(try await server.stop() == 0)
    }
}
