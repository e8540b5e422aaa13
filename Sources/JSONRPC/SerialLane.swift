import Dispatch
import Posix

/// A thread of its own that runs blocking work one job at a time, in the order it was given:
/// where a connection runs the calls of methods registered with a `BlockingHandler` (quick
/// blocking work, e.g. a store write synced to disk), so that such a call costs one thread hop
/// (the input thread hands it over) instead of a task, the store's thread and a task again.
///
/// The thread starts with the first job (a process that never calls such a method never starts
/// it) and ends once the lane is released and the jobs given before have run. Thread-safe.
public final class SerialLane: Sendable {
    /// The thread's name, as `top -H` and debuggers show it (15 bytes are kept).
    public let name: String
    private let jobs: Jobs

    public init(name: String) {
        self.name = name
        jobs = Jobs(role: ThreadRole(name))
    }

    deinit {
        jobs.stop()
    }

    /// Whether the calling thread is this lane's.
    public var isCurrent: Bool { jobs.role.isCurrent }

    /// Runs `job` on the lane's thread after the jobs given before it. Never blocks. Any thread.
    func submit(_ job: @escaping @Sendable () -> Void) {
        if jobs.append(job) {
            // The thread holds the queue, never the lane: releasing the lane ends it.
            DetachedThread.start(name: name) { [jobs] in jobs.run() }
        }
    }

    /// Runs `body` on the lane's thread and returns what it returned: for a task that must run
    /// blocking work (a batch's entry, a call another protocol delegates). A task cancelled
    /// before `body` starts throws `CancellationError` and `body` never runs; once it runs, it
    /// runs to its end. A task.
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let start = LaneStart()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                submit {
                    guard start.begin() else { return continuation.resume(throwing: CancellationError()) }
                    continuation.resume(with: Result { try body() })
                }
            }
        } onCancel: {
            start.cancel()
        }
    }

    /// The lane's queue and the loop its thread runs. It outlives the lane until the thread ends.
    private final class Jobs: Sendable {
        private struct State: Sendable {
            var queue = FIFO<@Sendable () -> Void>()
            var threadStarted = false
            var stopping = false
        }

        let role: ThreadRole
        private let state = Locked(State())
        private let signal = DispatchSemaphore(value: 0)

        init(role: ThreadRole) { self.role = role }

        /// Queues `job`; true if the thread is to be started for it.
        func append(_ job: @escaping @Sendable () -> Void) -> Bool {
            let start = state.withLock { state in
                state.queue.append(job)
                defer { state.threadStarted = true }
                return !state.threadStarted
            }
            signal.signal()
            return start
        }

        func stop() {
            state.withLock { $0.stopping = true }
            signal.signal()
        }

        func run() {
            role.claim()
            while true {
                signal.wait()
                // One signal per job: a signal that finds none is `stop`'s, the jobs before it done.
                let next = state.withLock { state -> (job: (@Sendable () -> Void)?, stop: Bool) in
                    (state.queue.popFirst(), state.stopping)
                }
                if let job = next.job {
                    job()
                } else if next.stop {
                    return
                }
            }
        }
    }
}

/// Whether a call handed to a lane may still start: cancelled before it starts, it never runs;
/// cancelled once it runs, it runs to its end and is marked cancelled. Thread-safe.
final class LaneStart: Sendable {
    private enum Phase: Sendable {
        case waiting
        case cancelledEarly
        case running(cancelled: Bool)
    }

    private let phase = Locked(Phase.waiting)

    /// Marks the call running; false if it was cancelled first (it must then not run).
    func begin() -> Bool {
        phase.withLock { phase in
            guard case .waiting = phase else { return false }
            phase = .running(cancelled: false)
            return true
        }
    }

    /// Cancels the call if it has not begun: true if it never will, false if it runs or ran.
    func cancelIfWaiting() -> Bool {
        phase.withLock { phase in
            guard case .waiting = phase else { return false }
            phase = .cancelledEarly
            return true
        }
    }

    func cancel() {
        phase.withLock { phase in
            switch phase {
            case .waiting: phase = .cancelledEarly
            case .running: phase = .running(cancelled: true)
            case .cancelledEarly: break
            }
        }
    }

    /// Whether the call was cancelled (before or while it ran).
    var isCancelled: Bool {
        phase.withLock { phase in
            switch phase {
            case .waiting, .running(cancelled: false): false
            case .cancelledEarly, .running(cancelled: true): true
            }
        }
    }
}
