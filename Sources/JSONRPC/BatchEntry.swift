import Posix

/// One call of a batch: started when the batch's window reaches it, cancellable before that
/// (then it never runs), and answered exactly once. `cancel` comes from any thread; the rest
/// from the batch's own task.
final class BatchEntry: Sendable {
    private enum Phase: Sendable {
        case waiting
        case cancelledEarly
        case refused(JSONValue?)
        case running(Task<JSONValue?, Never>)
    }

    let token: UInt64
    private let phase = Locked(Phase.waiting)

    init(token: UInt64) { self.token = token }

    /// Runs `body` as a task, unless the entry was cancelled first.
    func start(_ body: @escaping @Sendable () async -> JSONValue?) {
        phase.withLock { phase in
            guard case .waiting = phase else { return }
            phase = .running(Task { await body() })
        }
    }

    /// Answers `answer` without running the call; false if it was cancelled first (it then
    /// answers as cancelled).
    func refuse(_ answer: JSONValue?) -> Bool {
        phase.withLock { phase in
            guard case .waiting = phase else { return false }
            phase = .refused(answer)
            return true
        }
    }

    /// Cancels the call: a running one is cancelled, a waiting one will never run.
    func cancel() {
        phase.withLock { phase in
            switch phase {
            case .waiting: phase = .cancelledEarly
            case .running(let task): task.cancel()
            case .cancelledEarly, .refused: break
            }
        }
    }

    /// The entry's answer, once it has one; `ifCancelled` gives it for a call cancelled before it ran.
    func answer(ifCancelled: @Sendable () -> JSONValue?) async -> JSONValue? {
        switch phase.withLock({ $0 }) {
        case .running(let task): return await task.value
        case .refused(let answer): return answer
        case .cancelledEarly, .waiting: return ifCancelled()
        }
    }
}
