import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The threads every TLS probe of a process runs on: a `BoundedThreadPool` of at most
/// `--max-probes` threads, the rest waiting their turn first come, first served.
///
/// A probe blocks (getaddrinfo, connect, the handshake, addDnacServer's HTTP), so it needs a
/// thread of its own off Swift's cooperative pool; one thread and one socket per probe made a
/// batch of 1,000 `verifyCert` calls open 1,000 of each at once and run the process out of file
/// descriptors. Here threads and sockets stay within the limit whatever the callers ask, and a
/// waiting probe can be taken out of the queue at once (cancellation).
public enum ProbePool {
    /// Probes at once when nothing else is said (tofu-rpc's `--max-probes`).
    public static let defaultLimit = 64

    /// File descriptors left for everything but probes: stdio, the store's connections (each a
    /// database, WAL and shared-memory file), the event loop's.
    static let reservedDescriptors = 64

    /// The most probes the process's file-descriptor limit (ulimit -n) affords, each counted
    /// at two descriptors (its socket, and what getaddrinfo opens), after the reserve; nil when
    /// the limit is unlimited. A pool within it leaves the store room to open its files.
    public static var affordableLimit: Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let soft = Int(clamping: limit.rlim_cur)
        return max(1, (soft - reservedDescriptors) / 2)
    }

    /// The pool every `TLSProbe` of this process runs on.
    public static let shared = make(limit: defaultLimit)

    /// A pool for probes, its threads named for them.
    static func make(limit: Int, idleMilliseconds: Int = 5000) -> BoundedThreadPool {
        BoundedThreadPool(limit: limit, threadName: "tofu probe", idleMilliseconds: idleMilliseconds)
    }

    /// What a probe answers when the pool could start no thread for it.
    static func refusal(_ error: Errno) -> ProbeFailure {
        ProbeFailure(.localLimit, "tofu-rpc cannot start a probe thread (\(error)); lower --max-probes or raise the process limit (ulimit -u)")
    }
}
