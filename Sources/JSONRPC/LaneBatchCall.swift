import Posix

/// A batch's call handed to its lane when the batch started: its answer, once the lane (or a
/// refusal before the lane began it) gives one; the first answer given is kept. Thread-safe.
final class LaneBatchCall: Sendable {
    private enum State {
        case waiting(CheckedContinuation<JSONValue?, Never>?)
        case answered(JSONValue?)
    }

    let start = LaneStart()
    private let state = Locked(State.waiting(nil))

    /// Gives the answer (nil: a notification's), unless one was given already. Any thread.
    func finish(_ answer: JSONValue?) {
        let waiter = state.withLock { state -> CheckedContinuation<JSONValue?, Never>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = .answered(answer)
            return waiter
        }
        waiter?.resume(returning: answer)
    }

    /// Refuses the call with `answer` (nil: a notification's) if its lane has not begun it:
    /// true if it never will. Atomic with `finish`: the lane, finding the call refused when
    /// its turn comes, answers nothing over the refusal (its -32800 would otherwise race it).
    @discardableResult
    func refuse(_ answer: JSONValue?) -> Bool {
        let refused = state.withLock { state -> (CheckedContinuation<JSONValue?, Never>?)? in
            guard case .waiting(let waiter) = state, start.cancelIfWaiting() else { return nil }
            state = .answered(answer)
            return .some(waiter)
        }
        guard let refused else { return false }
        refused?.resume(returning: answer)
        return true
    }

    /// The answer, once there is one. One caller: the batch's task.
    func answer() async -> JSONValue? {
        await withCheckedContinuation { continuation in
            let answered: JSONValue?? = state.withLock { state in
                switch state {
                case .answered(let answer): return .some(answer)
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let answered { continuation.resume(returning: answered) }
        }
    }
}
