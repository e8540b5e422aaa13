import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The one thread a job of the connection runs on (reading the input, writing the output),
/// recorded when that thread starts, so that code written for that thread can check it runs
/// there: a check costs one atomic load and one comparison.
final class ThreadRole: Sendable {
    /// What the thread does, as a failed check names it ("input").
    let role: String
    /// The claiming thread's `pthread_t`; 0 until it is claimed (no thread has that identity).
    private let owner = Atomic<UInt>(0)

    init(_ role: String) { self.role = role }

    /// Makes the calling thread this role's: first thing on the thread it belongs to.
    func claim() {
        owner.store(UInt(pthread_self()), ordering: .releasing)
    }

    /// Whether the calling thread is this role's.
    var isCurrent: Bool { owner.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Stops the process unless the calling thread is this role's.
    func check(_ function: StaticString = #function) {
        precondition(isCurrent, "\(function) must run on the \(role) thread")
    }

    /// Stops the process if the caller is a Swift task: for functions that block their
    /// thread, which must never block a thread of the cooperative pool.
    static func checkNotInTask(_ function: StaticString = #function) {
        precondition(withUnsafeCurrentTask { $0 == nil }, "\(function) blocks its thread: never call it from a task")
    }
}
