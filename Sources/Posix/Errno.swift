#if canImport(Glibc)
    import Glibc
#endif

/// An errno value, and the system's words for it: what a failed system call says, as a Swift
/// error whose text goes straight into a message for the operator (`"\(error)"`).
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32

    /// An errno value, or an error number a call returns instead of setting errno
    /// (pthread_create, posix_spawn).
    public init(_ code: Int32) { self.code = code }

    /// The calling thread's errno, as the last failed call left it.
    public static var current: Errno { Errno(errno) }

    /// strerror's text, e.g. "Broken pipe".
    public var description: String { String(cString: strerror(code)) }
}
