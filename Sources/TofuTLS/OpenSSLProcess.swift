import COpenSSL

/// OpenSSL's process-wide state in a process that may exit while its threads are still ending.
public enum OpenSSLProcess {
    /// Keeps OpenSSL from freeing its global state as the process exits: call it first thing in
    /// `main`, before any other OpenSSL call (the first one decides).
    ///
    /// By default OpenSSL 3 frees it in an `atexit` handler (`OPENSSL_cleanup`), which, without
    /// taking its lock, frees every thread's list of thread-exit handlers, the register of those
    /// lists and the register's lock. A thread that used OpenSSL (tofu-rpc's write lane parses
    /// each pinCert's PEM) and ends as the process exits (the lane ends when the connection is
    /// released, just before `exit`) runs those same handlers and takes that lock at that moment:
    /// a double free and writes into freed memory, which corrupt the heap (seen once as glibc's
    /// `malloc_consolidate(): invalid chunk size` as tofu-rpc ended on a loaded machine). The
    /// memory goes with the process anyway. False if OpenSSL refused: the process works as well,
    /// and the race remains.
    @discardableResult
    public static func keepStateUntilExit() -> Bool {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1
    }
}
