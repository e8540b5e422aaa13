#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own for blocking I/O, which must stay off Swift's cooperative pool: the one
/// way the project starts threads (JSON-RPC's input and output threads, `BoundedThreadPool`'s).
///
/// POSIX threads, not Foundation's `Thread`: that one class links all of Foundation into every
/// binary that uses it, which cost the `tofu` CLI about 2 ms on every start.
public enum DetachedThread {
    /// Runs `body` on a new detached thread named `name` (at most 15 bytes are kept), as
    /// `top -H` and debuggers show it. A thread that cannot be started stops the process: for
    /// threads a process cannot work without.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let status = tryStart(name: name, body)
        guard status == 0 else { fatalError("cannot start the \(name) thread: \(Errno(status))") }
    }

    /// Runs `body` on a new detached thread named `name`; returns 0, or pthread_create's error
    /// (EAGAIN past the process's thread limit), in which case `body` never runs.
    public static func tryStart(name: String, _ body: @escaping @Sendable () -> Void) -> Int32 {
        let box = Unmanaged.passRetained(Body { nameThisThread(name); body() }).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { pointer in
            guard let pointer else { return nil }
            Unmanaged<Body>.fromOpaque(pointer).takeRetainedValue().run()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            return status
        }
        pthread_detach(thread)
        return 0
    }

    /// Through /proc: Glibc's module does not export pthread_setname_np, and a name is worth
    /// no C shim of its own. A failure only leaves the process's name.
    private static func nameThisThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = try? FileIO.writeAll(fd, Array(name.utf8.prefix(15)))
        close(fd)
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
