import TestSupport
import Testing
import TofuCore

@testable import Posix
@testable import TofuTLS

#if canImport(Glibc)
    import Glibc
#endif

/// The pool every probe runs on (its bounds and order: BoundedThreadPoolTests): a probe waiting
/// in it answers a cancellation at once.
@Suite struct ProbePoolTests {
    /// A probe waiting for a thread answers a cancellation while the pool's only thread is still
    /// busy (so without ever running), and leaves the queue.
    @Test func cancellingAWaitingProbeAnswersAtOnce() async throws {
        let pool = ProbePool.make(limit: 1)
        let recorder = JobRecorder()
        pool.submit(recorder.job(0), refuse: { _ in })
        try await eventually { recorder.running == 1 }
        let host = try HostKey(parsing: "127.0.0.1:\(TLSPeers.closedPort())")
        let probe = Task { await TLSProbe.session(host, timeoutMilliseconds: 60_000, pool: pool) { _ in .success(true) } }
        try await eventually { pool.load.waiting == 1 }
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

    /// A probe the pool could start no thread for (the process's thread limit) answers so, and
    /// says what to do.
    @Test(.timeLimit(.minutes(1))) func aProbeWithNoThreadSaysWhatToDo() async throws {
        let pool = BoundedThreadPool(limit: 1, threadName: "tofu probe", idleMilliseconds: 5000) { _, _ in EAGAIN }
        let host = try HostKey(parsing: "127.0.0.1:\(TLSPeers.closedPort())")
        let result = await TLSProbe.session(host, timeoutMilliseconds: 60_000, pool: pool) { _ in .success(true) }
        #expect(result.failure?.reason == .localLimit, "\(result)")
        #expect(
            result.failure?.detail
                == "tofu-rpc cannot start a probe thread (Resource temporarily unavailable); lower --max-probes or raise the process limit (ulimit -u)")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
