import Synchronization

/// Set from any thread to make a blocking probe give up at its next wake-up (≤ 50 ms).
public final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}
