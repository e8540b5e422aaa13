import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes framed messages to a file descriptor from a thread of its own, so a peer that
/// reads slowly blocks that thread, never Swift's cooperative pool.
final class OutputWriter: Sendable {
    private enum Item: Sendable {
        case bytes([UInt8])
        case flush(CheckedContinuation<Void, Never>)
        case stop
    }

    private let fd: Int32
    private let pending = Mutex<[Item]>([])
    private let signal = DispatchSemaphore(value: 0)
    private let broken = Atomic<Bool>(false)
    private let onBroken: @Sendable (Int32) -> Void

    /// `onBroken` is called once, with errno, when the peer stops reading (e.g. EPIPE);
    /// later output is dropped.
    init(fd: Int32, onBroken: @escaping @Sendable (Int32) -> Void) {
        self.fd = fd
        self.onBroken = onBroken
        let thread = Thread { [self] in self.loop() }
        thread.name = "tofu-rpc output"
        thread.start()
    }

    func send(_ bytes: [UInt8]) {
        pending.withLock { $0.append(.bytes(bytes)) }
        signal.signal()
    }

    /// Ends the writing thread once everything sent before has been written.
    func stop() {
        pending.withLock { $0.append(.stop) }
        signal.signal()
    }

    /// Returns once everything sent before it has been written (or dropped, if the peer is gone).
    func flush() async {
        await withCheckedContinuation { continuation in
            pending.withLock { $0.append(.flush(continuation)) }
            signal.signal()
        }
    }

    private func loop() {
        while true {
            signal.wait()
            let items = pending.withLock { items in
                defer { items.removeAll(keepingCapacity: true) }
                return items
            }
            var batch: [UInt8] = []
            for item in items {
                switch item {
                case .bytes(let bytes):
                    batch.append(contentsOf: bytes)
                case .flush(let continuation):
                    write(batch)
                    batch.removeAll(keepingCapacity: true)
                    continuation.resume()
                case .stop:
                    write(batch)
                    return
                }
            }
            write(batch)
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

