import Foundation
import JSONRPC
import Logging
import Posix
import TestSupport
import Testing

/// How many times the methods ran.
final class CallCount: Sendable {
    private let count = Locked(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The server runs in the test process, on the cooperative pool every other test shares: a
/// loaded suite can starve it for many seconds. Waits are long, and the suite's time limit is
/// what fails a server that hangs.
@Suite(.timeLimit(.minutes(3 * TestTime.scale))) struct OutputBackPressureTests {
    /// How long to wait for one answer.
    static let patience = TestTime.bound(.seconds(90))

    static let answerBytes = 16 << 10
    static let limits = Limits(maxMessageBytes: 64 << 10, maxInFlight: 4)

    /// `big` (a task), `bigNow` (answered on the input thread) and `bigOnLane` (on a lane)
    /// each answer 16 KiB and count their calls; `huge` answers 256 KiB, four times the bound.
    static func methods(calls: CallCount) -> MethodTable {
        var table = MethodTable()
        let answer = JSONValue.string(String(repeating: "a", count: answerBytes))
        table.register("big") { _, _ in
            calls.add()
            return answer
        }
        table.register("bigOnLane", on: SerialLane(name: "test lane")) { _, _ in
            calls.add()
            return answer
        }
        table.register("bigNow", immediate: { _ in
            calls.add()
            return answer
        }, otherwise: { _, _ in answer })
        table.register("huge") { _, _ in .string(String(repeating: "h", count: 256 << 10)) }
        return table
    }

    /// Waits until `calls` has not moved for 300 ms (the server is blocked, or done).
    static func settled(_ calls: CallCount) async throws -> Int {
        var last = -1
        var still = 0
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(20))
        while ContinuousClock.now < deadline {
            let now = calls.value
            still = now == last ? still + 1 : 0
            if still >= 6 { return now }
            last = now
            try await Task.sleep(for: .milliseconds(50))
        }
        return calls.value
    }

    /// What may be answered while nobody reads: the bound's worth of answers, one more that
    /// passed it, one answer per slot in flight, what fits in the pipe, one the writing thread
    /// holds, and as many again for timing. 200 requests are sent; without back-pressure every
    /// one is answered.
    static var mostAnsweredUnread: Int {
        limits.maxMessageBytes / answerBytes + 1 + limits.maxInFlight + (64 << 10) / answerBytes + 1 + 4
    }

    @Test(arguments: ["big", "bigNow", "bigOnLane"])
    func aClientThatDoesNotReadStopsTheServerThenGetsEveryAnswer(method: String) async throws {
        let calls = CallCount()
        let server = InProcessServer(methods: Self.methods(calls: calls), limits: Self.limits, readingAtOnce: false)
        let count = 200
        var requests: [UInt8] = []
        for id in 0..<count { requests += Wire.ndjson(Wire.request(method, id: id)) }
        server.send(requests)
        let answeredUnread = try await Self.settled(calls)
        #expect(answeredUnread <= Self.mostAnsweredUnread, "\(answeredUnread) of \(count) answered while nobody read")
        #expect(answeredUnread > 0)
        print("\(method): \(answeredUnread) of \(count) answered while nobody read (at most \(Self.mostAnsweredUnread) allowed)")
        let answers = try await server.reader.next(count, timeout: Self.patience)
        #expect(calls.value == count)
        #expect(Set(answers.compactMap { $0.object["id"] as? Int }) == Set(0..<count))
        #expect(answers.allSatisfy { ($0.object["result"] as? String)?.utf8.count == Self.answerBytes })
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// Calls queued behind a slow one do not all start when it finishes if nobody reads: each
    /// waits for the output to have room, like the input.
    @Test func queuedCallsWaitForRoomInTheOutputToo() async throws {
        let gate = Gate()
        let calls = CallCount()
        var table = Self.methods(calls: calls)
        table.register("slow") { _, _ in
            try await gate.wait()
            return "slow done"
        }
        let server = InProcessServer(methods: table, limits: Limits(maxMessageBytes: Self.limits.maxMessageBytes, maxInFlight: 1), readingAtOnce: false)
        var requests = Wire.ndjson(Wire.request("slow", id: "slow"))
        for id in 0..<200 { requests += Wire.ndjson(Wire.request("big", id: id)) }
        server.send(requests)
        try await Task.sleep(for: .milliseconds(300))
        #expect(calls.value == 0, "a call started while the slow one held the only slot")
        gate.release()
        let answeredUnread = try await Self.settled(calls)
        #expect(answeredUnread > 0 && answeredUnread <= Self.mostAnsweredUnread, "\(answeredUnread) queued calls ran while nobody read")
        let answers = try await server.reader.next(201, timeout: Self.patience)
        #expect(Set(answers.compactMap { $0.object["id"] as? Int }) == Set(0..<200))
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// An answer larger than the bound (one request, and a batch whose answer passes it) is
    /// still sent whole, and the requests behind it are answered after it.
    @Test func anAnswerLargerThanTheBoundIsStillSent() async throws {
        let calls = CallCount()
        let server = InProcessServer(methods: Self.methods(calls: calls), limits: Self.limits, readingAtOnce: false)
        let batch = "[" + (0..<8).map { Wire.request("big", id: "b\($0)") }.joined(separator: ",") + "]"
        server.send(Wire.ndjson(Wire.request("huge", id: "huge")) + Wire.ndjson(batch) + Wire.ndjson(Wire.request("big", id: "after")))
        server.closeInput()
        let answers = try await server.reader.next(3, timeout: Self.patience)
        let huge = answers.first { $0.object["id"] as? String == "huge" }
        #expect((huge?.object["result"] as? String)?.utf8.count == 256 << 10)
        let entries = answers.first { !$0.array.isEmpty }?.array ?? []
        // Sent whole: the entries that ran before the answer passed the bound (the window of 4
        // started first, and the fifth passes it), and limitExceeded for those never started.
        let ran = entries.filter { ($0["result"] as? String)?.utf8.count == Self.answerBytes }.count
        let refused = entries.filter { ($0["error"] as? [String: Any])?["code"] as? Int == -32600 }.count
        #expect(entries.count == 8 && ran >= 4 && ran + refused == 8, "\(ran) ran, \(refused) refused")
        #expect(answers.contains { $0.object["id"] as? String == "after" })
        #expect(await server.ending() == .endOfInput)
    }

    /// The answer to the last line of input, past the bound on its own, is written at once, so
    /// the calls queued behind a slow one still run after it: nothing waits on an answer that
    /// nobody announced.
    @Test func anAnswerPastTheBoundToTheLastLineIsWrittenAndTheQueueRuns() async throws {
        let gate = Gate()
        var table = Self.methods(calls: CallCount())
        table.register("slow") { _, _ in
            try await gate.wait()
            return "slow done"
        }
        let huge = JSONValue.string(String(repeating: "h", count: 256 << 10))
        table.register("hugeNow", immediate: { _ in huge }, otherwise: { _, _ in huge })
        let server = InProcessServer(methods: table, limits: Limits(maxMessageBytes: 64 << 10, maxInFlight: 1), readingAtOnce: false)
        let reader = server.reader
        server.send(
            Wire.ndjson(Wire.request("slow", id: "slow")) + Wire.ndjson(Wire.request("big", id: "queued"))
                + Array(Wire.request("hugeNow", id: "huge").utf8))
        server.closeInput()
        let first = try await reader.next(timeout: Self.patience)
        #expect(first.object["id"] as? String == "huge")
        gate.release()
        let rest = try await reader.next(2, timeout: Self.patience)
        #expect(Set(rest.compactMap { $0.object["id"] as? String }) == ["slow", "queued"])
        #expect(await server.ending() == .endOfInput)
    }

    /// End of input while the server is held back: everything is still answered, then it ends.
    @Test func endOfInputWhileHeldBackAnswersEverything() async throws {
        let calls = CallCount()
        let server = InProcessServer(methods: Self.methods(calls: calls), limits: Self.limits, readingAtOnce: false)
        for id in 0..<60 { server.send(Wire.ndjson(Wire.request(id.isMultiple(of: 2) ? "big" : "bigNow", id: id))) }
        server.closeInput()
        _ = try await Self.settled(calls)
        #expect(calls.value < 60)
        let answers = try await server.reader.drain(timeout: Self.patience)
        #expect(answers.count == 60)
        #expect(await server.ending() == .endOfInput)
    }

    /// A client that closes its end of the output while the server is held back: the answers
    /// are dropped, the rest of the input is read, and the server ends at end of input.
    @Test func aClientThatStopsReadingForGoodDoesNotHangTheServer() async throws {
        let calls = CallCount()
        let server = InProcessServer(methods: Self.methods(calls: calls), limits: Self.limits, readingAtOnce: false)
        var requests: [UInt8] = []
        for id in 0..<100 { requests += Wire.ndjson(Wire.request("big", id: id)) }
        server.send(requests)
        _ = try await Self.settled(calls)
        server.stopReading()
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
        #expect(calls.value == 100)
    }
}
