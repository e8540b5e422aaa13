import Dispatch
import Foundation
import JSONRPC
import Logging
import Synchronization
import Testing
import TofuCore
import TofuServer
import TofuStore

/// `listCerts {host}` on the input thread: answered there when the store is idle, passed on to
/// a task (nil) when it is busy, so the input thread never waits behind another call.
@Suite struct PointReadHandlerTests {
    static func handler(_ store: PinStore) throws -> ImmediateHandler {
        try #require(TofuMethods.table(store: store, logger: Logger(label: "test")).immediateHandler(for: "listCerts"))
    }

    static func newStore() -> PinStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tofu-point-\(UUID().uuidString)").path
        return PinStore(path: directory + "/store.sqlite")
    }

    /// Runs `body` on a thread that is not the cooperative pool's (the input thread's kind), for
    /// at most `timeout`; nil if it did not return by then.
    static func onAThreadOfItsOwn<T: Sendable>(timeout: Double = 60, _ body: @escaping @Sendable () -> T) async -> T? {
        let result = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let value = body()
            result.value.withLock { $0 = value }
            done.signal()
        }
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            Thread.detachNewThread { continuation.resume(returning: done.wait(timeout: .now() + timeout) == .success) }
        }
        return finished ? result.value.withLock { $0 } : nil
    }

    final class Box<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }

    @Test func anIdleStoreAnswersOnTheCallersThread() async throws {
        let handler = try Self.handler(Self.newStore())
        let answer = await Self.onAThreadOfItsOwn { Result { try handler(Params(["host": "192.0.2.20"])) } }
        let result = try #require(try answer?.get())
        #expect(result == ["certs": [], "nextCursor": nil])
        // A listing is the task's: nil at once.
        let listing = try #require(await Self.onAThreadOfItsOwn { Result { try handler(Params(["limit": 5])) } })
        let passed: JSONValue? = try listing.get()
        #expect(passed == Optional<JSONValue>.none, "a listing was answered on the input thread")
    }

    @Test func aBusyStorePassesThePointReadOnWithoutWaiting() async throws {
        let store = Self.newStore()
        let handler = try Self.handler(store)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? store.blocking { _ in
                entered.signal()
                release.wait()
            }
        }
        _ = await Self.onAThreadOfItsOwn { entered.wait() }
        // Answered while the store is held: a handler that waited for it would not answer at all.
        let answer = await Self.onAThreadOfItsOwn(timeout: 30) { Result { try handler(Params(["host": "192.0.2.20"])) } }
        release.signal()
        let outcome = try #require(answer, "the point read waited for the busy store")
        let passed: JSONValue? = try outcome.get()
        #expect(passed == Optional<JSONValue>.none, "the point read ran while the store was busy")
    }
}
