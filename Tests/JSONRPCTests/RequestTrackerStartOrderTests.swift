import Dispatch
import Posix
import Testing

@testable import JSONRPC

/// Waiting messages start in the order they arrived, whoever starts them: a running call that
/// finishes hands its slot to the next (the thread it finished on), and the output coming back
/// within its bound starts more (the output thread). The writes of one connection go to their
/// lane in that order, and are applied in it (README). A message used to be taken off the queue
/// under the tracker's lock and started after it, so two threads could start two in the other
/// order: a lane shared by two connections answered one out of order under load.
@Suite struct RequestTrackerStartOrderTests {
    @Test func messagesStartInArrivalOrderWhicheverThreadsStartThem() async throws {
        let count = 200_000
        let tracker = RequestTracker(maxInFlight: 64, maxQueuedCost: .max) { true }
        let started = Locked<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        // Each message, once started, finishes at once on another thread: many threads finish
        // and start the next ones at the same moment, while another starts queued ones too.
        func message(_ index: Int) -> RequestTracker.Pending {
            RequestTracker.Pending(
                id: nil, cost: 1, isBatch: false,
                start: { token in
                    // As a lane call starts: tracked first (the tracker's lock again), then handed on.
                    tracker.track(token, id: nil, cancel: {})
                    let all = started.withLock { started -> Int in
                        started.append(index)
                        return started.count
                    }
                    if all == count { done.signal() }
                    DispatchQueue.global().async { tracker.finish(token) }
                },
                dropped: {})
        }
        // Four that run and never finish by themselves, so the rest wait in the queue...
        let tokens = Locked<[RequestTracker.Token]>([])
        for _ in 0..<64 {
            tracker.admit(RequestTracker.Pending(id: nil, cost: 1, isBatch: false, start: { token in tokens.withLock { $0.append(token) } }, dropped: {}))
        }
        for index in 0..<count { tracker.admit(message(index)) }
        // ...until they finish, and the output thread's start runs beside the finishing threads.
        let prodding = DispatchQueue(label: "prod")
        let stop = Locked(false)
        prodding.async { while !stop.withLock({ $0 }) { tracker.startQueued() } }
        for token in tokens.withLock({ $0 }) { DispatchQueue.global().async { tracker.finish(token) } }
        let waited = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: done.wait(timeout: .now() + 120)) }
        }
        stop.withLock { $0 = true }
        #expect(waited == .success, "not every message started")
        let order = started.withLock { $0 }
        let inversions = zip(order, order.dropFirst()).filter { $0 > $1 }.count
        #expect(order.count == count && inversions == 0, "\(inversions) started before one that arrived before them")
    }
}
