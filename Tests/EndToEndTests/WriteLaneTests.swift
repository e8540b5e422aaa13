import Foundation
import TestSupport
import Testing

/// tofu-rpc's quick store writes (pinCert, deleteCert, setPinPolicy, pruneHistory) run on a
/// lane of their own: one thread hop per write, each durable before its answer, applied in the
/// order one connection sent them, never holding up reads behind a store that waits, and
/// never run once cancelled before they started.
@Suite(.timeLimit(.minutes(5 * TestTime.scale))) struct WriteLaneTests {
    static func host(_ index: Int) -> String { "lane\(index).example_443" }

    /// Whether another process (sqlite3) sees `host` pinned in `store`.
    static func pinnedOnDisk(_ store: String, _ host: String) async throws -> Bool {
        let read = try await runProgram("sqlite3", [store, "SELECT count(*) FROM pin WHERE host = '\(host)';"])
        #expect(read.status == 0, "\(read.stderr)")
        return read.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// Each answer of a pipelined run of pinCert, then of deleteCert, is checked against the
    /// store file by another process the moment it arrives: what it reports is already on disk.
    @Test func aWriteIsOnDiskBeforeItsAnswer() async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        _ = try await server.result("listCerts")
        let count = 20
        for method in ["pinCert", "deleteCert"] {
            var requests: [UInt8] = []
            for index in 0..<count {
                let params: [String: Any] = method == "pinCert" ? ["host": Self.host(index), "pem": certificate.pem] : ["host": Self.host(index)]
                requests += Wire.ndjson(Wire.request(method, id: index, params: params))
            }
            server.process.send(requests)
            for _ in 0..<count {
                let answer = try await server.process.reader.next()
                #expect(answer.errorCode == nil, "\(answer)")
                guard let index = answer.object["id"] as? Int else { continue }
                let onDisk = try await Self.pinnedOnDisk(store, Self.host(index))
                #expect(onDisk == (method == "pinCert"), "\(method) \(index) was answered before another process could see it")
            }
        }
        #expect(try await server.stop() == 0)
    }

    /// pinCert, deleteCert, pinCert of one host, pipelined many times over: each is applied in
    /// the order sent, so every call succeeds (a delete that overtook its pin would answer
    /// certNotFound, a pin that overtook the delete before it would match, not pin).
    @Test func writesOfOneConnectionApplyInTheOrderSent() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("listCerts")
        let rounds = 100
        var requests: [UInt8] = []
        for round in 0..<rounds {
            let host = Self.host(round % 5)
            requests += Wire.ndjson(Wire.request("pinCert", id: "pin\(round)", params: ["host": host, "pem": certificate.pem]))
            requests += Wire.ndjson(Wire.request("setPinPolicy", id: "policy\(round)", params: ["host": host, "policy": "publicKey"]))
            requests += Wire.ndjson(Wire.request("deleteCert", id: "delete\(round)", params: ["host": host]))
        }
        server.process.send(requests)
        var failures: [String] = []
        for answer in try await server.process.reader.next(3 * rounds) {
            let id = answer.object["id"] as? String ?? "?"
            if let code = answer.errorCode { failures.append("\(id): \(code)") }
            let status = (answer.object["result"] as? [String: Any])?["pinStatus"] as? String
            if id.hasPrefix("pin"), status != "pinned" { failures.append("\(id): \(status ?? "no pinStatus")") }
        }
        #expect(failures.isEmpty, "\(failures.count) writes were applied out of order: \(failures.prefix(5))")
        #expect(try await server.stop() == 0)
    }

    /// While a write waits for another process's lock on the store (up to the store timeout),
    /// the server still reads and answers what needs no store, and a point read behind the
    /// write at once, from what is committed (the input thread's own connection to the file):
    /// the input thread never waits for the store.
    @Test func aWriteWaitingForTheStoreDoesNotHoldUpTheInput() async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath()
        let server = try StoreServer(storePath: store, arguments: ["--store-timeout-ms", "30000"])
        _ = try await server.result("pinCert", ["host": Self.host(1), "pem": certificate.pem])
        _ = try await server.result("pinCert", ["host": Self.host(2), "pem": certificate.pem])
        let holder = try await WriteLockHolder(store)
        server.process.send(Wire.ndjson(Wire.request("deleteCert", id: "delete", params: ["host": Self.host(1)])))
        // The write has started, and waits for the lock.
        try await Task.sleep(for: .milliseconds(300))
        server.process.send(Wire.ndjson(Wire.request("listCerts", id: "read", params: ["host": Self.host(2)])))
        server.process.send(Wire.ndjson(Wire.request("rpc.discover", id: "discover")))
        var byID: [String: Received] = [:]
        for _ in 0..<2 {
            let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(10)))
            byID[answer.object["id"] as? String ?? "?"] = answer
        }
        #expect(Set(byID.keys) == ["discover", "read"], "answered while the write waits for the lock: \(byID)")
        let certs = (byID["read"]?.object["result"] as? [String: Any])?["certs"] as? [[String: Any]]
        #expect(certs?.count == 1, "\(String(describing: byID["read"]))")
        holder.end(with: "ROLLBACK")
        try await holder.waitForExit()
        let deleted = try await server.process.reader.next()
        #expect(deleted.object["id"] as? String == "delete" && (deleted.object["result"] as? [String: Any])?["deleted"] is [String: Any], "\(deleted)")
        #expect(try await server.stop() == 0)
    }

    /// A deleteCert waiting its turn behind a write that waits for the store's lock, then
    /// cancelled, answers -32800 and deletes nothing; the write before it goes through.
    @Test func aQueuedWriteCancelledBeforeItStartsChangesNothing() async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath()
        let server = try StoreServer(storePath: store, arguments: ["--store-timeout-ms", "30000"])
        for index in 1...2 { _ = try await server.result("pinCert", ["host": Self.host(index), "pem": certificate.pem]) }
        let holder = try await WriteLockHolder(store)
        server.process.send(Wire.ndjson(Wire.request("deleteCert", id: "first", params: ["host": Self.host(1)])))
        server.process.send(Wire.ndjson(Wire.request("deleteCert", id: "queued", params: ["host": Self.host(2)])))
        // Both have been read and handed on; the first waits for the lock.
        try await Task.sleep(for: .milliseconds(300))
        server.process.send(Wire.ndjson(Wire.request("$/cancelRequest", params: ["id": "queued"])))
        // Answered after the cancel was read: it has taken effect.
        #expect(try await server.process.call("rpc.discover", id: "after cancel").object["id"] as? String == "after cancel")
        holder.end(with: "ROLLBACK")
        try await holder.waitForExit()
        var byID: [String: Received] = [:]
        for answer in try await server.process.reader.next(2) { byID[answer.object["id"] as? String ?? "?"] = answer }
        #expect(byID["first"]?.errorCode == nil, "\(String(describing: byID["first"]))")
        #expect(byID["queued"]?.errorCode == -32800, "\(String(describing: byID["queued"]))")
        #expect(try await !Self.pinnedOnDisk(store, Self.host(1)))
        #expect(try await Self.pinnedOnDisk(store, Self.host(2)), "a write cancelled before it started changed the store")
        #expect(try await server.stop() == 0)
    }

    /// The threads' voluntary context switches (each a sleep: a wake-up to come) over round
    /// trips of deleteCert: a write costs one hop (the input thread hands it to the lane, which
    /// answers) and the disk's sync (about 4 in all), not a task, the store's thread, a task
    /// and the output thread (about 8 to 10 before). Counts of switches do not drift with the
    /// machine's load as times do; the bound leaves room for a busy machine's lock contention.
    @Test func aDeleteRoundTripCostsFewContextSwitches() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        let count = 100
        var pins: [UInt8] = []
        for index in 0..<(count + 20) { pins += Wire.ndjson(Wire.request("pinCert", id: index, params: ["host": Self.host(index), "pem": certificate.pem])) }
        server.process.send(pins)
        for answer in try await server.process.reader.next(count + 20) { #expect(answer.errorCode == nil, "\(answer)") }
        // Warm: the lane's thread started, the WAL grown.
        for index in count..<(count + 20) { _ = try await server.result("deleteCert", ["host": Self.host(index)]) }
        let pid = server.process.process.processIdentifier
        let before = Self.voluntarySwitches(pid)
        for index in 0..<count { _ = try await server.result("deleteCert", ["host": Self.host(index)]) }
        let perDelete = Double(Self.voluntarySwitches(pid) - before) / Double(count)
        print("deleteCert: \(perDelete) voluntary context switches of tofu-rpc per round trip")
        #expect(perDelete <= 7, "\(perDelete) voluntary context switches per deleteCert")
        #expect(try await server.stop() == 0)
    }

    /// The voluntary context switches of every thread of process `pid` so far.
    static func voluntarySwitches(_ pid: Int32) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, task in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") }
            return total + (line.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0)
        }
    }
}
