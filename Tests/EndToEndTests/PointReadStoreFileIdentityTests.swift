import Foundation
import TestSupport
import Testing

/// A point read (`listCerts {host}` alone, on the input thread's own connection) reads the file
/// the store opened, as the store's own reads do, even when the store's path names another file
/// by the time that connection opens again (after a failure): a link re-pointed, a file moved in.
@Suite struct PointReadStoreFileIdentityTests {
    static func listing(_ host: String) -> [String: Any] {
        ["jsonrpc": "2.0", "id": 1, "method": "listCerts", "params": ["host": host]]
    }

    @Test func aPointReadNeverReadsAnotherFileThanTheStores() async throws {
        let directory = temporaryDirectory("tofu-store")
        let (first, second, link) = (directory + "/first.sqlite", directory + "/second.sqlite", directory + "/store.sqlite")
        let certificate = try await CertificateFactory.make()
        for (store, host) in [(first, "kong.example"), (second, "other.example")] {
            let server = try StoreServer(storePath: store)
            _ = try await server.result("pinCert", ["host": host, "pem": certificate.pem])
            #expect(try await server.stop() == 0)
        }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: first)
        let server = try StoreServer(storePath: link)
        // The store opens the file; the second read opens the point reader's connection.
        for _ in 0..<2 {
            server.process.send(line: Wire.json(Self.listing("kong.example")))
            let answer = try await server.process.reader.next()
            #expect(((answer.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(answer.text)")
        }
        // A failure closes that connection (the table is gone a moment)...
        try await DirectAnswerParityTests.edit(first, "ALTER TABLE pin RENAME TO gone")
        server.process.send(line: Wire.json(Self.listing("kong.example")))
        #expect(try await server.process.reader.next().errorCode == -32005)
        try await DirectAnswerParityTests.edit(first, "ALTER TABLE gone RENAME TO pin")
        // ...and by the time it would open again, the link names another store.
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: second)
        let count = 1100
        server.process.send(Array(repeating: Wire.ndjson(Wire.json(Self.listing("kong.example"))), count: count).flatMap { $0 })
        _ = try await server.process.reader.next(count)

        for host in ["kong.example", "other.example"] {
            server.process.send(line: Wire.json(Self.listing(host)))
            let alone = try await server.process.reader.next()
            server.process.send(line: Wire.json([Self.listing(host)]))
            let batched = try await server.process.reader.next()
            #expect(batched.text == "[" + alone.text + "]", "\(host): alone:   \(alone.text)\nbatched: \(batched.text)")
        }
        // The store's own answer: kong.example is pinned, other.example is not.
        server.process.send(line: Wire.json(Self.listing("kong.example")))
        let pinned = try await server.process.reader.next()
        #expect(((pinned.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(pinned.text)")
        #expect(try await server.stop() == 0)
    }
}
