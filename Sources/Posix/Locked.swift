import CThreadSanitizer
import Synchronization

/// A value shared between threads, behind `Synchronization.Mutex`, whose locking
/// ThreadSanitizer can see.
///
/// On Linux, `Mutex` waits on a futex that TSan does not model, so under
/// `swift test --sanitize=thread` every access it guards is reported as a race. `Locked`
/// tells TSan of each acquire and release, so `make sanitize-thread` reports only real
/// races. Without TSan the annotations are no-ops.
public struct Locked<Value: ~Copyable>: ~Copyable, Sendable {
    // Reachable from the inlinable `withLock`, so that callers specialise it for their `Value`
    // instead of looking up `Mutex<Value>`'s metadata on every call.
    @usableFromInline let mutex: Mutex<Value>
    /// The address TSan knows this lock by: a byte of our own, so that naming the lock does
    /// not touch the guarded value before the lock is taken.
    @usableFromInline let key: Int

    public init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
        key = Int(bitPattern: UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))
    }

    deinit {
        UnsafeMutableRawPointer(bitPattern: key)?.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    @inlinable
    public borrowing func withLock<Result, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let key = UnsafeMutableRawPointer(bitPattern: self.key)
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            tofu_tsan_acquire(key)
            defer { tofu_tsan_release(key) }
            return try body(&value)
        }
    }
}
