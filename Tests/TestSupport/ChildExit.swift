import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended. `of` reads it with waitid(WNOWAIT), leaving the child to whoever
/// reaps it; `ChildProcess` reaps its own (`reap`).
public struct ChildExit: Sendable, Equatable {
    /// The exit status, or the signal's number when `signaled`.
    public let status: Int32
    /// Ended by a signal rather than by exit(3).
    public let signaled: Bool

    public init(status: Int32, signaled: Bool) {
        self.status = status
        self.signaled = signaled
    }

    /// The child's end, if it has ended and is not reaped yet; nil while it runs (or once it is
    /// reaped: then its `ChildProcess` knows).
    public static func of(_ pid: pid_t) -> ChildExit? {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return nil }
        guard info._sifields._sigchld.si_pid == pid else { return nil }
        return ChildExit(status: info._sifields._sigchld.si_status, signaled: info.si_code != Int32(CLD_EXITED))
    }

    /// Waits until `process` has ended or `deadline` passes; its end, or nil at the deadline.
    public static func wait(for process: ChildProcess, until deadline: ContinuousClock.Instant) async throws -> ChildExit? {
        while true {
            if let ended = process.exit { return ended }
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
