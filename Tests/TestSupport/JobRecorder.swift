import Dispatch
import Posix

/// Jobs for a thread pool that block until released, recording how many run at once and in
/// which order they start.
public final class JobRecorder: Sendable {
    private let state = Locked<(running: Int, peak: Int, started: [Int])>((0, 0, []))
    /// Each signal lets one running (or the next) job end.
    public let release = DispatchSemaphore(value: 0)

    public init() {}

    /// Job number `index`.
    public func job(_ index: Int) -> @Sendable () -> Void {
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

    public var running: Int { state.withLock { $0.running } }
    public var peak: Int { state.withLock { $0.peak } }
    public var started: [Int] { state.withLock { $0.started } }
}
