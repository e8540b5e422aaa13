import Foundation
import JSONRPC
import Posix
import TestSupport
import Testing

/// How many calls run at once, and the most that ever did.
final class Concurrency: Sendable {
    private let counts = Locked<(now: Int, peak: Int, total: Int)>((0, 0, 0))
    func enter() { counts.withLock { $0.now += 1; $0.total += 1; $0.peak = max($0.peak, $0.now) } }
    func leave() { counts.withLock { $0.now -= 1 } }
    var peak: Int { counts.withLock { $0.peak } }
    var total: Int { counts.withLock { $0.total } }
}

/// A batch's answer is one array, held until its last entry is done: what a batch may cost is
/// bounded by the limits, not by what it asks for.
@Suite(.timeLimit(.minutes(3 * TestTime.scale))) struct BatchBoundsTests {
    static let answerBytes = 16 << 10

    static func methods(_ running: Concurrency, gate: Gate? = nil) -> MethodTable {
        var table = MethodTable()
        let answer = JSONValue.string(String(repeating: "a", count: answerBytes))
        table.register("big") { _, _ in
            running.enter()
            defer { running.leave() }
            if let gate { try await gate.wait() }
            try await Task.sleep(for: .milliseconds(1))
            return answer
        }
        return table
    }

    /// Past `maxMessageBytes` of answer, a batch's later entries are not run: each answers
    /// -32600 limitExceeded with its id; at most `maxInFlight` entries run at once.
    @Test func aBatchStopsRunningEntriesOnceItsAnswerPassesTheBound() async throws {
        let running = Concurrency()
        let limits = Limits(maxMessageBytes: 64 << 10, maxInFlight: 4)
        let server = InProcessServer(methods: Self.methods(running), limits: limits)
        let batch = "[" + (0..<40).map { Wire.request("big", id: $0) }.joined(separator: ",") + "]"
        server.send(Wire.ndjson(batch))
        let answer = try await server.reader.next(timeout: TestTime.bound(.seconds(60)))
        let entries = answer.array
        #expect(Set(entries.compactMap { $0["id"] as? Int }) == Set(0..<40), "every entry is answered")
        let ran = entries.filter { ($0["result"] as? String)?.utf8.count == Self.answerBytes }.count
        let refused = entries.filter { (($0["error"] as? [String: Any])?["data"] as? [String: Any])?["limit"] as? String == "batchAnswerBytes" }
        // 64 KiB of 16 KiB answers: the fifth passes the bound; the window had started 4 more.
        #expect(ran >= 4 && ran <= 9, "\(ran) entries ran")
        #expect(ran + refused.count == 40)
        #expect(refused.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? Int == -32600 })
        #expect(running.total == ran, "a refused entry ran")
        #expect(running.peak <= 4, "\(running.peak) entries ran at once")
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// One batch runs at a time: a second waits for the first, then runs.
    @Test func batchesRunOneAtATime() async throws {
        let running = Concurrency()
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(running, gate: gate), limits: Limits(maxInFlight: 8))
        for batch in 0..<3 {
            server.send(Wire.ndjson("[" + (0..<4).map { Wire.request("big", id: "\(batch)-\($0)") }.joined(separator: ",") + "]"))
        }
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while running.total < 4 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(running.total == 4, "\(running.total) entries started while the first batch held its slot")
        gate.release()
        let answers = try await server.reader.next(3, timeout: TestTime.bound(.seconds(60)))
        #expect(answers.allSatisfy { $0.array.count == 4 })
        #expect(running.peak == 4)
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// A $/cancelRequest reaches an entry still waiting for the batch's window: it never runs.
    @Test func aWaitingEntryCancelledNeverRuns() async throws {
        let running = Concurrency()
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(running, gate: gate), limits: Limits(maxInFlight: 2))
        server.send(Wire.ndjson("[" + (0..<6).map { Wire.request("big", id: $0) }.joined(separator: ",") + "]"))
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while running.total < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        server.send(line: Wire.request("$/cancelRequest", params: ["id": 5]))
        try await Task.sleep(for: .milliseconds(200))
        gate.release()
        let entries = try await server.reader.next(timeout: TestTime.bound(.seconds(60))).array
        let byID = Dictionary(uniqueKeysWithValues: entries.map { ($0["id"] as? Int ?? -1, $0) })
        #expect((byID[5]?["error"] as? [String: Any])?["code"] as? Int == -32800)
        #expect((0..<5).allSatisfy { byID[$0]?["result"] != nil })
        #expect(running.total == 5 && running.peak <= 2)
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }
}
