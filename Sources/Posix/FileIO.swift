import CProcessControl

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking reads, writes and waits on file descriptors and processes, with interrupted calls
/// (EINTR) retried and short writes continued: every loop over read(2), write(2), poll(2) and
/// waitpid(2) in the project is one of these, so none forgets a case.
public enum FileIO {
    /// Calls `call` again for as long as it fails with EINTR (a signal came before it did
    /// anything): its result, or the errno of its failure (a negative result). For the calls
    /// that return -1 and set errno.
    public static func retryingInterrupted<Result: BinaryInteger>(_ call: () -> Result) throws(Errno) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// Writes all of `bytes`, or throws the errno that stopped it (EPIPE for a closed pipe,
    /// ENOSPC for a full disk; EIO when write(2) makes no progress without saying why).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = try retryingInterrupted { write(fd, base + offset, bytes.count - offset) }
            guard written > 0 else { throw Errno(EIO) }
            offset += written
        }
    }

    /// Writes all of `bytes`; see `writeAll(_:_:)`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        try bytes.withUnsafeBytes { raw in Result { () throws(Errno) in try writeAll(fd, raw) } }.get()
    }

    /// Writes all of `text` in UTF-8; see `writeAll(_:_:)`.
    public static func writeAll(_ fd: Int32, _ text: String) throws(Errno) {
        try writeAll(fd, Array(text.utf8))
    }

    /// What `writeWithoutWaiting` did.
    public enum WriteWithoutWaiting: Equatable, Sendable {
        /// This many bytes were written: all of them, or fewer (the rest is the caller's).
        case wrote(Int)
        /// Nothing: the descriptor would have blocked.
        case wouldBlock
        /// This kernel, or this kind of descriptor, cannot write without blocking this way.
        case unsupported
        case failed(Errno)
    }

    /// One write(2) of `bytes` that fails rather than block, on a descriptor left blocking: a
    /// process's stdout is shared with others (its parent, a terminal), and O_NONBLOCK would
    /// change it under them. Linux's RWF_NOWAIT (pipes since 5.x); `unsupported` elsewhere.
    public static func writeWithoutWaiting(_ fd: Int32, _ bytes: [UInt8]) -> WriteWithoutWaiting {
        while true {
            let written = bytes.withUnsafeBytes { tofu_write_nowait(fd, $0.baseAddress, $0.count) }
            if written >= 0 { return .wrote(written) }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EOPNOTSUPP, EINVAL, ESPIPE, ENOSYS: return .unsupported
            default: return .failed(Errno.current)
            }
        }
    }

    /// One read(2) into `buffer`: the number of bytes read, 0 at the end of the input.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingInterrupted { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// One read(2) into the start of `buffer`; see `read(_:into:)`.
    public static func read(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> Int {
        try buffer.withUnsafeMutableBytes { raw in Result { () throws(Errno) in try read(fd, into: raw) } }.get()
    }

    /// `fd` read to its end, or to its first `limit` bytes (a caller that gets `limit` bytes
    /// knows the input is too long for it without reading the rest).
    public static func readToEnd(_ fd: Int32, atMost limit: Int = .max) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = try chunk.withUnsafeMutableBytes { raw in
                Result { () throws(Errno) in try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<wanted])) }
            }.get()
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// poll(2) on `descriptors` for up to `milliseconds` (-1: no limit): how many are ready, 0 when
    /// the time ran out (never before). An interrupted wait is resumed with the time that was left.
    public static func poll(_ descriptors: inout [pollfd], milliseconds: Int32) throws(Errno) -> Int {
        let deadline = milliseconds >= 0 ? monotonicNanoseconds() + Int64(milliseconds) * 1_000_000 : nil
        let ready = try retryingInterrupted {
            let remaining = deadline.map { Int32(clamping: (max(0, $0 - monotonicNanoseconds()) + 999_999) / 1_000_000) } ?? -1
            return Glibc.poll(&descriptors, nfds_t(descriptors.count), remaining)
        }
        return Int(ready)
    }

    /// waitpid(2) for `pid` to end: its raw wait status (exit status in bits 8 to 15 when the
    /// low seven bits are 0, else the signal that ended it).
    public static func waitForExit(of pid: pid_t) throws(Errno) -> Int32 {
        var status: Int32 = 0
        _ = try retryingInterrupted { waitpid(pid, &status, 0) }
        return status
    }

    private static func monotonicNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
