#if canImport(Glibc)
    import Glibc
#endif

/// An errno value, and the system's words for it.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    /// The calling thread's errno, as the last failed call left it.
    public static var current: Errno { Errno(errno) }

    /// strerror's text, e.g. "Broken pipe".
    public var description: String { String(cString: strerror(code)) }
}

/// Blocking reads and writes on a file descriptor, with interrupted calls (EINTR) retried and
/// short writes continued: every loop over read(2), write(2) and poll(2) in the project is
/// one of these, so none forgets a case.
public enum FileIO {
    /// Writes all of `bytes`, or throws the errno that stopped it (EPIPE for a closed pipe,
    /// ENOSPC for a full disk; EIO when write(2) makes no progress without saying why).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, base + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                throw written < 0 ? Errno.current : Errno(EIO)
            }
        }
    }

    /// Writes all of `bytes`; see `writeAll(_:_:)`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        try bytes.withUnsafeBytes { raw in Result { () throws(Errno) in try writeAll(fd, raw) } }.get()
    }

    /// One read(2) into `buffer`: the number of bytes read, 0 at the end of the input.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// One read(2) into the start of `buffer`; see `read(_:into:)`.
    public static func read(_ fd: Int32, into buffer: inout [UInt8]) throws(Errno) -> Int {
        try buffer.withUnsafeMutableBytes { raw in Result { () throws(Errno) in try read(fd, into: raw) } }.get()
    }

    /// poll(2) on `descriptors` for up to `milliseconds` (-1: no limit): how many are ready, 0 when
    /// the time ran out. An interrupted wait is resumed with the time that was left.
    public static func poll(_ descriptors: inout [pollfd], milliseconds: Int32) throws(Errno) -> Int {
        let start = monotonicMilliseconds()
        while true {
            var remaining = milliseconds
            if milliseconds >= 0 {
                let elapsed = monotonicMilliseconds() - start
                remaining = Int32(clamping: max(0, Int64(milliseconds) - elapsed))
            }
            let ready = Glibc.poll(&descriptors, nfds_t(descriptors.count), remaining)
            if ready >= 0 { return Int(ready) }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// waitpid(2) for `pid`, retried when interrupted: its raw wait status.
    public static func waitForExit(of pid: pid_t) throws(Errno) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw Errno.current }
        }
        return status
    }

    private static func monotonicMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
