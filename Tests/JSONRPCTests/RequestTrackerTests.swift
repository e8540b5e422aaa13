import Posix
import TestSupport
import Testing

@testable import JSONRPC

/// What the tracker did with the messages a test admitted: which started, under which token,
/// which were dropped, which were cancelled.
final class TrackerLog: Sendable {
    private let log = Locked<(started: [String], tokens: [String: RequestTracker.Token], dropped: [String], cancelled: [String])>(([], [:], [], []))

    var started: [String] { log.withLock { $0.started } }
    var dropped: [String] { log.withLock { $0.dropped } }
    var cancelled: [String] { log.withLock { $0.cancelled } }
    func token(_ name: String) -> RequestTracker.Token? { log.withLock { $0.tokens[name] } }

    /// A message named `name` that, once started, is tracked under `id` (when `tracked`).
    func message(
        _ name: String, id: JSONValue? = nil, cost: Int = 100, batch: Bool = false, tracked: Bool = true, in tracker: RequestTracker
    ) -> RequestTracker.Pending {
        RequestTracker.Pending(
            id: id, cost: cost, isBatch: batch,
            start: { [self] token in
                log.withLock {
                    $0.started.append(name)
                    $0.tokens[name] = token
                }
                if tracked { tracker.track(token, id: id, cancel: { self.log.withLock { $0.cancelled.append(name) } }) }
            },
            dropped: { [self] in log.withLock { $0.dropped.append(name) } })
    }
}

/// Whether the output has room, as a test decides.
final class OutputRoom: Sendable {
    private let room = Locked(true)
    var hasRoom: Bool {
        get { room.withLock { $0 } }
        set { room.withLock { $0 = newValue } }
    }
}

/// The tracker alone: no connection, no pipes, no threads but the one test of blocking.
@Suite struct RequestTrackerTests {
    static func tracker(maxInFlight: Int = 2, maxQueuedCost: Int = 1000, room: OutputRoom = OutputRoom()) -> RequestTracker {
        RequestTracker(maxInFlight: maxInFlight, maxQueuedCost: maxQueuedCost) { room.hasRoom }
    }

    @Test func startsUpToTheLimitThenQueuesInArrivalOrder() {
        let tracker = Self.tracker()
        let log = TrackerLog()
        for name in ["a", "b", "c", "d"] { tracker.admit(log.message(name, in: tracker)) }
        #expect(log.started == ["a", "b"])
        #expect(tracker.books.inFlight == 2)
        #expect(tracker.books.waiting == 2)
        #expect(tracker.books.queuedCost == 200)
        #expect(tracker.books.tracked == 2)

        // A finished message hands its slot to the oldest waiting one.
        tracker.finish(log.token("b")!)
        #expect(log.started == ["a", "b", "c"])
        #expect(tracker.books.inFlight == 2)
        #expect(tracker.books.queuedCost == 100)
        tracker.finish(log.token("a")!)
        tracker.finish(log.token("c")!)
        tracker.finish(log.token("d")!)
        #expect(log.started == ["a", "b", "c", "d"])
        #expect(Set(["a", "b", "c", "d"].compactMap(log.token)).count == 4, "every message has a token of its own")
        #expect(tracker.books == .init(inFlight: 0, waiting: 0, queuedCost: 0, tracked: 0, finishedUntracked: 0, batchRunning: false))
    }

    /// With a free slot but a message waiting, a new one waits behind it: arrival order holds.
    @Test func aNewMessageNeverOvertakesAWaitingOne() {
        let room = OutputRoom()
        let tracker = Self.tracker(maxInFlight: 1, room: room)
        let log = TrackerLog()
        tracker.admit(log.message("a", in: tracker))
        tracker.admit(log.message("b", in: tracker))
        room.hasRoom = false
        tracker.finish(log.token("a")!)  // no room: "b" keeps waiting, the slot is freed
        #expect(tracker.books.inFlight == 0 && tracker.books.waiting == 1)
        tracker.admit(log.message("c", in: tracker))
        #expect(log.started == ["a"])
        room.hasRoom = true
        tracker.startQueued()
        #expect(log.started == ["a", "b"], "one slot: one started")
        tracker.finish(log.token("b")!)
        #expect(log.started == ["a", "b", "c"])
    }

    /// While the output is past its bound, nothing waiting starts; when it has room again,
    /// `startQueued` fills the free slots and no more.
    @Test func waitingMessagesStartOnlyWhileTheOutputHasRoom() {
        let room = OutputRoom()
        let tracker = Self.tracker(maxInFlight: 3, room: room)
        let log = TrackerLog()
        for name in ["a", "b", "c", "d", "e", "f"] { tracker.admit(log.message(name, in: tracker)) }
        room.hasRoom = false
        tracker.finish(log.token("a")!)
        tracker.finish(log.token("b")!)
        tracker.startQueued()
        #expect(log.started == ["a", "b", "c"])
        #expect(tracker.books.inFlight == 1)
        room.hasRoom = true
        tracker.startQueued()
        #expect(log.started == ["a", "b", "c", "d", "e"])
        #expect(tracker.books.inFlight == 3)
        #expect(tracker.books.waiting == 1)
    }

    /// One batch at a time, whatever the free slots; a batch's entries have tokens of their
    /// own, and only the batch's finish frees the batch slot.
    @Test func batchesRunOneAtATime() {
        let tracker = Self.tracker(maxInFlight: 8)
        let log = TrackerLog()
        tracker.admit(log.message("batch1", batch: true, in: tracker))
        tracker.admit(log.message("batch2", batch: true, in: tracker))
        tracker.admit(log.message("single", in: tracker))
        #expect(log.started == ["batch1"])
        #expect(tracker.books.batchRunning)
        let entry = tracker.newToken()
        tracker.track(entry, id: 1, cancel: {})
        tracker.untrack(entry)
        tracker.startQueued()
        #expect(log.started == ["batch1"], "the second batch waits for the first, and the single call behind it too")
        tracker.finish(log.token("batch1")!)
        #expect(log.started == ["batch1", "batch2"])
        tracker.startQueued()
        #expect(log.started == ["batch1", "batch2", "single"])
        tracker.finish(log.token("batch2")!)
        #expect(!tracker.books.batchRunning)
    }

    /// `cancel(id:)` reaches running calls and waiting ones with that id, and nothing else.
    @Test func cancelReachesRunningAndWaitingCallsByID() {
        let tracker = Self.tracker(maxInFlight: 2)
        let log = TrackerLog()
        tracker.admit(log.message("run1", id: 1, in: tracker))
        tracker.admit(log.message("run2", id: "x", in: tracker))
        tracker.admit(log.message("wait1", id: 1, cost: 300, in: tracker))
        tracker.admit(log.message("wait3", id: 3, cost: 50, in: tracker))
        tracker.admit(log.message("notification", id: nil, cost: 70, in: tracker))
        tracker.cancel(id: 1)
        #expect(log.cancelled == ["run1"])
        #expect(log.dropped == ["wait1"])
        #expect(tracker.books.waiting == 2)
        #expect(tracker.books.queuedCost == 120)
        tracker.cancel(id: .null)  // a request may have the id null; a notification has none
        #expect(log.cancelled == ["run1"] && log.dropped == ["wait1"])
        tracker.finish(log.token("run1")!)
        #expect(log.started == ["run1", "run2", "wait3"], "a dropped message never starts")
    }

    /// `exit`: every waiting message is dropped, every running call cancelled.
    @Test func cancelAllDropsTheWaitingAndCancelsTheRunning() async {
        let tracker = Self.tracker(maxInFlight: 1)
        let log = TrackerLog()
        tracker.admit(log.message("run", id: 1, in: tracker))
        tracker.admit(log.message("wait1", id: 2, in: tracker))
        tracker.admit(log.message("wait2", in: tracker))
        tracker.cancelAll()
        #expect(log.dropped == ["wait1", "wait2"])
        #expect(log.cancelled == ["run"])
        #expect(tracker.books.waiting == 0 && tracker.books.queuedCost == 0)
        tracker.finish(log.token("run")!)
        await tracker.waitUntilIdle()
        #expect(log.started == ["run"])
    }

    /// A task can end before its start has tracked it: the late `track` must not leave a
    /// stale entry behind (it would be "cancelled" by a later request with the same id).
    @Test func workFinishedBeforeItIsTrackedIsNotTracked() {
        let tracker = Self.tracker()
        let log = TrackerLog()
        tracker.admit(log.message("quick", id: 7, tracked: false, in: tracker))
        let token = log.token("quick")!
        tracker.finish(token)
        #expect(tracker.books.finishedUntracked == 1)
        tracker.track(token, id: 7, cancel: { Issue.record("a finished call was cancelled") })
        #expect(tracker.books.tracked == 0)
        #expect(tracker.books.finishedUntracked == 0)
        tracker.cancel(id: 7)
    }

    @Test func waitUntilIdleReturnsWhenTheLastMessageIsDone() async throws {
        let tracker = Self.tracker(maxInFlight: 1)
        let log = TrackerLog()
        await tracker.waitUntilIdle()  // idle at once
        tracker.admit(log.message("a", in: tracker))
        tracker.admit(log.message("b", in: tracker))
        let done = Locked(false)
        let waiter = Task {
            await tracker.waitUntilIdle()
            done.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(50))
        tracker.finish(log.token("a")!)
        try await Task.sleep(for: .milliseconds(50))
        #expect(!done.withLock { $0 }, "b started in a's slot and runs")
        tracker.finish(log.token("b")!)
        await waiter.value
        #expect(done.withLock { $0 })
    }

    /// The admitting thread is held while the waiting messages cost more than the bound,
    /// writes what it holds before each sleep, and goes on once one of them starts.
    @Test func theAdmittingThreadWaitsWhileTheQueueIsOverItsBound() async throws {
        let tracker = Self.tracker(maxInFlight: 1, maxQueuedCost: 250)
        let log = TrackerLog()
        tracker.admit(log.message("run", in: tracker))
        tracker.admit(log.message("w1", cost: 200, in: tracker))
        #expect(!tracker.queueIsOverBound)
        tracker.admit(log.message("w2", cost: 200, in: tracker))
        #expect(tracker.queueIsOverBound)

        let state = Locked((sleeps: 0, resumed: false))
        DetachedThread.start(name: "test admitting") {
            tracker.waitForRoomInQueue { state.withLock { $0.sleeps += 1 } }
            state.withLock { $0.resumed = true }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(state.withLock { $0.sleeps } >= 1)
        #expect(!state.withLock { $0.resumed }, "the admitting thread went on over the bound")
        tracker.finish(log.token("run")!)  // w1 starts: 200 of cost left
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
        while !state.withLock({ $0.resumed }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(state.withLock { $0.resumed })
        #expect(!tracker.queueIsOverBound)
    }

    /// A waiting message dropped by `cancel(id:)` frees its cost, and the admitting thread too.
    @Test func aCancelledWaitingMessageLetsTheAdmittingThreadGoOn() async throws {
        let tracker = Self.tracker(maxInFlight: 1, maxQueuedCost: 100)
        let log = TrackerLog()
        tracker.admit(log.message("run", in: tracker))
        tracker.admit(log.message("big", id: "big", cost: 500, in: tracker))
        let resumed = Locked(false)
        DetachedThread.start(name: "test admitting") {
            tracker.waitForRoomInQueue {}
            resumed.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!resumed.withLock { $0 })
        tracker.cancel(id: "big")
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
        while !resumed.withLock({ $0 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(resumed.withLock { $0 })
        #expect(log.dropped == ["big"])
        #expect(log.started == ["run"])
    }
}
