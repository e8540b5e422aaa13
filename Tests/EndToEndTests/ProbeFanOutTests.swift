import Foundation
import Locking
import TestSupport
import Testing

/// However many probes are asked for, tofu-rpc connects at most `--max-probes` (default 64) at
/// once, each on a pool thread with one socket; the rest wait their turn. A lack of file
/// descriptors is reported as that, never as a store failure or as the host refusing.
@Suite struct ProbeFanOutTests {
    /// The Threads: line of /proc/PID/status.
    static func threads(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("Threads:") }.flatMap { Int($0.split(separator: "\t").last ?? "") }
    }

    /// TCP connections from process `pid` to `port` that are connecting or open: what a
    /// listener there sees at once from it. Entries of /proc/net/tcp (one read of the kernel's
    /// table) whose socket the process holds; a walk of /proc/PID/fd alone can count a closed
    /// socket and its successor both, and the table alone counts other processes' connections
    /// (an outgoing connection may get that very port as its own). A closed probe's socket
    /// lingers in FIN_WAIT or TIME_WAIT states, which are not counted.
    static func connections(from pid: Int32, toPort port: Int) -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        var inodes = Set<Substring>()
        for entry in entries {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)"), link.hasPrefix("socket:[") else { continue }
            inodes.insert(Substring(link.dropFirst(8).dropLast()))
        }
        let wanted = String(format: "%04X", port)
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readProcFile(table) else { return nil }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, let remotePort = fields[2].split(separator: ":").last else { continue }
                // 01 ESTABLISHED, 02 SYN_SENT.
                if remotePort == wanted && (fields[3] == "01" || fields[3] == "02") && inodes.contains(fields[9]) { count += 1 }
            }
        }
        return count
    }

    /// A /proc file read to its end with read(2) (Foundation goes by the size stat gives, 0 there).
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The most of something (threads, connections) a process had, sampled every few
    /// milliseconds until stopped, on a thread of its own: reading /proc on Swift's cooperative
    /// pool would take that pool from the other tests running alongside.
    final class Sampler: Sendable {
        private final class State: Sendable {
            let value = Locked<(peak: Int, stop: Bool, ended: Bool)>((0, false, false))
        }

        private let state = State()

        init(pid: Int32, _ measure: @escaping @Sendable (Int32) -> Int?) {
            let state = self.state
            Thread {
                while !state.value.withLock({ $0.stop }) {
                    if let count = measure(pid) { state.value.withLock { $0.peak = max($0.peak, count) } }
                    usleep(3000)
                }
                state.value.withLock { $0.ended = true }
            }.start()
        }

        func stop() async -> Int {
            state.value.withLock { $0.stop = true }
            while !state.value.withLock({ $0.ended }) { try? await Task.sleep(for: .milliseconds(5)) }
            return state.value.withLock { $0.peak }
        }
    }

    /// tofu-rpc under `ulimit -n limit`.
    static func limitedServer(store: String, files: Int, arguments: [String] = []) throws -> ServerProcess {
        try ServerProcess("/bin/bash", arguments: ["-c", "ulimit -n \(files) && exec \"$0\" --store \"$1\" \"${@:2}\"", productPath("tofu-rpc"), store] + arguments)
    }

    /// `--max-probes 4`: a silent peer sees at most 4 connections while 20 probes wait, and a
    /// waiting probe that is cancelled answers -32800 at once.
    @Test func maxProbesBoundsConnectionsAndAWaitingProbeCancelsAtOnce() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try StoreServer(storePath: temporaryDirectory("tofu-maxprobes") + "/store.sqlite", arguments: ["--max-probes", "4"])
        let port = silent.port
        let open = Sampler(pid: server.process.process.processIdentifier) { Self.connections(from: $0, toPort: port) }
        var requests: [UInt8] = []
        for index in 1...24 {
            requests += Wire.ndjson(Wire.request("verifyCert", id: index, params: ["host": silent.address, "timeoutMs": 60_000]))
        }
        server.process.send(requests)
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while try await peers.connections(silent) < 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        for _ in 0..<5 {
            #expect(try await peers.connections(silent) == 4, "connections while 20 probes wait")
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(Self.threads(server.process.process.processIdentifier) ?? 0 <= 4 + 24, "threads")

        // The last one waits behind 19 others: cancelled, it answers at once.
        let start = ContinuousClock.now
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": 24]))
        let cancelled = try await server.process.reader.next(timeout: TestTime.bound(.seconds(10)))
        // "At once": the probe's own timeout is 60 s, and 19 probes wait before it.
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(5)))
        #expect(cancelled.object["id"] as? Int == 24 && cancelled.errorCode == -32800, "\(cancelled)")
        #expect(try await peers.connections(silent) == 4)

        // Cancelling a connecting probe frees its place for the next in line.
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": 1]))
        let first = try await server.process.reader.next(timeout: TestTime.bound(.seconds(10)))
        #expect(first.object["id"] as? Int == 1 && first.errorCode == -32800, "\(first)")
        let later = ContinuousClock.now + TestTime.bound(.seconds(20))
        while try await peers.connections(silent) < 5 && ContinuousClock.now < later {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await peers.connections(silent) == 5)

        for id in 2...23 { server.process.send(line: Wire.request("$/cancelRequest", params: ["id": id])) }
        for _ in 2...23 {
            let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(20)))
            #expect(answer.errorCode == -32800, "\(answer)")
        }
        let peak = await open.stop()
        #expect(peak == 4, "\(peak) connections open at once")
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// Under `ulimit -n 40` with `--max-probes 64` (more than the limit affords, which tofu-rpc
    /// warns of), sockets run out: those probes answer -32003 with reason localLimit naming the
    /// limit, never storeUnavailable and never "refused"; the others reach their host (and time out).
    @Test func runningOutOfFileDescriptorsIsReportedAsThat() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent", count: 4)
        let store = temporaryDirectory("tofu-emfile") + "/store.sqlite"
        let server = try Self.limitedServer(store: store, files: 40, arguments: ["--max-probes", "64"])
        var requests: [String] = []
        for index in 0..<64 {
            let params: [String: Any] = [
                "server": silent[index % 4].address, "username": "admin", "password": "pw", "confirmPassword": "pw", "timeoutMs": 2000,
            ]
            requests.append(Wire.request("addDnacServer", id: index, params: params))
        }
        server.send(line: "[" + requests.joined(separator: ",") + "]")
        let answers = try await server.reader.next(timeout: TestTime.bound(.seconds(60))).array
        #expect(answers.count == 64)
        var reasons: [String: Int] = [:]
        for answer in answers {
            let error = answer["error"] as? [String: Any] ?? [:]
            let data = error["data"] as? [String: Any] ?? [:]
            #expect(error["code"] as? Int == -32003, "\(answer)")
            let reason = data["reason"] as? String ?? "none"
            reasons[reason, default: 0] += 1
            if reason == "localLimit" {
                #expect((data["detail"] as? String)?.contains("tofu-rpc has run out of file descriptors (ulimit -n 40)") == true, "\(answer)")
            }
        }
        print("out of descriptors: \(reasons)")
        #expect(Set(reasons.keys).isSubset(of: ["timeout", "localLimit"]), "\(reasons)")
        #expect(reasons["localLimit", default: 0] > 0 && reasons["timeout", default: 0] > 0, "\(reasons)")
        #expect(server.stderr.contains("--max-probes 64 is more than ulimit -n affords"), "\(server.stderr)")
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        peers.stop()
    }

    /// Without --max-probes, a low `ulimit -n` lowers the pool to what it affords (here 100 files:
    /// (100 - 64) / 2 = 18 probes) rather than let sockets starve the store: the peer never has
    /// more than 18 connections at once, and every verifyCert is a proper answer, none storeUnavailable.
    @Test func aLowFileLimitLowersThePoolInsteadOfStarvingTheStore() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try Self.limitedServer(store: temporaryDirectory("tofu-lowfiles") + "/store.sqlite", files: 100)
        #expect(try await server.call("listCerts", id: "warm").errorCode == nil)
        let port = silent.port
        let sockets = Sampler(pid: server.process.processIdentifier) { Self.connections(from: $0, toPort: port) }
        var requests: [String] = []
        for index in 0..<40 {
            requests.append(Wire.request("verifyCert", id: index, params: ["host": silent.address, "timeoutMs": 1500]))
        }
        server.send(line: "[" + requests.joined(separator: ",") + "]")
        let answers = try await server.reader.next(timeout: TestTime.bound(.seconds(120))).array
        let peak = await sockets.stop()
        #expect(peak == 18, "at most \(peak) connections open at once")
        #expect(answers.count == 40)
        for answer in answers {
            let result = answer["result"] as? [String: Any] ?? [:]
            #expect(result["status"] as? String == "unreachable" && result["reason"] as? String == "timeout", "\(answer)")
        }
        #expect(try await peers.connections(silent) == 40)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        peers.stop()
    }
}
