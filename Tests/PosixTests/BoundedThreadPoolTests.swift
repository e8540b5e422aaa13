import TestSupport
import Testing

@testable import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The pool for blocking work: bounded, first come first served, a waiting job can be taken
/// out at once, and idle threads end.
@Suite struct BoundedThreadPoolTests {
    static func pool(limit: Int, idleMilliseconds: Int = 5000) -> BoundedThreadPool {
        BoundedThreadPool(limit: limit, threadName: "pool test", idleMilliseconds: idleMilliseconds)
    }

    @Test func atMostTheLimitRunAndTheRestStartInArrivalOrder() async throws {
        let pool = Self.pool(limit: 3)
        let recorder = JobRecorder()
        for index in 0..<12 { pool.submit(recorder.job(index), refuse: { _ in Issue.record("refused") }) }
        try await eventually { recorder.running == 3 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(recorder.running == 3)
        #expect(pool.load.threads == 3 && pool.load.waiting == 9)
        for _ in 0..<12 { recorder.release.signal() }
        try await eventually { recorder.started.count == 12 && recorder.running == 0 }
        #expect(recorder.peak == 3)
        // The first three start together in any order; after them, strictly in arrival order.
        #expect(Set(recorder.started.prefix(3)) == [0, 1, 2])
        #expect(Array(recorder.started.dropFirst(3)) == Array(3..<12))
    }

    @Test func aRemovedJobNeverRuns() async throws {
        let pool = Self.pool(limit: 1)
        let recorder = JobRecorder()
        pool.submit(recorder.job(0), refuse: { _ in })
        let second = pool.submit(recorder.job(1), refuse: { _ in })
        pool.submit(recorder.job(2), refuse: { _ in })
        try await eventually { recorder.running == 1 }
        #expect(pool.remove(second))
        #expect(!pool.remove(second))
        #expect(pool.load.waiting == 1)
        for _ in 0..<3 { recorder.release.signal() }
        try await eventually { recorder.started.count == 2 && recorder.running == 0 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(recorder.started == [0, 2])
    }

    @Test func idleThreadsEndAndNewWorkStartsThemAgain() async throws {
        let pool = Self.pool(limit: 4, idleMilliseconds: 50)
        let recorder = JobRecorder()
        for index in 0..<4 { pool.submit(recorder.job(index), refuse: { _ in }) }
        try await eventually { recorder.running == 4 }
        for _ in 0..<4 { recorder.release.signal() }
        try await eventually { pool.load.threads == 0 }
        #expect(pool.load.threads == 0)
        pool.submit(recorder.job(4), refuse: { _ in })
        recorder.release.signal()
        try await eventually { recorder.started.count == 5 }
        #expect(recorder.started.count == 5)
    }

    @Test func raisingTheLimitStartsWaitingJobs() async throws {
        let pool = Self.pool(limit: 1)
        let recorder = JobRecorder()
        for index in 0..<3 { pool.submit(recorder.job(index), refuse: { _ in }) }
        try await eventually { recorder.running == 1 }
        pool.limit = 3
        try await eventually { recorder.running == 3 }
        #expect(recorder.running == 3)
        for _ in 0..<3 { recorder.release.signal() }
        try await eventually { recorder.running == 0 }
    }

    /// A pool that can start no thread refuses every waiting job with pthread_create's error,
    /// and counts no thread.
    @Test func withNoThreadStartedEveryWaitingJobIsRefused() async throws {
        let pool = BoundedThreadPool(limit: 2, threadName: "pool test", idleMilliseconds: 5000) { _, _ in EAGAIN }
        let refusals = Locked<[Int: Errno]>([:])
        let recorder = JobRecorder()
        for index in 0..<3 { pool.submit(recorder.job(index), refuse: { error in refusals.withLock { $0[index] = error } }) }
        #expect(refusals.withLock { $0 } == [0: Errno(EAGAIN), 1: Errno(EAGAIN), 2: Errno(EAGAIN)])
        #expect(pool.load.threads == 0 && pool.load.waiting == 0)
        #expect(recorder.started.isEmpty)
    }

    /// A thread that cannot be started while another runs refuses nothing: the running thread
    /// takes the waiting jobs in turn.
    @Test func aThreadThatCannotStartLeavesItsJobsToTheRunningOnes() async throws {
        let starts = Locked(0)
        let pool = BoundedThreadPool(limit: 2, threadName: "pool test", idleMilliseconds: 5000) { name, body in
            guard starts.withLock({ count in
                count += 1
                return count == 1
            }) else { return EAGAIN }
            return DetachedThread.tryStart(name: name, body)
        }
        let recorder = JobRecorder()
        let refused = Locked(false)
        for index in 0..<3 { pool.submit(recorder.job(index), refuse: { _ in refused.withLock { $0 = true } }) }
        try await eventually { recorder.running == 1 }
        #expect(pool.load.threads == 1 && pool.load.waiting == 2)
        for _ in 0..<3 { recorder.release.signal() }
        try await eventually { recorder.started.count == 3 && recorder.running == 0 }
        #expect(recorder.started == [0, 1, 2])
        #expect(recorder.peak == 1)
        #expect(!refused.withLock { $0 })
    }
}
