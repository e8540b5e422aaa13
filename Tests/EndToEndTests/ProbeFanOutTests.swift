import Foundation
import Posix
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

    /// The sockets process `pid` holds (its /proc/PID/fd links `socket:[INODE]`), by inode.
    static func heldSockets(_ pid: Int32) -> Set<UInt64>? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        var inodes = Set<UInt64>()
        for entry in entries {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(entry)"),
                link.hasPrefix("socket:["), let inode = UInt64(link.dropFirst(8).dropLast())
            else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    /// The inodes of TCP sockets connected (or connecting) to `port`, whoever holds them, as
    /// /proc/net/tcp and tcp6 list them now. The tables can hold thousands of rows while other
    /// tests run: they are searched with strstr for the port, and only the rows found are split.
    static func socketsConnected(toPort port: Int) -> Set<UInt64> {
        let wanted = String(format: "%04X", port)
        let needle = ":\(wanted) "
        var inodes = Set<UInt64>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard var bytes = readProcBytes(table) else { continue }
            bytes.append(0)
            var lines: [String] = []
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { text in
                    guard let base = text.baseAddress else { return }
                    var cursor = base
                    while let hit = strstr(cursor, needle) {
                        var start = UnsafePointer(hit)
                        while start > base && start[-1] != 0x0A { start -= 1 }
                        let end = strchr(hit, 0x0A).map { UnsafePointer($0) } ?? base + (text.count - 1)
                        lines.append(String(decoding: UnsafeRawBufferPointer(start: start, count: end - start), as: UTF8.self))
                        guard end.pointee != 0 else { break }
                        cursor = end + 1
                    }
                }
            }
            for line in lines {
                // sl, local address, remote address, state, ..., inode (the tenth field).
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[2].split(separator: ":").last == Substring(wanted),
                    let inode = UInt64(fields[9]), inode != 0
                else { continue }
                inodes.insert(inode)
            }
        }
        return inodes
    }

    /// A /proc file read to its end with read(2) (Foundation goes by the size stat gives, 0 there).
    static func readProcBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return try? FileIO.readToEnd(fd)
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
            DetachedThread.start(name: "test sampler") {
                while !state.value.withLock({ $0.stop }) {
                    if let count = measure(pid) { state.value.withLock { $0.peak = max($0.peak, count) } }
                    usleep(3000)
                }
                state.value.withLock { $0.ended = true }
            }
        }

        func stop() async -> Int {
            state.value.withLock { $0.stop = true }
            while !state.value.withLock({ $0.ended }) { try? await Task.sleep(for: .milliseconds(5)) }
            return state.value.withLock { $0.peak }
        }
    }

    /// The most sockets to one port a process held at once, sampled every few milliseconds on a
    /// thread of its own until stopped.
    ///
    /// Neither /proc file is a snapshot: /proc/net/tcp comes a page (27 rows) per read, and the
    /// kernel finds its place again by hash bucket and offset, or failing that by row number, in
    /// the table as it is then; under other tests' churn, rows come twice or not at all (counting
    /// rows, this test once saw 8 sockets under --max-probes 4, and 3 where 4 were open). So a
    /// sample counts only what one instant had: the sockets found in two walks of /proc/PID/fd one
    /// right after the other (each was held from the first walk to the second, so all of them at
    /// the moment between). Whether a socket leads to the port is read from /proc/net/tcp after the
    /// sample, and counts for every sample once any read has shown it (a socket's peer never
    /// changes); a socket no read shows is not counted. So a sample can only count too few, never
    /// too many, and a peak that lasts a few milliseconds is counted.
    final class ConnectionSampler: Sendable {
        private struct Samples {
            var samples: [Set<UInt64>] = []
            var toPort = Set<UInt64>()
            /// Reads of the tables that did not show a held socket: after 3, it is not looked for.
            var misses: [UInt64: Int] = [:]
            var stop = false
            var ended = false
        }

        private final class State: Sendable {
            let value = Locked(Samples())
        }

        private let box = State()

        init(pid: Int32, port: Int) {
            let box = self.box
            DetachedThread.start(name: "test sampler") {
                while !box.value.withLock({ $0.stop }) {
                    defer { usleep(3000) }
                    guard let first = ProbeFanOutTests.heldSockets(pid), let second = ProbeFanOutTests.heldSockets(pid) else { continue }
                    let held = first.intersection(second)
                    let unknown = box.value.withLock { value in
                        value.samples.append(held)
                        return held.filter { !value.toPort.contains($0) && value.misses[$0, default: 0] < 3 }
                    }
                    guard !unknown.isEmpty else { continue }
                    let connected = ProbeFanOutTests.socketsConnected(toPort: port)
                    box.value.withLock { value in
                        value.toPort.formUnion(connected)
                        for inode in unknown where !connected.contains(inode) { value.misses[inode, default: 0] += 1 }
                    }
                }
                box.value.withLock { $0.ended = true }
            }
        }

        /// Stops sampling; the most sockets to the port held at once.
        func stop() async -> Int {
            box.value.withLock { $0.stop = true }
            while !box.value.withLock({ $0.ended }) { try? await Task.sleep(for: .milliseconds(5)) }
            return box.value.withLock { value in
                value.samples.map { $0.intersection(value.toPort).count }.max() ?? 0
            }
        }
    }

    /// tofu-rpc under `ulimit -n limit`.
    static func limitedServer(store: String, files: Int, arguments: [String] = []) throws -> ServerProcess {
        try ServerProcess("/bin/bash", arguments: ["-c", "ulimit -n \(files) && exec \"$0\" --store \"$1\" \"${@:2}\"", productPath("tofu-rpc"), store] + arguments)
    }

    /// `--max-probes 4`: a silent peer sees at most 4 connections while 20 probes wait, and a
    /// waiting probe that is cancelled answers -32800 at once.
    ///
    /// The premise is that probes 1-4 are still connecting (their 120 s deadline, the longest
    /// there is, not reached) at each step. A heavily loaded sanitized run can starve the test
    /// for that long; then the steps left cannot be judged, and the test says so as a known
    /// issue rather than blaming tofu for a probe that rightly timed out.
    @Test func maxProbesBoundsConnectionsAndAWaitingProbeCancelsAtOnce() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try StoreServer(storePath: temporaryDirectory("tofu-maxprobes") + "/store.sqlite", arguments: ["--max-probes", "4"])
        let port = silent.port
        let open = ConnectionSampler(pid: server.process.process.processIdentifier, port: port)
        // Calls run as tasks of their own, which reach the pool in no set order: the first 4 are
        // sent alone, so that they are the ones connecting and the 20 after them the ones waiting.
        func verify(_ ids: ClosedRange<Int>) {
            var requests: [UInt8] = []
            for id in ids {
                requests += Wire.ndjson(Wire.request("verifyCert", id: id, params: ["host": silent.address, "timeoutMs": 120_000]))
            }
            server.process.send(requests)
        }
        let probesEnd = ContinuousClock.now + .seconds(120)
        /// Whether probes 1-4 are sure to be connecting for `step` longer.
        func premiseHolds(for step: Duration) -> Bool {
            guard ContinuousClock.now + step + .seconds(2) < probesEnd else {
                withKnownIssue("probes 1-4 may reach their 120 s deadline within the next step: the run is too slow to judge it", isIntermittent: true) {
                    Issue.record("premise lost")
                }
                return false
            }
            return true
        }
        func finish() async throws {
            _ = await open.stop()
            server.process.process.terminate()
            peers.stop()
        }
        verify(1...4)
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while try await peers.connections(silent) < 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await peers.connections(silent) == 4, "connections of the first 4 probes")
        guard premiseHolds(for: .seconds(2)) else { return try await finish() }
        verify(5...24)
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(200))
            guard premiseHolds(for: .zero) else { return try await finish() }
            #expect(try await peers.connections(silent) == 4, "connections while 20 probes wait")
        }
        #expect(Self.threads(server.process.process.processIdentifier) ?? 0 <= 4 + 24, "threads")

        // A waiting one, cancelled, answers at once.
        guard premiseHolds(for: TestTime.bound(.seconds(10))) else { return try await finish() }
        let start = ContinuousClock.now
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": 24]))
        let cancelled = try await server.process.reader.next(timeout: TestTime.bound(.seconds(10)))
        // "At once": the probe's own timeout is 120 s, and the 4 probes before it hold the pool as long.
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(5)))
        #expect(cancelled.object["id"] as? Int == 24 && cancelled.errorCode == -32800, "\(cancelled)")
        #expect(try await peers.connections(silent) == 4)

        // Cancelling a connecting probe frees its place for the next in line.
        guard premiseHolds(for: TestTime.bound(.seconds(30))) else { return try await finish() }
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": 1]))
        let first = try await server.process.reader.next(timeout: TestTime.bound(.seconds(10)))
        #expect(first.object["id"] as? Int == 1 && first.errorCode == -32800, "\(first)")
        let later = ContinuousClock.now + TestTime.bound(.seconds(20))
        while try await peers.connections(silent) < 5 && ContinuousClock.now < later {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await peers.connections(silent) == 5)

        guard premiseHolds(for: TestTime.bound(.seconds(5))) else { return try await finish() }
        for id in 2...23 { server.process.send(line: Wire.request("$/cancelRequest", params: ["id": id])) }
        for _ in 2...23 {
            let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(20)))
            #expect(answer.errorCode == -32800, "\(answer)")
        }
        let peak = await open.stop()
        #expect(peak == 4, "\(peak) sockets to the peer held at once")
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// Under `ulimit -n 40`, `--max-probes 64` is more than the limit affords: tofu-rpc says so
    /// and lowers the pool to what it affords (1), so probes never take the descriptors the
    /// store and the runtime need (when they did, tofu-rpc was stopped by libdispatch, SIGILL, in
    /// about 2 runs of 100). Every call gets its proper answer (the silent peers time out), none
    /// storeUnavailable, and tofu-rpc exits cleanly.
    @Test func aMaxProbesAboveTheFileLimitIsLoweredToIt() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent", count: 4)
        let store = temporaryDirectory("tofu-emfile") + "/store.sqlite"
        let server = try Self.limitedServer(store: store, files: 40, arguments: ["--max-probes", "64"])
        var requests: [String] = []
        for index in 0..<8 {
            let params: [String: Any] = [
                "server": silent[index % 4].address, "username": "admin", "password": "pw", "confirmPassword": "pw", "timeoutMs": 300,
            ]
            requests.append(Wire.request("addDnacServer", id: index, params: params))
        }
        server.send(line: "[" + requests.joined(separator: ",") + "]")
        let answers = try await server.reader.next(timeout: TestTime.bound(.seconds(60))).array
        #expect(answers.count == 8)
        for answer in answers {
            let error = answer["error"] as? [String: Any] ?? [:]
            let data = error["data"] as? [String: Any] ?? [:]
            #expect(error["code"] as? Int == -32003 && data["reason"] as? String == "timeout", "\(answer)")
        }
        #expect(server.stderr.contains("--max-probes 64 is more than ulimit -n affords; using 1"), "\(server.stderr)")
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        peers.stop()
    }

    /// With so few descriptors (`ulimit -n 10`) that the store cannot be opened once a probe
    /// holds its socket, the store's refusal says what happened: out of file descriptors, with
    /// the limit, not "check the file and its directory" (SQLite says only "unable to open").
    @Test func aStoreThatCannotOpenForWantOfDescriptorsSaysSo() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let store = temporaryDirectory("tofu-nofds") + "/store.sqlite"
        let server = try Self.limitedServer(store: store, files: 10)
        var requests: [UInt8] = []
        for index in 0..<8 {
            requests += Wire.ndjson(Wire.request("verifyCert", id: index, params: ["host": silent.address, "timeoutMs": 1000]))
        }
        server.send(requests)
        var named = 0
        for _ in 0..<8 {
            let answer = try await server.reader.next()
            if answer.errorCode == -32005 {
                #expect(answer.errorReason.contains("tofu-rpc has run out of file descriptors (ulimit -n 10)"), "\(answer)")
                #expect(!answer.errorReason.contains("check the file and its directory"), "\(answer)")
                named += 1
            } else {
                let result = answer.object["result"] as? [String: Any] ?? [:]
                #expect(["timeout", "localLimit"].contains(result["reason"] as? String ?? ""), "\(answer)")
            }
        }
        #expect(named > 0, "the store opened with 12 descriptors: the test no longer starves it")
        server.closeInput()
        _ = try await server.waitForExit()
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
        let sockets = ConnectionSampler(pid: server.process.processIdentifier, port: port)
        var requests: [String] = []
        for index in 0..<40 {
            requests.append(Wire.request("verifyCert", id: index, params: ["host": silent.address, "timeoutMs": 1500]))
        }
        server.send(line: "[" + requests.joined(separator: ",") + "]")
        let answers = try await server.reader.next(timeout: TestTime.bound(.seconds(120))).array
        let peak = await sockets.stop()
        #expect(peak == 18, "\(peak) sockets to the peer held at once")
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
