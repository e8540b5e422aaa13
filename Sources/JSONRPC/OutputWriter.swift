import Dispatch
import Locking
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes framed messages to a file descriptor from a thread of its own, so a peer that
/// reads slowly blocks that thread, never Swift's cooperative pool nor the input thread.
final class OutputWriter: Sendable {
    private enum Item: Sendable {
        case bytes([UInt8])
        case flush(CheckedContinuation<Void, Never>)
        case stop
    }

    private struct State: Sendable {
        var items: [Item] = []
        /// Someone (the writing thread, or the input thread in `announce`) owns the descriptor.
        var writing = false
    }

    /// What the input thread writes itself: one pipe buffer, which a pipe that polls
    /// writable takes without blocking (a larger batch goes to the writing thread).
    private static let directLimit = Int(PIPE_BUF)

    private let fd: Int32
    private let state = Locked(State())
    private let signal = DispatchSemaphore(value: 0)
    private let broken = Atomic<Bool>(false)
    private let unannounced = Atomic<Bool>(false)
    private let onBroken: @Sendable (Int32) -> Void

    /// `onBroken` is called once, with errno, when the peer stops reading (e.g. EPIPE);
    /// later output is dropped.
    init(fd: Int32, onBroken: @escaping @Sendable (Int32) -> Void) {
        self.fd = fd
        self.onBroken = onBroken
        DetachedThread.start(name: "tofu-rpc output") { [self] in self.loop() }
    }

    func send(_ bytes: [UInt8]) {
        state.withLock { $0.items.append(.bytes(bytes)) }
        signal.signal()
    }

    /// Queues `bytes` without waking the writing thread: the input thread queues every answer
    /// to one chunk of input, then `announce()`s them, so a pipelined burst costs one wake-up
    /// and one write instead of one per answer.
    func enqueue(_ bytes: [UInt8]) {
        state.withLock { $0.items.append(.bytes(bytes)) }
        unannounced.store(true, ordering: .releasing)
    }

    /// Writes what was `enqueue`d since the last call: on the calling thread when it is small,
    /// nothing else is being written and the descriptor can take it without blocking (a
    /// request answered at once then costs no thread hop); else by waking the writing thread.
    func announce() {
        guard unannounced.exchange(false, ordering: .acquiringAndReleasing) else { return }
        guard let batch = claimSmallBatch() else {
            signal.signal()
            return
        }
        write(batch)
        let more = state.withLock { state in
            state.writing = false
            return !state.items.isEmpty
        }
        if more { signal.signal() }
    }

    /// Ends the writing thread once everything sent before has been written.
    func stop() {
        state.withLock { $0.items.append(.stop) }
        signal.signal()
    }

    /// Returns once everything sent before it has been written (or dropped, if the peer is gone).
    func flush() async {
        await withCheckedContinuation { continuation in
            state.withLock { $0.items.append(.flush(continuation)) }
            signal.signal()
        }
    }

    /// Takes every queued item for the calling thread to write, if they are only bytes, fit
    /// `directLimit`, nobody is writing, and the descriptor polls writable.
    private func claimSmallBatch() -> [UInt8]? {
        var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&ready, 1, 0) == 1, ready.revents & Int16(POLLOUT) != 0 else { return nil }
        return state.withLock { state -> [UInt8]? in
            guard !state.writing else { return nil }
            var batch: [UInt8] = []
            for item in state.items {
                guard case .bytes(let bytes) = item, batch.count + bytes.count <= Self.directLimit else { return nil }
                batch.append(contentsOf: bytes)
            }
            state.items.removeAll(keepingCapacity: true)
            state.writing = true
            return batch
        }
    }

    private func loop() {
        while true {
            signal.wait()
            // While `announce` writes, the descriptor is its own: it signals again when done.
            guard let items = state.withLock({ state -> [Item]? in
                guard !state.writing else { return nil }
                state.writing = true
                defer { state.items.removeAll(keepingCapacity: true) }
                return state.items
            }) else { continue }
            var batch: [UInt8] = []
            var stopping = false
            for item in items {
                switch item {
                case .bytes(let bytes):
                    batch.append(contentsOf: bytes)
                case .flush(let continuation):
                    write(batch)
                    batch.removeAll(keepingCapacity: true)
                    continuation.resume()
                case .stop:
                    stopping = true
                }
                if stopping { break }
            }
            write(batch)
            state.withLock { $0.writing = false }
            if stopping { return }
        }
    }

    private func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, !broken.load(ordering: .relaxed) else { return }
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    let error = written < 0 ? errno : EIO
                    if !broken.exchange(true, ordering: .relaxed) { onBroken(error) }
                    return
                }
            }
        }
    }
}
