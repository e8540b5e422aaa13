import Dispatch
import Synchronization

/// What the messages a connection admitted and has not yet answered (waiting or running) cost
/// in memory, and the input thread's wait while that is past `bound`.
///
/// The request queue bounds what waits, and `maxInFlight` how many run, but not what the running
/// ones hold: 64 messages of 16 MiB of `[0,0,…]` params, each parsed to about 200 MB, running
/// behind one write that waits for another process's lock, grew tofu-rpc past 12 GB. While this
/// is past its bound, nothing more is read (the message that passed it is still taken).
/// Thread-safe: `add` and `waitForRoom` are the input thread's; `remove` any thread's.
final class AdmittedCost: Sendable {
    let bound: Int
    private let total = Atomic<Int>(0)
    private let inputWaiting = Atomic<Bool>(false)
    private let room = DispatchSemaphore(value: 0)

    init(bound: Int) { self.bound = bound }

    /// A message is admitted. The input thread.
    func add(_ cost: Int) {
        total.wrappingAdd(cost, ordering: .relaxed)
    }

    /// An admitted message is answered, or dropped before it started. Any thread.
    func remove(_ cost: Int) {
        let left = total.wrappingSubtract(cost, ordering: .sequentiallyConsistent).newValue
        // A load first: the input thread is nearly never waiting, and an exchange would cost a
        // locked instruction per answer.
        if left <= bound, inputWaiting.load(ordering: .sequentiallyConsistent), inputWaiting.exchange(false, ordering: .sequentiallyConsistent) {
            room.signal()
        }
    }

    /// The cost now. Any thread.
    var value: Int { total.load(ordering: .relaxed) }

    /// Blocks the calling thread while the cost is past the bound, after `beforeSleeping` (e.g.
    /// writing the answers it holds). The input thread; never a task.
    func waitForRoom(beforeSleeping: () -> Void) {
        guard total.load(ordering: .relaxed) > bound else { return }
        beforeSleeping()
        while true {
            inputWaiting.store(true, ordering: .sequentiallyConsistent)
            guard total.load(ordering: .sequentiallyConsistent) > bound else {
                inputWaiting.store(false, ordering: .relaxed)
                return
            }
            room.wait()
        }
    }
}
