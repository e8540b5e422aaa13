import CProcessControl

#if canImport(Glibc)
    import Glibc
#endif

/// Keeping the passwords a tofu process holds (typed at the CLI, or sent in `addDnacServer`)
/// out of core files.
public enum ProcessHardening {
    /// Turns core dumps off for this process, first thing at start: RLIMIT_CORE to 0, soft and
    /// hard (so nothing later can raise it again), and not dumpable. The latter also stops a
    /// `core_pattern` pipe (systemd-coredump, apport), which ignores RLIMIT_CORE, and keeps
    /// other processes of the same user from attaching with ptrace or reading /proc/PID/mem.
    ///
    /// A failure is written to stderr as a warning (`program: …`) and the process goes on: both
    /// calls only give up something, and fail only where a sandbox forbids them, where refusing
    /// to start would turn a defence into an outage of the tool meant to end one. Returns false
    /// after such a failure.
    ///
    /// Not dumpable has a price: a crash leaves no core to debug and Swift's backtracer cannot
    /// read the crashed process unless it runs as root. `execve` makes a process dumpable
    /// again, so every executable calls this itself (`tofu` and the `tofu-rpc` it starts).
    @discardableResult
    public static func disableCoreDumps(reportingAs program: String) -> Bool {
        var failures: [String] = []
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) != 0 {
            failures.append("setrlimit(RLIMIT_CORE): \(Errno.current)")
        }
        if tofu_prctl_set_dumpable(0) != 0 {
            failures.append("prctl(PR_SET_DUMPABLE): \(Errno.current)")
        }
        guard !failures.isEmpty else { return true }
        let warning = "\(program): warning: cannot turn off core dumps (\(failures.joined(separator: "; "))); "
            + "a crash could write passwords to disk: run it with `ulimit -c 0` where core files are kept\n"
        _ = try? FileIO.writeAll(STDERR_FILENO, warning)
        return false
    }
}
