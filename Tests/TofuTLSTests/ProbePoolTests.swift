import Dispatch
import Foundation
import Posix
import TestSupport
import Testing
import TofuCore

@testable import TofuTLS

/// The pool every probe runs on: bounded, first come first served, and a waiting job can be
/// taken out at once.
@Suite struct ProbePoolTests {
    /// Jobs that block until released, recording how many run at once and in which order they start.
    final class Recorder: Sendable {
        private let state = Locked<(running: Int, peak: Int, started: [Int])>((0, 0, []))
        let release = DispatchSemaphore(value: 0)

        func job(_ index: Int) -> @Sendable () -> Void {
            { [self] in
                state.withLock { state in
                    state.running += 1
                    state.peak = max(state.peak, state.running)
                    state.started.append(index)
                }
                release.wait()
                state.withLock { $0.running -= 1 }
            }
        }

        var running: Int { state.withLock { $0.running } }
        var peak: Int { state.withLock { $0.peak } }
        var started: [Int] { state.withLock { $0.started } }
    }

    static func eventually(_ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func atMostTheLimitRunAndTheRestStartInArrivalOrder() async throws {
        let pool = ProbePool(limit: 3)
        let recorder = Recorder()
        for index in 0..<12 { pool.submit(recorder.job(index), refuse: { _ in Issue.record("refused") }) }
        try await Self.eventually { recorder.running == 3 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(recorder.running == 3)
        #expect(pool.load.threads == 3 && pool.load.waiting == 9)
        for _ in 0..<12 { recorder.release.signal() }
        try await Self.eventually { recorder.started.count == 12 && recorder.running == 0 }
        #expect(recorder.peak == 3)
        // The first three start together in any order; after them, strictly in arrival order.
        #expect(Set(recorder.started.prefix(3)) == [0, 1, 2])
        #expect(Array(recorder.started.dropFirst(3)) == Array(3..<12))
    }

    @Test func aRemovedJobNeverRuns() async throws {
        let pool = ProbePool(limit: 1)
        let recorder = Recorder()
        pool.submit(recorder.job(0), refuse: { _ in })
        let second = pool.submit(recorder.job(1), refuse: { _ in })
        pool.submit(recorder.job(2), refuse: { _ in })
        try await Self.eventually { recorder.running == 1 }
        #expect(pool.remove(second))
        #expect(!pool.remove(second))
        #expect(pool.load.waiting == 1)
        for _ in 0..<3 { recorder.release.signal() }
        try await Self.eventually { recorder.started.count == 2 && recorder.running == 0 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(recorder.started == [0, 2])
    }

    @Test func idleThreadsEndAndNewWorkStartsThemAgain() async throws {
        let pool = ProbePool(limit: 4, idleMilliseconds: 50)
        let recorder = Recorder()
        for index in 0..<4 { pool.submit(recorder.job(index), refuse: { _ in }) }
        try await Self.eventually { recorder.running == 4 }
        for _ in 0..<4 { recorder.release.signal() }
        try await Self.eventually { pool.load.threads == 0 }
        #expect(pool.load.threads == 0)
        pool.submit(recorder.job(4), refuse: { _ in })
        recorder.release.signal()
        try await Self.eventually { recorder.started.count == 5 }
        #expect(recorder.started.count == 5)
    }

    @Test func raisingTheLimitStartsWaitingJobs() async throws {
        let pool = ProbePool(limit: 1)
        let recorder = Recorder()
        for index in 0..<3 { pool.submit(recorder.job(index), refuse: { _ in }) }
        try await Self.eventually { recorder.running == 1 }
        pool.limit = 3
        try await Self.eventually { recorder.running == 3 }
        #expect(recorder.running == 3)
        for _ in 0..<3 { recorder.release.signal() }
        try await Self.eventually { recorder.running == 0 }
    }

    /// A probe waiting for a thread answers a cancellation while the pool's only thread is still
    /// busy (so without ever running), and leaves the queue.
    @Test func cancellingAWaitingProbeAnswersAtOnce() async throws {
        let pool = ProbePool(limit: 1)
        let recorder = Recorder()
        pool.submit(recorder.job(0), refuse: { _ in })
        try await Self.eventually { recorder.running == 1 }
        let host = try HostKey(parsing: "127.0.0.1:\(TLSPeers.closedPort())")
        let probe = Task { await TLSProbe.session(host, timeoutMilliseconds: 60_000, pool: pool) { _ in .success(true) } }
        try await Self.eventually { pool.load.waiting == 1 }
        #expect(pool.load.waiting == 1)
        probe.cancel()
        // Released only if the answer does not come: a queued probe that ignored the cancel
        // would wait for this thread, and the test would end only by this timeout.
        let watchdog = Task {
            try await Task.sleep(for: TestTime.bound(.seconds(20)))
            Issue.record("the cancelled probe did not answer while the pool's thread was busy")
            recorder.release.signal()
        }
        let result = await probe.value
        watchdog.cancel()
        #expect(recorder.running == 1, "the pool's thread was released first")
        #expect(result.failure?.reason == .cancelled, "\(result)")
        #expect(pool.load.waiting == 0)
        recorder.release.signal()
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
