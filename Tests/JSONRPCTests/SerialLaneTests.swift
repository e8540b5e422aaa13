import Dispatch
import Foundation
import JSONRPC
import Posix
import TestSupport
import Testing

/// A gate a lane's handler blocks on (a thread of its own may block) until the test opens it.
final class BlockingGate: Sendable {
    private let opened = DispatchSemaphore(value: 0)
    private let entered = Locked(0)

    /// Blocks until `release`; counts the callers that got here.
    func wait() {
        entered.withLock { $0 += 1 }
        opened.wait()
        opened.signal()
    }

    func release() { opened.signal() }

    /// Waits (polling) until `count` callers are blocked in `wait`.
    func waitForEntered(_ count: Int) async throws {
        let deadline = ContinuousClock.now + SerialLaneTests.patience
        while entered.withLock({ $0 }) < count {
            if ContinuousClock.now >= deadline { throw PeerError.timeout }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// Where calls of a `BlockingHandler` run, and what cancelling them does: the lane's thread,
/// never a task; in the order they came; never if cancelled before they start. The servers run
/// in the test process, whose cooperative pool a loaded suite can starve for many seconds:
/// waits are long, and the suite's time limit is what fails a server that hangs.
@Suite(.timeLimit(.minutes(3 * TestTime.scale))) struct SerialLaneTests {
    /// How long to wait for one answer.
    static let patience = TestTime.bound(.seconds(90))

    /// Records, per call, whether it ran on `lane`'s thread outside any task.
    final class Places: Sendable {
        private let places = Locked<[String]>([])
        func add(_ place: String) { places.withLock { $0.append(place) } }
        var all: [String] { places.withLock { $0 } }
    }

    /// `where` answers where it ran; `blocked` waits on the gate, and commits (answers even if
    /// cancelled) when its param says so; `counted` counts its runs; `small` answers ~40 bytes.
    static func methods(lane: SerialLane, gate: BlockingGate, places: Places, calls: CallCount) -> MethodTable {
        var table = MethodTable()
        table.register("where", on: lane) { _, _ in
            let inTask = withUnsafeCurrentTask { $0 != nil }
            let place = lane.isCurrent && !inTask ? "lane" : "elsewhere"
            places.add(place)
            return .string(place)
        }
        table.register("blocked", on: lane) { params, context in
            if case .object(let members) = params.value, members["commit"] == .bool(true) { context.answerEvenIfCancelled() }
            gate.wait()
            calls.add()
            return "unblocked"
        }
        table.register("counted", on: lane) { _, _ in
            calls.add()
            return "counted"
        }
        table.register("small", on: lane) { _, _ in "s" }
        return table
    }

    @Test func aBlockingCallRunsOnItsLaneAloneInBatchesToo() async throws {
        let lane = SerialLane(name: "test lane")
        let places = Places()
        let server = InProcessServer(methods: Self.methods(lane: lane, gate: BlockingGate(), places: places, calls: CallCount()))
        let alone = try await { server.send(line: Wire.request("where", id: 1)); return try await server.reader.next(timeout: Self.patience) }()
        #expect(alone.object["result"] as? String == "lane")
        let batch = "[" + (2..<6).map { Wire.request("where", id: $0) }.joined(separator: ",") + "]"
        server.send(line: batch)
        let answers = try await server.reader.next(timeout: Self.patience).array
        #expect(answers.count == 4 && answers.allSatisfy { $0["result"] as? String == "lane" }, "\(answers)")
        #expect(places.all == Array(repeating: "lane", count: 5))
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// One lane runs its calls one at a time in the order they came, so their answers come in
    /// that order too.
    @Test func aLanesAnswersComeInTheOrderItsCallsCame() async throws {
        let lane = SerialLane(name: "test lane")
        let server = InProcessServer(methods: Self.methods(lane: lane, gate: BlockingGate(), places: Places(), calls: CallCount()))
        var requests: [UInt8] = []
        for id in 0..<300 { requests += Wire.ndjson(Wire.request("counted", id: id)) }
        server.send(requests)
        let answers = try await server.reader.next(300, timeout: Self.patience)
        #expect(answers.compactMap { $0.object["id"] as? Int } == Array(0..<300))
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// A call waiting on its lane behind a slow one, cancelled, answers -32800 and never runs,
    /// alone or in a batch; one cancelled while it runs answers -32800 unless it committed, and
    /// then answers what it did.
    @Test func aCallCancelledBeforeItsLaneStartsItNeverRuns() async throws {
        let lane = SerialLane(name: "test lane")
        let gate = BlockingGate()
        let calls = CallCount()
        let server = InProcessServer(methods: Self.methods(lane: lane, gate: gate, places: Places(), calls: CallCount()).adding(calls: calls, lane: lane))
        server.send(line: Wire.request("blocked", id: "running", params: ["commit": true]))
        try await gate.waitForEntered(1)
        let batch = "[" + Wire.request("counted", id: "b1") + "," + Wire.request("counted", id: "b2") + "]"
        server.send(line: Wire.request("counted", id: "waiting"))
        server.send(line: batch)
        server.send(line: Wire.request("counted", id: "kept"))
        // Given time to reach the lane: a cancel must find them queued there, not in the tracker.
        try await Task.sleep(for: .milliseconds(200))
        for id in ["waiting", "b1", "running"] { server.send(line: Wire.request("$/cancelRequest", params: ["id": id])) }
        try await Task.sleep(for: .milliseconds(200))
        gate.release()
        var byID: [String: [String: Any]] = [:]
        for answer in try await server.reader.next(4, timeout: Self.patience) {
            for object in [answer.object] + answer.array { if let id = object["id"] as? String { byID[id] = object } }
        }
        func code(_ id: String) -> Int? { (byID[id]?["error"] as? [String: Any])?["code"] as? Int }
        #expect(byID["running"]?["result"] as? String == "unblocked", "a committed call answers what it did")
        #expect(code("waiting") == -32800)
        #expect(code("b1") == -32800)
        #expect(byID["b2"]?["result"] as? String == "counted")
        #expect(byID["kept"]?["result"] as? String == "counted")
        #expect(calls.value == 2, "only b2 and kept ran, not the cancelled calls")
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// A call cancelled while it runs, which did not commit, answers -32800.
    @Test func aCallCancelledWhileItRunsWithoutCommittingAnswersCancelled() async throws {
        let lane = SerialLane(name: "test lane")
        let gate = BlockingGate()
        let server = InProcessServer(methods: Self.methods(lane: lane, gate: gate, places: Places(), calls: CallCount()))
        server.send(line: Wire.request("blocked", id: 1))
        try await gate.waitForEntered(1)
        server.send(line: Wire.request("$/cancelRequest", params: ["id": 1]))
        try await Task.sleep(for: .milliseconds(100))
        gate.release()
        #expect(try await server.reader.next(timeout: Self.patience).errorCode == -32800)
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    /// A lane shared by two connections writes small answers itself only when the descriptor
    /// takes them at once: a peer that does not read holds up its own connection, never the
    /// lane, and the other connection's calls on it are answered.
    @Test func aPeerThatDoesNotReadNeverHoldsUpTheLane() async throws {
        let lane = SerialLane(name: "test lane")
        let table = Self.methods(lane: lane, gate: BlockingGate(), places: Places(), calls: CallCount())
        let limits = Limits(maxMessageBytes: 64 << 10, maxInFlight: 8)
        let stuck = InProcessServer(methods: table, limits: limits, readingAtOnce: false)
        // Far more small answers than a pipe holds (about 40 bytes each: 400 KiB).
        var requests: [UInt8] = []
        for id in 0..<10_000 { requests += Wire.ndjson(Wire.request("small", id: id)) }
        stuck.send(requests)
        try await Task.sleep(for: .milliseconds(500))
        let other = InProcessServer(methods: table, limits: limits)
        other.send(line: Wire.request("small", id: "other"))
        let answer = try await other.reader.next(timeout: Self.patience)
        #expect(answer.object["result"] as? String == "s")
        other.closeInput()
        #expect(await other.ending() == .endOfInput)
        // The ids read as text, not parsed: 10,000 parses would hog the pool the suite shares.
        var outOfOrder: [String] = []
        for index in 0..<10_000 {
            let text = try await stuck.reader.next(timeout: Self.patience).text
            if !text.contains("\"id\":\(index),") { outOfOrder.append(text) }
            if index % 256 == 0 { await Task.yield() }
        }
        #expect(outOfOrder.isEmpty, "\(outOfOrder.count) answers out of order or wrong, e.g. \(outOfOrder.prefix(3))")
        stuck.closeInput()
        #expect(await stuck.ending() == .endOfInput)
    }
}

extension MethodTable {
    /// `counted` again, counting in `calls`.
    fileprivate func adding(calls: CallCount, lane: SerialLane) -> MethodTable {
        var table = self
        table.register("counted", on: lane) { _, _ in
            calls.add()
            return "counted"
        }
        return table
    }
}
