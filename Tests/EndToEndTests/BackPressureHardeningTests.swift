import Foundation
import TestSupport
import Testing

/// A `tofu-rpc` whose client writes requests and starts reading the answers only when the
/// test says so.
final class UnreadServerProcess: Sendable {
    private let server: ServerProcess
    var process: ChildProcess { server.process }

    init(arguments: [String]) throws {
        server = try ServerProcess(arguments: arguments, readingAtOnce: false)
    }

    func send(_ bytes: [UInt8]) { server.send(bytes) }
    func closeInput() { server.closeInput() }
    var stderr: String { server.stderr }

    /// Starts reading the output.
    func startReading() -> PeerReader { server.reader }

    /// A field of /proc/PID/status, in KiB (VmHWM: the peak resident set).
    func status(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    }

    /// CPU time used so far (user and system), in clock ticks.
    var cpuTicks: Int {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }

    /// Waits until the process has used no CPU for `quiet` (it is blocked, or done); returns
    /// false if that never happened before `timeout`.
    func settles(quiet: Duration = .milliseconds(600), timeout: Duration) async throws -> Bool {
        try await TestSupport.settles(quiet: quiet, timeout: timeout) { cpuTicks }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// The output back-pressure of the real binary: a client that sends requests and does not
/// read its answers holds the server back (it stops reading and starting calls once the
/// unwritten output passes --max-message-bytes), so its memory stays bounded, and it costs no
/// CPU while it waits. `make torture` runs the long form (TOFU_TORTURE=1).
@Suite struct BackPressureHardeningTests {
    static let torture = ProcessInfo.processInfo.environment["TOFU_TORTURE"] == "1"

    /// The peak memory (KiB) of a server with the same arguments that answered `rpc.discover`
    /// a hundred times to a client that reads: the runtime, the store, the protocol document.
    static func baseline(_ arguments: [String]) async throws -> Int {
        let server = try ServerProcess(arguments: arguments)
        for id in 0..<100 { server.send(Wire.ndjson(Wire.request("rpc.discover", id: id))) }
        _ = try await server.reader.next(100)
        let status = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap {
            Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        } ?? 0
        server.closeInput()
        _ = try await server.waitForExit()
        return peak
    }

    /// What the held-back server may hold beyond the baseline, in KiB: the unwritten output
    /// (the bound, plus the answers of the calls in flight when it was passed), the queued
    /// input (at most the bound), as much again for the allocator's slack at that scale, and
    /// 8 MiB for the arenas of the threads that serialised the answers.
    static func allowance(bound: Int, answerBytes: Int, inFlight: Int = 64) -> Int {
        (3 * bound + inFlight * answerBytes + (8 << 20)) / 1024
    }

    /// Sends `count` rpc.discover requests without reading, waits for the server to stop,
    /// checks its peak memory and that it sits idle, then reads every answer in full.
    func holdBackThenReadEverything(bound: Int, count: Int, unreadFor: Duration, checks: Int) async throws {
        let store = temporaryDirectory("tofu-backpressure") + "/store.sqlite"
        let arguments = ["--store", store, "--max-message-bytes", String(bound)]
        let baseline = try await Self.baseline(arguments)
        let allowed = baseline + Self.allowance(bound: bound, answerBytes: 28 << 10)
        let server = try UnreadServerProcess(arguments: arguments)
        var requests: [UInt8] = []
        for id in 0..<count { requests += Wire.ndjson(Wire.request("rpc.discover", id: id)) }
        server.send(requests)
        #expect(try await server.settles(timeout: TestTime.bound(.seconds(60))), "the server never stopped working while nobody read")
        let start = ContinuousClock.now
        for check in 0..<checks {
            let ticks = server.cpuTicks
            try await Task.sleep(for: unreadFor / checks)
            let peak = server.status("VmHWM")
            #expect(peak < allowed || !TestTime.memoryBoundsHold, "check \(check): peak \(peak) KiB while nobody reads; allowed \(allowed) KiB (baseline \(baseline))")
            #expect(server.cpuTicks - ticks <= 5, "check \(check): the server used CPU while it waited for its output to drain")
        }
        let heldBack = server.status("VmHWM")
        print("back-pressure: bound \(bound >> 10) KiB, \(count) requests unread for \(ContinuousClock.now - start): peak \(heldBack) KiB (baseline \(baseline), allowed \(allowed))")
        let reader = server.startReading()
        // The first answer is parsed; every other one must be the same text but for its id
        // (parsing 40 MB of JSON would hold a thread of the test pool for seconds).
        let first = try await reader.next(timeout: TestTime.bound(.seconds(120)))
        let firstID = try #require(first.object["id"] as? Int, "\(first.text.prefix(200))")
        #expect((first.object["result"] as? [String: Any])?["openrpc"] != nil, "\(first.text.prefix(200))")
        let prefix = #"{"id":"#
        let firstPrefix = prefix + String(firstID) + ","
        let result = first.text.dropFirst(firstPrefix.count)
        var seen: Set<Int> = [firstID]
        for _ in 1..<count {
            let answer = try await reader.next(timeout: TestTime.bound(.seconds(120)))
            let text = answer.text
            guard text.hasPrefix(prefix), let comma = text.firstIndex(of: ","),
                let id = Int(text[text.index(text.startIndex, offsetBy: prefix.count)..<comma]),
                text[text.index(after: comma)...] == result
            else {
                Issue.record("not a full rpc.discover answer: \(text.prefix(200))")
                break
            }
            seen.insert(id)
        }
        #expect(seen == Set(0..<count), "\(seen.count) distinct answers of \(count)")
        let peak = server.status("VmHWM")
        #expect(peak < allowed || !TestTime.memoryBoundsHold, "peak \(peak) KiB after reading everything; allowed \(allowed) KiB")
        server.closeInput()
        #expect(try await reader.drain().isEmpty)
        while server.process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        #expect(server.process.exit == ChildExit(status: 0, signaled: false), "\(server.stderr)")
    }

    /// 1,500 requests whose answers (27 KiB each, 40 MB in all) are not read: the server holds
    /// back at a 1 MiB bound (small, so a debug build gets far past it in a short test).
    @Test func aClientThatDoesNotReadItsAnswersHoldsTheServerBack() async throws {
        try await holdBackThenReadEverything(bound: 1 << 20, count: 1500, unreadFor: .seconds(2), checks: 2)
    }

    /// The long form, at the default bound: 2 MB of requests (40,000, 1 GB of answers) from a
    /// client that does not read for a minute, memory and CPU checked every second.
    @Test(.enabled(if: torture)) func aClientThatDoesNotReadForAMinute() async throws {
        try await holdBackThenReadEverything(bound: 16 << 20, count: 40_000, unreadFor: .seconds(60), checks: 60)
    }
}

extension BackPressureHardeningTests {
    /// Requests queued behind a call that does not finish are charged what they cost in memory,
    /// not only their bytes (a parsed call costs ~900 bytes more than the ~100 it was sent in):
    /// 20 MB of them keep the server within the same allowance as unread output.
    @Test func queuedRequestsAreChargedWhatTheyCost() async throws {
        // A loopback listener that never accepts: the TLS handshake of the one call in flight
        // waits for its timeout, and everything behind it queues.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, address, &length) == 0
            }
        }
        try #require(bound, "could not listen on 127.0.0.1")
        let port = Int(UInt16(bigEndian: address.sin_port))
        let store = temporaryDirectory("tofu-queue") + "/store.sqlite"
        let arguments = ["--store", store, "--max-in-flight", "1"]
        let baseline = try await Self.baseline(arguments)
        let allowed = baseline + Self.allowance(bound: 16 << 20, answerBytes: 0)
        let server = try UnreadServerProcess(arguments: arguments)
        defer { server.process.terminate() }
        // No answer is read: the requests may share one id.
        let request = Wire.ndjson(Wire.request("verifyCert", id: 1, params: ["host": "127.0.0.1:\(port)", "timeoutMs": 120_000]))
        var requests: [UInt8] = []
        requests.reserveCapacity(request.count * 200_000)
        for _ in 0..<200_000 { requests.append(contentsOf: request) }
        server.send(requests)
        #expect(try await server.settles(timeout: TestTime.bound(.seconds(60))), "the server never stopped reading")
        let peak = server.status("VmHWM")
        print("queued requests: \(requests.count >> 20) MiB sent, peak \(peak) KiB (baseline \(baseline), allowed \(allowed))")
        #expect(peak < allowed || !TestTime.memoryBoundsHold, "peak \(peak) KiB with requests queued; allowed \(allowed) KiB")
    }
}
