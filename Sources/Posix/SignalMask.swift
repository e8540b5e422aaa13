#if canImport(Glibc)
    import Glibc
#endif

/// The signal mask a process was started with.
public enum SignalMask {
    /// Unblocks every signal on the calling thread (the main thread, first thing), so that a
    /// `kill` reaches the process however it was started. A program inherits the mask of the
    /// thread that started it, and a client's worker threads often block nearly every signal
    /// (Dispatch's do): started from one, tofu-rpc would never see its SIGTERM and outlive a
    /// client that stops it. Returns false if the mask could not be set.
    @discardableResult
    public static func unblockAll() -> Bool {
        var none = sigset_t()
        sigemptyset(&none)
        return pthread_sigmask(SIG_SETMASK, &none, nil) == 0
    }
}
