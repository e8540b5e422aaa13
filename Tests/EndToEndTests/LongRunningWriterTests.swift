import Foundation
import TestSupport
import Testing

/// A tofu-rpc that writes for as long as it runs: each write is logged through the store's
/// observer, and the 40,000th costs what the first did. (The observer, kept as a bare closure,
/// came back from each notice wrapped in two more thunks: each notice cost more than the last,
/// and the process stopped with a stack overflow after about 32,000 writes.)
@Suite(.timeLimit(.minutes(5 * TestTime.scale))) struct LongRunningWriterTests {
    @Test func fortyThousandWritesInOneProcess() async throws {
        // In memory where there is a tmpfs: 40,000 synced commits to a real disk take minutes.
        var directory = temporaryDirectory("tofu-writes")
        let inMemory = "/dev/shm/tofu-writes-\(UUID().uuidString)"
        if (try? FileManager.default.createDirectory(atPath: inMemory, withIntermediateDirectories: false)) != nil { directory = inMemory }
        defer { if directory == inMemory { try? FileManager.default.removeItem(atPath: inMemory) } }
        let server = try StoreServer(storePath: directory + "/store.sqlite")
        let count = 40_000
        var requests: [UInt8] = []
        for id in 0..<count { requests += Wire.ndjson(Wire.request("pruneHistory", id: id, params: ["before": "2000-01-01"])) }
        server.process.send(requests)
        // Looked at as text, yielding now and then: parsing 40,000 answers on the cooperative
        // pool the suite shares would starve the other tests' in-process servers.
        var failed: [String] = []
        for answered in 0..<count {
            let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(60)))
            if answer.text.contains("\"error\"") { failed.append(answer.text) }
            if answered % 256 == 0 { await Task.yield() }
        }
        #expect(failed.isEmpty, "\(failed.count) writes failed: \(failed.prefix(3))")
        #expect(try await server.stop() == 0, "\(server.process.stderr.suffix(500))")
    }
}
