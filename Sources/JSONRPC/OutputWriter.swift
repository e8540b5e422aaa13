import Dispatch
import Posix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes framed messages to a file descriptor from a thread of its own (the output thread),
/// so a peer that reads slowly blocks that thread, never Swift's cooperative pool nor the
/// input thread.
///
/// It counts what is queued and not yet written. Past `bound`, the connection stops reading
/// and starting calls (`waitForRoom`, `hasRoom`) until the peer has read enough: a peer
/// that sends requests and never reads the answers cannot make memory grow.
///
/// A small answer is written by the thread that gives it (a task, a lane, the input thread)
/// when nothing else is being written and the descriptor takes it without blocking: it then
/// costs no wake-up of the output thread. Anything larger, or a peer that is not reading, is
/// left to the output thread.
///
/// Threads: `write`, `hasRoom`, `whenRoom`, `stop` and `flush` are for any thread (`flush`
/// from a task); `hold`, `writeHeld` and `waitForRoom` are for the connection's input thread
/// only (checked).
final class OutputWriter: Sendable {
    private enum Item: Sendable {
        case bytes([UInt8])
        case flush(CheckedContinuation<Void, Never>)
        case stop
    }

    private struct State: Sendable {
        var items = FIFO<Item>()
        /// Someone (the output thread, or the input thread in `writeHeld`) owns the descriptor.
        var writing = false
        /// Bytes queued and not yet written (or dropped, once the peer is gone).
        var unwritten = 0
        /// `unwritten` went past the bound; `onRoom` is due when it is back within.
        var full = false
        /// The input thread is blocked in `waitForRoom`.
        var inputWaiting = false
        var onRoom: (@Sendable () -> Void)?
    }

    /// What a thread other than the output thread writes itself: one pipe buffer, which a pipe
    /// that polls writable takes without blocking (a larger batch goes to the output thread).
    private static let directLimit = Int(PIPE_BUF)

    /// Small messages are written together, up to this many bytes per write; a larger one is
    /// written from its own storage, never copied.
    private static let coalesceLimit = 64 << 10

    /// Unwritten bytes past which the connection holds back (one answer may be larger: it
    /// is still written, and nothing more is taken on until it is).
    let bound: Int

    private let fd: Int32
    private let state = Locked(State())
    private let signal = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: 0)
    private let broken = Atomic<Bool>(false)
    /// The descriptor cannot be written with `FileIO.writeWithoutWaiting`: polled instead.
    private let cannotWriteWithoutWaiting = Atomic<Bool>(false)
    /// `hold` queued bytes that `writeHeld` has not yet passed on.
    private let holding = Atomic<Bool>(false)
    private let onBroken: @Sendable (Errno) -> Void
    private let inputThread: ThreadRole
    private let outputThread = ThreadRole("output")

    /// Starts the output thread, named `threadName`. `inputThread` is the one thread that may
    /// `hold`. `onBroken` is called once, with the error, when the peer stops reading (e.g.
    /// EPIPE); later output is dropped. Any thread.
    init(fd: Int32, bound: Int, threadName: String, inputThread: ThreadRole, onBroken: @escaping @Sendable (Errno) -> Void) {
        self.fd = fd
        self.bound = bound
        self.inputThread = inputThread
        self.onBroken = onBroken
        DetachedThread.start(name: threadName) { [self] in
            outputThread.claim()
            loop()
        }
    }

    /// Sets what is called each time the unwritten output, having gone past the bound, is
    /// back within it: on the output thread, or on the input thread in `writeHeld`. Any thread.
    func whenRoom(_ body: (@Sendable () -> Void)?) {
        state.withLock { $0.onRoom = body }
    }

    /// Whether the unwritten output is within the bound. Any thread.
    var hasRoom: Bool { state.withLock { $0.unwritten <= bound } }

    /// Queues `bytes` (one framed message) and writes them: on the calling thread, with
    /// everything queued before them, when that is small, nobody else is writing and the
    /// descriptor takes it without blocking; else by waking the output thread. Any thread.
    func write(_ bytes: [UInt8]) {
        add(bytes)
        writeQueuedHere()
    }

    /// Queues `bytes` without waking the output thread, until `writeHeld`: the input thread
    /// holds every answer to one chunk of input, then writes them together, so a pipelined
    /// burst costs one wake-up and one write instead of one per answer. Input thread (checked).
    func hold(_ bytes: [UInt8]) {
        inputThread.check()
        add(bytes)
        holding.store(true, ordering: .releasing)
    }

    /// Writes what was `hold`-queued since the last call: on the calling thread when it is
    /// small, nothing else is being written and the descriptor can take it without blocking (a
    /// request answered at once then costs no thread hop); else by waking the output thread.
    /// Input thread (checked).
    func writeHeld() {
        inputThread.check()
        guard holding.exchange(false, ordering: .acquiringAndReleasing) else { return }
        writeQueuedHere()
    }

    /// Writes what is queued on the calling thread if it is small and the descriptor takes it
    /// without blocking; leaves it to whoever is writing now, who looks for more when done; else
    /// wakes the output thread. Any thread but the output thread.
    private func writeQueuedHere() {
        if outputThread.isCurrent { return }
        switch claimSmallBatch() {
        case .claimed(let batch):
            writeToDescriptor(batch)
            doneWriting(batch.count)
        case .wrote(let count):
            doneWriting(count)
        case .wrotePart(let count):
            written(count)
            signal.signal()
        case .busy:
            break
        case .outputThread:
            signal.signal()
        }
    }

    /// The calling thread has written `count` bytes it claimed: the descriptor is free again, and
    /// the output thread takes what was queued meanwhile.
    private func doneWriting(_ count: Int) {
        let more = state.withLock { state in
            state.writing = false
            return !state.items.isEmpty
        }
        written(count)
        if more { signal.signal() }
    }

    /// Blocks the calling thread while the unwritten output is past the bound; `beforeSleeping`
    /// first, then `writeHeld`, so what it held gets written. It sleeps on a semaphore the
    /// output thread signals: a peer that never reads costs no CPU. Input thread (checked), never a task.
    func waitForRoom(beforeSleeping: () -> Void) {
        inputThread.check()
        guard !hasRoom else { return }
        beforeSleeping()
        writeHeld()
        while state.withLock({ state -> Bool in
            guard state.unwritten > bound else { return false }
            state.inputWaiting = true
            return true
        }) {
            room.wait()
        }
    }

    /// Ends the output thread once everything queued before has been written. Any thread.
    func stop() {
        state.withLock { $0.items.append(.stop) }
        signal.signal()
    }

    /// Returns once everything queued before it has been written (or dropped, if the peer is
    /// gone). A task.
    func flush() async {
        await withCheckedContinuation { continuation in
            state.withLock { $0.items.append(.flush(continuation)) }
            signal.signal()
        }
    }

    private func add(_ bytes: [UInt8]) {
        state.withLock { state in
            state.items.append(.bytes(bytes))
            state.unwritten += bytes.count
            if state.unwritten > bound { state.full = true }
        }
    }

    /// `count` bytes are written (or dropped): wakes the input thread and calls `onRoom` when
    /// that brings the output back within the bound. The thread that wrote them.
    private func written(_ count: Int) {
        guard count > 0 else { return }
        let (wake, onRoom) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            state.unwritten -= count
            guard state.unwritten <= bound else { return (false, nil) }
            defer {
                state.inputWaiting = false
                state.full = false
            }
            return (state.inputWaiting, state.full ? state.onRoom : nil)
        }
        if wake { room.signal() }
        onRoom?()
    }

    /// Who writes what is queued now.
    private enum Claim {
        /// The calling thread: these bytes, everything queued.
        case claimed([UInt8])
        /// The calling thread has written everything queued: these many bytes.
        case wrote(Int)
        /// The calling thread has written the first bytes of what was queued, these many; the
        /// rest is the output thread's.
        case wrotePart(Int)
        /// Whoever is writing now, who looks for more when done.
        case busy
        /// The output thread: it is too much to write at once, not only bytes, or the descriptor
        /// would block.
        case outputThread
    }

    /// Takes every queued item for the calling thread to write, if they are only bytes, fit
    /// `directLimit`, and nobody is writing; writes them at once if the descriptor takes them
    /// without blocking, else claims them if it polls writable. The descriptor is claimed before
    /// it is tried: meanwhile, no other thread of ours can fill it.
    private func claimSmallBatch() -> Claim {
        let claim = state.withLock { state -> (batch: [UInt8], items: Int)? in
            guard !state.writing else { return nil }
            var batch: [UInt8] = []
            var items = 0
            for item in state.items.elements {
                // Too much, or not only bytes: left to the output thread (items -1).
                guard case .bytes(let bytes) = item, bytes.count <= Self.directLimit - batch.count else { return ([], -1) }
                // The first message is shared, not copied: most often it is the only one.
                if items == 0 { batch = bytes } else { batch.append(contentsOf: bytes) }
                items += 1
            }
            state.writing = true
            return (batch, items)
        }
        guard let claim else { return .busy }
        guard claim.items >= 0 else { return .outputThread }
        // Nothing queued: released by the caller, who looks for what came meanwhile.
        guard !claim.batch.isEmpty else { return .wrote(0) }
        // Tried first: a write that fails rather than block costs one call, a poll first two.
        if !cannotWriteWithoutWaiting.load(ordering: .relaxed), !broken.load(ordering: .relaxed) {
            switch FileIO.writeWithoutWaiting(fd, claim.batch) {
            case .wrote(let count) where count == claim.batch.count:
                state.withLock { state in for _ in 0..<claim.items { _ = state.items.popFirst() } }
                return .wrote(count)
            case .wrote(let count) where count > 0:
                // Part went out (a socket can take part): the rest goes first, from the output thread.
                state.withLock { state in
                    for _ in 0..<claim.items { _ = state.items.popFirst() }
                    state.items.prepend(.bytes(Array(claim.batch[count...])))
                    state.writing = false
                }
                return .wrotePart(count)
            case .unsupported:
                cannotWriteWithoutWaiting.store(true, ordering: .relaxed)
            case .wrote, .wouldBlock, .failed:
                // The poll decides; a failure is reported by the write that follows.
                break
            }
        }
        var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let writable = poll(&ready, 1, 0) == 1 && ready.revents & Int16(POLLOUT) != 0
        return state.withLock { state -> Claim in
            guard writable else {
                state.writing = false
                return .outputThread
            }
            // Only the holder of `writing` takes items off the queue: the first ones are these.
            for _ in 0..<claim.items { _ = state.items.popFirst() }
            return .claimed(claim.batch)
        }
    }

    /// What the output thread does next.
    private enum Step {
        case write([UInt8])
        case flush(CheckedContinuation<Void, Never>)
        case stop
        /// Nothing is queued, or `writeHeld` is writing (it signals again when done).
        case idle
    }

    /// Takes the next step off the queue: queued small messages as one write, or one large
    /// message as it is. Items are taken one write at a time, so each is freed once written.
    private func nextStep(claiming: Bool) -> Step {
        state.withLock { state -> Step in
            if claiming {
                guard !state.writing else { return .idle }
                state.writing = true
            }
            guard let first = state.items.popFirst() else {
                state.writing = false
                return .idle
            }
            switch first {
            case .flush(let continuation): return .flush(continuation)
            case .stop: return .stop
            case .bytes(let bytes):
                var batch = bytes
                while batch.count < Self.coalesceLimit, case .bytes(let next)? = state.items.first,
                    next.count <= Self.coalesceLimit - batch.count
                {
                    batch.append(contentsOf: next)
                    _ = state.items.popFirst()
                }
                return .write(batch)
            }
        }
    }

    private func loop() {
        while true {
            signal.wait()
            var claiming = true
            while true {
                let step = nextStep(claiming: claiming)
                claiming = false
                switch step {
                case .idle:
                    break
                case .write(let bytes):
                    writeToDescriptor(bytes)
                    written(bytes.count)
                    continue
                case .flush(let continuation):
                    continuation.resume()
                    continue
                case .stop:
                    state.withLock { $0.writing = false }
                    return
                }
                break
            }
        }
    }

    private func writeToDescriptor(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, !broken.load(ordering: .relaxed) else { return }
        do {
            try FileIO.writeAll(fd, bytes)
        } catch {
            if !broken.exchange(true, ordering: .relaxed) { onBroken(error) }
        }
    }
}
