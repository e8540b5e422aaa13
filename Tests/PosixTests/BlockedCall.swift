import Dispatch
import Posix
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Signals handled by `Interruption`'s handler, in every thread.
private let handledSignals = Atomic<Int>(0)

/// SIGUSR2, handled without SA_RESTART: a call it interrupts before doing anything fails with
/// EINTR, and a write it interrupts midway returns short, unless the caller carries on.
enum Interruption {
    static let signal = SIGUSR2

    /// Installs the handler, once for the process.
    static let installed: Void = {
        _ = handledSignals.load(ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in handledSignals.add(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        precondition(sigaction(Interruption.signal, &action, nil) == 0)
    }()

    static var handled: Int { handledSignals.load(ordering: .relaxed) }
}

/// A call made on a thread of its own, which the test interrupts with `Interruption.signal`
/// while it blocks, then lets finish.
final class BlockedCall<Value: Sendable>: Sendable {
    private struct State {
        var thread: pthread_t?
        /// The thread's directory in /proc, e.g. "/proc/1775/task/1780".
        var directory: String?
        var value: Value?
    }

    /// What the thread shares with the test, which outlives this object.
    private final class Shared: Sendable {
        let state = Locked(State())
        let mayEnd = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()
    private var state: Locked<State> { _read { yield shared.state } }

    init(_ call: @escaping @Sendable () -> Value) {
        Interruption.installed
        DetachedThread.start(name: "blocked call") { [shared] in
            // A thread inherits its creator's mask, and Dispatch's threads block most signals.
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, Interruption.signal)
            pthread_sigmask(SIG_UNBLOCK, &only, nil)
            var link = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/thread-self", &link, link.count)
            let directory = length > 0 ? "/proc/" + String(decoding: link[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
            shared.state.withLock {
                $0.thread = pthread_self()
                $0.directory = directory
            }
            let value = call()
            shared.state.withLock { $0.value = value }
            // Lives on until the test is done with it: a signal to a thread that has ended is
            // undefined behaviour.
            shared.mayEnd.wait()
        }
    }

    deinit { shared.mayEnd.signal() }

    /// Waits until the call sleeps in the kernel, then interrupts it and waits until the
    /// signal was handled (so the thread has left the call, at least for a moment).
    func interrupt() async throws {
        try await eventually { self.isAsleep }
        try #require(isAsleep, "the call never blocked")
        let thread = try #require(state.withLock { $0.thread })
        let before = Interruption.handled
        #expect(pthread_kill(thread, Interruption.signal) == 0)
        try await eventually { Interruption.handled > before }
        try #require(Interruption.handled > before, "the signal was not handled")
    }

    /// What the call returned, once it has.
    func value() async throws -> Value {
        try await eventually { self.state.withLock { $0.value != nil } }
        return try #require(state.withLock { $0.value }, "the call never returned")
    }

    /// Whether the thread sleeps (state S in /proc: blocked in a system call).
    private var isAsleep: Bool {
        guard let directory = state.withLock({ $0.directory }), let stat = Self.text(of: directory + "/stat") else { return false }
        // "tid (name) S …": the state follows the name, which may itself hold spaces or ")".
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[close...].dropFirst().trimmingPrefix(" ").first == "S"
    }

    private static func text(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return (try? FileIO.readToEnd(fd)).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A pipe whose ends are closed on exec (another test may start a program at any moment).
struct TestPipe {
    let read: Int32
    let write: Int32

    init() throws {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        closeOnExec(ends[0], ends[1])
        read = ends[0]
        write = ends[1]
    }

    /// Bytes the pipe holds and can hold.
    var buffered: Int {
        var count: Int32 = 0
        return ioctl(read, UInt(FIONREAD), &count) == 0 ? Int(count) : -1
    }

    /// fcntl's F_GETPIPE_SZ, which Glibc's module does not export.
    var capacity: Int { Int(fcntl(read, 1032)) }
}
