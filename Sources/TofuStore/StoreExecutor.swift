import Dispatch
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The store's executor: one thread of its own on which the `PinStore` actor runs, so the
/// blocking database calls inside the actor never hold a thread of Swift's cooperative pool,
/// and the actor's isolation is what serialises the use of its connections.
///
/// Code on a thread of its own (a TLS probe deciding between handshake and first byte, the
/// input thread answering a point read) reaches the actor with `runBlocking`, which runs on
/// this same thread, in turn with the actor's jobs: no task, no second lock.
final class StoreExecutor: SerialExecutor, Sendable {
    private enum Work: Sendable {
        case job(UnownedJob)
        case call(@Sendable () -> Void)
    }

    private let queue = Locked<[Work]>([])
    private let wake = DispatchSemaphore(value: 0)
    /// The executor thread's identity, set once it runs.
    private let thread = Locked<pthread_t?>(nil)
    private let started = DispatchSemaphore(value: 0)

    init(name: String) {
        DetachedThread.start(name: name) { [self] in run() }
        started.wait()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.append(.job(unowned)) }
        wake.signal()
    }

    /// Whether the calling thread is this executor's.
    var isCurrent: Bool {
        guard let owner = thread.withLock({ $0 }) else { return false }
        return pthread_equal(owner, pthread_self()) != 0
    }

    /// Lets `Actor.assumeIsolated` confirm that a call from `runBlocking` is isolated.
    func checkIsolated() {
        precondition(isCurrent, "not on the store's executor thread")
    }

    /// Runs `body` on the executor thread, in turn with the actor's jobs, and waits for its
    /// result. For callers on threads of their own only: it blocks the caller (never call it
    /// from a task, and never from the executor thread itself).
    func runBlocking<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        precondition(!isCurrent, "runBlocking called on the store's own thread")
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        queue.withLock {
            $0.append(.call {
                let value = body()
                result.withLock { $0 = value }
                done.signal()
            })
        }
        wake.signal()
        done.wait()
        guard let value = result.withLock({ $0 }) else { preconditionFailure("a store call ended without a result") }
        return value
    }

    private func run() {
        thread.withLock { $0 = pthread_self() }
        started.signal()
        while true {
            // One signal per enqueued item, sent after the item is in the queue.
            wake.wait()
            guard let work = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            switch work {
            case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
            case .call(let body): body()
            }
        }
    }
}
