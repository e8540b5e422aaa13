import Dispatch
import Posix

/// Lets code on a thread of its own (a TLS session) wait for async work, e.g. the store's
/// trust decision between the handshake and the first byte of HTTP. Never call it from a
/// task: it blocks the calling thread.
enum BlockingBridge {
    static func wait<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T? {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await operation()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }
    }
}
