import Dispatch
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The store's executor: the `PinStore` actor's jobs run on one thread of its own, so the
/// blocking database calls inside the actor never hold a thread of Swift's cooperative pool.
///
/// What it serialises is a lease, not a thread: whoever holds it (the executor's thread running
/// a job, or a thread of its own that called `runBlocking` or `runIfIdle`) is the only one
/// inside the actor, and `checkIsolated` says so to `assumeIsolated`. A thread of its own thus
/// runs its call to the store on itself, in turn with the actor's jobs, as
/// `DispatchQueue.sync` runs a block on the caller's thread: no task, no hop, no second lock.
final class StoreExecutor: SerialExecutor, Sendable {
    private struct State {
        /// Jobs in arrival order: taken from `outgoing`, which is `incoming` reversed.
        var incoming: [UnownedJob] = []
        var outgoing: [UnownedJob] = []
        /// Who holds the lease.
        var holder: pthread_t?
        /// Threads waiting for the lease, first come first served; `release` hands it over.
        var waiters: [(thread: pthread_t, wake: DispatchSemaphore)] = []
        var stopping = false

        mutating func nextJob() -> UnownedJob? {
            if outgoing.isEmpty {
                outgoing = incoming.reversed()
                incoming.removeAll(keepingCapacity: true)
            }
            return outgoing.popLast()
        }
    }

    private let state = Locked(State())
    /// One signal per job enqueued, and one for `stop`.
    private let work = DispatchSemaphore(value: 0)
    /// The executor thread's own wait for the lease.
    private let leaseForJobs = DispatchSemaphore(value: 0)

    init(name: String) {
        DetachedThread.start(name: name) { [self] in run() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        state.withLock { $0.incoming.append(unowned) }
        work.signal()
    }

    /// Whether the calling thread holds the lease: runs a job, or a call of `runBlocking` or `runIfIdle`.
    var isCurrent: Bool {
        let me = pthread_self()
        return state.withLock { state in state.holder.map { pthread_equal($0, me) != 0 } ?? false }
    }

    /// Lets `Actor.assumeIsolated` confirm that a call from `runBlocking` or `runIfIdle` is isolated.
    func checkIsolated() {
        precondition(isCurrent, "not inside the store's isolation")
    }

    func isIsolatingCurrentContext() -> Bool? {
        isCurrent
    }

    /// Runs `body` on the calling thread holding the lease, waiting for it first. For callers on
    /// threads of their own only: it blocks the caller (never call it from a task, and never
    /// from inside the lease).
    func runBlocking<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        acquire { DispatchSemaphore(value: 0) }
        defer { release() }
        return try body()
    }

    /// Runs `body` on the calling thread holding the lease if nobody holds it now; nil at once
    /// otherwise.
    func runIfIdle<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T? {
        let me = pthread_self()
        let acquired = state.withLock { state in
            guard state.holder == nil else { return false }
            state.holder = me
            return true
        }
        guard acquired else { return nil }
        defer { release() }
        return try body()
    }

    /// Lets the thread end once the jobs enqueued so far have run. For the owner's deinit.
    func stop() {
        state.withLock { $0.stopping = true }
        work.signal()
    }

    /// Takes the lease, waiting (on the semaphore `wake` makes) until `release` hands it over
    /// if another thread holds it.
    private func acquire(_ wake: () -> DispatchSemaphore) {
        let me = pthread_self()
        let wait: DispatchSemaphore? = state.withLock { state in
            guard let holder = state.holder else {
                state.holder = me
                return nil
            }
            precondition(pthread_equal(holder, me) == 0, "the store's lease taken again by the thread that holds it")
            let semaphore = wake()
            state.waiters.append((me, semaphore))
            return semaphore
        }
        guard let wait else { return }
        wait.wait()
        // The lock taken after the wait orders this thread after the previous holder for
        // ThreadSanitizer too.
        state.withLock { state in precondition(state.holder.map { pthread_equal($0, me) != 0 } == true, "the store's lease was not handed over") }
    }

    /// Gives up the lease: to the first waiter, if any.
    private func release() {
        let next: DispatchSemaphore? = state.withLock { state in
            guard !state.waiters.isEmpty else {
                state.holder = nil
                return nil
            }
            let waiter = state.waiters.removeFirst()
            state.holder = waiter.thread
            return waiter.wake
        }
        next?.signal()
    }

    private func run() {
        while true {
            work.wait()
            acquire { leaseForJobs }
            // One signal per job: a signal that finds none is `stop`'s, the jobs before it done.
            guard let job = state.withLock({ $0.nextJob() }) else {
                release()
                if state.withLock({ $0.stopping }) { return }
                continue
            }
            job.runSynchronously(on: asUnownedSerialExecutor())
            release()
        }
    }
}
