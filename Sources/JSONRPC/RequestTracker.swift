import Dispatch
import Posix

/// Which messages of a connection run, which wait their turn, and how to reach each one to
/// cancel it: admission and in-flight bookkeeping, kept apart from reading and writing.
///
/// At most `maxInFlight` messages run at once (a batch counts as one, and one batch runs at a
/// time); the others wait in arrival order, and start as running ones finish, while the
/// output has room. While the waiting ones cost more than `maxQueuedCost`, the admitting
/// thread is held in `waitForRoomInQueue`: memory stays bounded whatever the peer sends. A
/// running call is tracked under a token, with the request id a `$/cancelRequest` names.
///
/// Thread-safe. `admit` and `waitForRoomInQueue` are called by one thread, in the order
/// messages arrive (a connection's input thread); the rest by any thread.
final class RequestTracker: Sendable {
    /// Names one started message, or one entry of a started batch.
    typealias Token = UInt64

    /// A message, admitted: started at once or when its turn comes.
    struct Pending: Sendable {
        /// The request id a `$/cancelRequest` names to drop it while it waits (nil: a batch or
        /// a notification, which cannot be named).
        let id: JSONValue?
        /// What it costs while it waits (its bytes and its parsed form).
        let cost: Int
        /// A batch waits while another batch runs.
        let isBatch: Bool
        /// Starts it under the token it is given, on whichever thread starts it (it must not
        /// block: it creates tasks, and tracks them); its work ends with `finish(token)`.
        let start: @Sendable (Token) -> Void
        /// Called, on the cancelling thread, if it is dropped before it started.
        let dropped: @Sendable () -> Void
    }

    /// What `cancel(id:)` and `cancelAll()` reach of a running call.
    private struct Running: Sendable {
        let id: JSONValue?
        let cancel: @Sendable () -> Void
    }

    private struct State: Sendable {
        var lastToken: Token = 0
        var running: [Token: Running] = [:]
        /// Started messages not yet finished (a batch counts once).
        var inFlight = 0
        /// The token of the batch that runs, if one does: the next batch waits for it.
        var batchToken: Token?
        /// Tokens whose work finished before it was tracked.
        var finishedUntracked: Set<Token> = []
        var queue = FIFO<Pending>()
        var queuedCost = 0
        var idleWaiter: CheckedContinuation<Void, Never>?

        var isIdle: Bool { inFlight == 0 && queue.isEmpty }

        /// Whether `pending` may start as far as batches go (slots and output aside).
        func mayStart(_ pending: Pending) -> Bool { !(pending.isBatch && batchToken != nil) }

        /// A token for `pending`, which starts now; a batch holds the batch slot under it.
        mutating func startToken(for pending: Pending) -> Token {
            lastToken += 1
            if pending.isBatch { batchToken = lastToken }
            return lastToken
        }

        /// The head of the queue with its token, taken if it may start.
        mutating func popStartable() -> (Pending, Token)? {
            guard let head = queue.first, mayStart(head), let next = queue.popFirst() else { return nil }
            queuedCost -= next.cost
            return (next, startToken(for: next))
        }

        mutating func takeIdleWaiter() -> CheckedContinuation<Void, Never>? {
            guard isIdle, let waiter = idleWaiter else { return nil }
            idleWaiter = nil
            return waiter
        }
    }

    /// How many messages may run at once.
    let maxInFlight: Int
    /// What waiting messages may cost before the admitting thread is held.
    let maxQueuedCost: Int
    private let outputHasRoom: @Sendable () -> Bool
    private let state = Locked(State())
    /// Held from taking a message off the queue (or deciding it starts) until it has started:
    /// messages start in arrival order whichever threads start them (a finishing call's, the
    /// output thread's), so a lane receives one connection's calls in the order they came.
    /// Starting never blocks and never comes back here; the state's lock is taken inside it.
    private let starting = Locked(())
    private let roomInQueue = DispatchSemaphore(value: 0)

    /// `outputHasRoom` tells whether the answers not yet written are within their bound:
    /// while they are not, waiting messages stay waiting. It is called with the tracker's
    /// lock held, so it must not call back into the tracker.
    init(maxInFlight: Int, maxQueuedCost: Int, outputHasRoom: @escaping @Sendable () -> Bool) {
        self.maxInFlight = maxInFlight
        self.maxQueuedCost = maxQueuedCost
        self.outputHasRoom = outputHasRoom
    }

    // MARK: - Admission (the admitting thread)

    /// Starts `pending` now if fewer than `maxInFlight` run and none waits before it, else
    /// queues it. Does not look at the output: the admitting thread only reads (and admits)
    /// while the output has room. Never blocks. The admitting thread.
    func admit(_ pending: Pending) {
        starting.withLock { _ in
            let token = state.withLock { state -> Token? in
                if state.queue.isEmpty && state.inFlight < maxInFlight && state.mayStart(pending) {
                    state.inFlight += 1
                    return state.startToken(for: pending)
                }
                state.queue.append(pending)
                state.queuedCost += pending.cost
                return nil
            }
            if let token { pending.start(token) }
        }
    }

    /// Whether the waiting messages cost more than `maxQueuedCost`. Any thread.
    var queueIsOverBound: Bool {
        state.withLock { $0.queuedCost > maxQueuedCost && !$0.queue.isEmpty }
    }

    /// Blocks the calling thread while `queueIsOverBound`, until messages start or are dropped;
    /// calls `beforeSleeping` before each sleep (e.g. to write the answers it holds, which the
    /// waiting ones may be waiting for). A peer piping thousands of requests is then read from
    /// as fast as they are answered, and gets every answer instead of errors. The admitting
    /// thread; never a task (checked).
    func waitForRoomInQueue(beforeSleeping: () -> Void) {
        ThreadRole.checkNotInTask()
        while queueIsOverBound {
            beforeSleeping()
            roomInQueue.wait()
        }
    }

    // MARK: - Starting, finishing and cancelling (any thread)

    /// Starts waiting messages while slots are free and the output has room: called when the
    /// output, having gone past its bound, is back within it. Any thread.
    func startQueued() {
        starting.withLock { _ in
            let started = state.withLock { state -> [(Pending, Token)] in
                var started: [(Pending, Token)] = []
                while state.inFlight < maxInFlight, outputHasRoom(), let next = state.popStartable() {
                    state.inFlight += 1
                    started.append(next)
                }
                return started
            }
            for (pending, token) in started {
                pending.start(token)
                roomInQueue.signal()
            }
        }
    }

    /// A new token, for work of a started message that is tracked on its own (a batch's
    /// entries). Any thread.
    func newToken() -> Token {
        state.withLock { state in
            state.lastToken += 1
            return state.lastToken
        }
    }

    /// Makes running work reachable by `cancel(id:)` and `cancelAll()`, unless it already
    /// finished (`untrack` or `finish` came first: its task can end before this call). Any thread.
    func track(_ token: Token, id: JSONValue?, cancel: @escaping @Sendable () -> Void) {
        state.withLock { state in
            if state.finishedUntracked.remove(token) == nil {
                state.running[token] = Running(id: id, cancel: cancel)
            }
        }
    }

    /// Forgets work tracked under `token` (or, if it is not tracked yet, remembers that it
    /// finished). Any thread.
    func untrack(_ token: Token) {
        state.withLock { state in
            if state.running.removeValue(forKey: token) == nil { state.finishedUntracked.insert(token) }
        }
    }

    /// The message started under `token` is answered: the next waiting one (if any, and if
    /// the output has room) takes its slot, else the slot is freed, and `waitUntilIdle`
    /// returns once the last one is done. A batch frees the batch slot. Any thread (the
    /// message's own task, as it ends).
    func finish(_ token: Token) {
        let idle = starting.withLock { _ -> CheckedContinuation<Void, Never>? in
            let (next, idle) = state.withLock { state -> ((Pending, Token)?, CheckedContinuation<Void, Never>?) in
                if state.batchToken == token { state.batchToken = nil }
                if outputHasRoom(), let next = state.popStartable() { return (next, nil) }
                state.inFlight -= 1
                return (nil, state.takeIdleWaiter())
            }
            if let (pending, token) = next {
                pending.start(token)
                roomInQueue.signal()
            }
            return idle
        }
        untrack(token)
        idle?.resume()
    }

    /// Cancels every running call tracked under `id`, and drops every waiting message with
    /// that id (calling its `dropped`). Any thread (a connection's input thread, which reads
    /// `$/cancelRequest`).
    func cancel(id: JSONValue) {
        let (cancels, dropped) = state.withLock { state in
            let cancels = state.running.values.filter { $0.id == id }.map(\.cancel)
            let dropped = state.queue.remove { $0.id == id }
            state.queuedCost -= dropped.reduce(0) { $0 + $1.cost }
            return (cancels, dropped)
        }
        for cancel in cancels { cancel() }
        for pending in dropped { pending.dropped() }
        if !dropped.isEmpty { roomInQueue.signal() }
    }

    /// Drops every waiting message (calling its `dropped`) and cancels every running call:
    /// what `exit` does. Any thread.
    func cancelAll() {
        let (running, dropped) = state.withLock { state in
            state.queuedCost = 0
            return (Array(state.running.values), state.queue.removeAll())
        }
        for pending in dropped { pending.dropped() }
        for running in running { running.cancel() }
        if !dropped.isEmpty { roomInQueue.signal() }
    }

    /// Returns once no message runs or waits. One caller at a time; a task.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if state.isIdle { return true }
                precondition(state.idleWaiter == nil, "waitUntilIdle has one caller at a time")
                state.idleWaiter = continuation
                return false
            }
            if idle { continuation.resume() }
        }
    }

    // MARK: - Inspection

    /// The tracker's books at one moment, for tests and diagnostics.
    struct Books: Equatable {
        var inFlight: Int
        var waiting: Int
        var queuedCost: Int
        var tracked: Int
        /// Tokens untracked before they were tracked, whose `track` is still to come.
        var finishedUntracked: Int
        var batchRunning: Bool
    }

    /// The books now. Any thread.
    var books: Books {
        state.withLock { state in
            Books(
                inFlight: state.inFlight, waiting: state.queue.elements.count, queuedCost: state.queuedCost,
                tracked: state.running.count, finishedUntracked: state.finishedUntracked.count,
                batchRunning: state.batchToken != nil)
        }
    }
}
