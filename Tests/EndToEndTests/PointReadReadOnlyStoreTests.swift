import Foundation
import TestSupport
import Testing

/// A point read (`listCerts {host}` alone, answered on the input thread's own connection) of a
/// store tofu-rpc may only read answers what the store's own read answers. A read-only store
/// whose -shm file cannot be made is read by the store as a snapshot of the moment it opened it
/// (README); a connection opened later, once another process has made the -shm, reads the file
/// as it is now: the two must never both answer.
@Suite struct PointReadReadOnlyStoreTests {
    static func listing(_ host: String) -> [String: Any] {
        ["jsonrpc": "2.0", "id": 1, "method": "listCerts", "params": ["host": host]]
    }

    @Test func aReadOnlyStoresPointReadAnswersAsTheStoreReadsIt() async throws {
        let directory = temporaryDirectory("tofu-store")
        let store = directory + "/store.sqlite"
        let certificate = try await CertificateFactory.make()
        let first = try StoreServer(storePath: store)
        _ = try await first.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect(try await first.stop() == 0)
        // Neither the file nor its directory writable: no -shm can be made beside it.
        chmod(store, 0o444)
        chmod(directory, 0o555)
        defer { chmod(directory, 0o700) }
        // As root, permission bits bind nobody: the server then runs as 'nobody'.
        let command = geteuid() == 0
            ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", productPath("tofu-rpc"), "--store", store]
            : [productPath("tofu-rpc"), "--store", store]
        let server = try ServerProcess(command[0], arguments: Array(command.dropFirst()))
        server.send(line: Wire.json(Self.listing("kong.example")))
        let opened = try await server.reader.next()
        #expect((opened.object["result"] as? [String: Any])?["certs"] as? [Any] != nil, "reads work: \(opened.text) \(server.stderr)")

        // Another process, which may write the store, pins a host while the server runs.
        chmod(directory, 0o755)
        chmod(store, 0o644)
        let writer = try StoreServer(storePath: store)
        _ = try await writer.result("pinCert", ["host": "new.example", "pem": certificate.pem])
        // Past the point reads a failed attempt declines, alone, as a pipelining client sends them.
        let count = 1100
        server.send(Array(repeating: Wire.ndjson(Wire.json(Self.listing("kong.example"))), count: count).flatMap { $0 })
        let answers = try await server.reader.next(count)
        #expect(answers.allSatisfy { $0.object["result"] != nil }, "\(answers.first { $0.object["result"] == nil }?.text ?? "")")

        server.send(line: Wire.json(Self.listing("new.example")))
        let alone = try await server.reader.next()
        server.send(line: Wire.json([Self.listing("new.example")]))
        let batched = try await server.reader.next()
        #expect(batched.text == "[" + alone.text + "]", "alone:   \(alone.text)\nbatched: \(batched.text)")
        server.closeInput()
        _ = try await server.waitForExit()
        #expect(try await writer.stop() == 0)
    }
}
