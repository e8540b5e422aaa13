import Foundation
import TestSupport
import Testing

/// A `$/cancelRequest` that races a store write never makes the answer lie: -32800 means the
/// store did not change; a change that was made is answered as made.
@Suite struct CancelledWriteTests {
    static let count = 200

    /// The calls, then their cancels in reverse order, each group in one write: the writes are
    /// serialised by the store, so cancels come to calls that are waiting, writing, and done.
    static func raceCancels(_ server: StoreServer, _ method: String, params: (Int) -> [String: Any]) async throws -> [Int: Received] {
        var calls: [UInt8] = []
        var cancels: [UInt8] = []
        for index in 0..<count {
            calls += Wire.ndjson(Wire.request(method, id: index, params: params(index)))
            cancels = Wire.ndjson(Wire.request("$/cancelRequest", params: ["id": index])) + cancels
        }
        server.process.send(calls)
        server.process.send(cancels)
        var answers: [Int: Received] = [:]
        while answers.count < count {
            let answer = try await server.process.reader.next()
            guard let id = answer.object["id"] as? Int else { continue }
            answers[id] = answer
        }
        return answers
    }

    static func pinnedHosts(_ server: StoreServer) async throws -> Set<String> {
        let certs = try await server.result("listCerts", ["limit": 10_000])["certs"] as? [[String: Any]] ?? []
        return Set(certs.compactMap { $0["host"] as? String })
    }

    static func host(_ index: Int) -> String { "h\(index).example_443" }

    @Test func aCancelledDeleteSaysWhetherItDeleted() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        var bytes: [UInt8] = []
        for index in 0..<Self.count {
            bytes += Wire.ndjson(Wire.request("pinCert", id: "p\(index)", params: ["host": Self.host(index), "pem": certificate.pem]))
        }
        server.process.send(bytes)
        for _ in 0..<Self.count { #expect(try await server.process.reader.next().errorCode == nil) }
        let answers = try await Self.raceCancels(server, "deleteCert") { ["host": Self.host($0)] }
        let remaining = try await Self.pinnedHosts(server)
        var cancelled = 0
        for (index, answer) in answers.sorted(by: { $0.key < $1.key }) {
            if answer.errorCode == -32800 {
                cancelled += 1
                #expect(remaining.contains(Self.host(index)), "deleteCert \(index) answered -32800 but its pin is gone")
            } else {
                #expect(answer.errorCode == nil, "\(answer)")
                #expect(!remaining.contains(Self.host(index)), "deleteCert \(index) answered deleted but its pin is there")
            }
        }
        print("deleteCert raced by its cancel: \(cancelled) of \(Self.count) cancelled, \(Self.count - cancelled) deleted")
        #expect(try await server.stop() == 0)
    }

    @Test func aCancelledPinSaysWhetherItPinned() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        let answers = try await Self.raceCancels(server, "pinCert") { ["host": Self.host($0), "pem": certificate.pem] }
        let pinned = try await Self.pinnedHosts(server)
        var cancelled = 0
        for (index, answer) in answers.sorted(by: { $0.key < $1.key }) {
            if answer.errorCode == -32800 {
                cancelled += 1
                #expect(!pinned.contains(Self.host(index)), "pinCert \(index) answered -32800 but the host is pinned")
            } else {
                #expect(answer.errorCode == nil, "\(answer)")
                #expect(pinned.contains(Self.host(index)), "pinCert \(index) answered pinned but the host is not")
            }
        }
        print("pinCert raced by its cancel: \(cancelled) of \(Self.count) cancelled, \(Self.count - cancelled) pinned")
        #expect(try await server.stop() == 0)
    }
}
