import CProcessControl
import Foundation
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests start, with posix_spawn: what Foundation's `Process` did for them,
/// without its crash. `Process.run` on Linux reads 256 bytes of each /proc/self/fd entry
/// whatever the entry's length (swift-corelibs-foundation #5472, not in Swift 6.3.1's
/// Foundation); when an entry ends a page, the whole test runner stops with SIGSEGV. Seen here
/// under load, with about 800 threads in the runner.
///
/// As `Process` started it: its own process group, every descriptor but 0, 1 and 2 closed,
/// /dev/null for a stream not given; and, unlike it, with no signal blocked or ignored. The child is reaped when its end is first seen (`exit`),
/// or by a thread of its own once nothing refers to it any more.
public final class ChildProcess: Sendable {
    public let processIdentifier: Int32
    private let ending = Locked<ChildExit?>(nil)

    /// Starts `path` with `arguments` and exactly `environment`; `stdin`, `stdout` and `stderr`
    /// are descriptors the child gets as 0, 1 and 2 (the caller closes its copies), nil for
    /// /dev/null. `blocking` signals start blocked in the child, as a program started from a
    /// thread that blocks them starts (to test what it does about that).
    public init(
        _ path: String, arguments: [String], environment: [String: String], stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil,
        blocking blockedSignals: [Int32] = []
    ) throws {
        // A given descriptor numbered 0-2 could be overwritten by an earlier action before it is
        // copied into place: each is given from a copy above 2.
        var copies: [Int32] = []
        defer { copies.forEach { close($0) } }
        func above2(_ fd: Int32?) throws -> Int32? {
            guard let fd, fd <= 2 else { return fd }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            guard copy >= 0 else { throw SpawnError(message: "cannot start \(path): fcntl(F_DUPFD_CLOEXEC): \(Errno.current)") }
            copies.append(copy)
            return copy
        }
        let streams = [(Int32(0), try above2(stdin)), (1, try above2(stdout)), (2, try above2(stderr))]
        var actions = posix_spawn_file_actions_t()
        try Self.check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init", path)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, given) in streams {
            if let given {
                try Self.check(posix_spawn_file_actions_adddup2(&actions, given, target), "adddup2", path)
            } else {
                try Self.check(posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0), "addopen", path)
            }
        }
        try Self.check(posix_spawn_file_actions_addclosefrom_np(&actions, 3), "addclosefrom_np", path)
        var attributes = posix_spawnattr_t()
        try Self.check(posix_spawnattr_init(&attributes), "posix_spawnattr_init", path)
        defer { posix_spawnattr_destroy(&attributes) }
        // No signal blocked and every one at its default, as a shell starts a program: a child
        // inherits the mask of the thread that starts it, and Dispatch's threads block nearly
        // every signal (a server started from one never saw its SIGTERM).
        var mask = sigset_t()
        var all = sigset_t()
        sigemptyset(&mask)
        for signal in blockedSignals { sigaddset(&mask, signal) }
        sigfillset(&all)
        try Self.check(posix_spawnattr_setsigmask(&attributes, &mask), "posix_spawnattr_setsigmask", path)
        try Self.check(posix_spawnattr_setsigdefault(&attributes, &all), "posix_spawnattr_setsigdefault", path)
        try Self.check(posix_spawnattr_setpgroup(&attributes, 0), "posix_spawnattr_setpgroup", path)
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        try Self.check(posix_spawnattr_setflags(&attributes, Int16(flags)), "posix_spawnattr_setflags", path)

        let argv = ([path] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        var argumentList = argv + [nil]
        var environmentList = envp + [nil]
        let status = posix_spawn(&pid, path, &actions, &attributes, &argumentList, &environmentList)
        try Self.check(status, "posix_spawn", path)
        processIdentifier = pid
    }

    /// The three ends a caller keeps of a child started on pipes (`piped`).
    public struct Pipes {
        public let input: Int32
        public let output: Int32
        public let errors: Int32
    }

    /// Starts `path` with the tests' environment plus `environment`, its stdin, stdout and stderr
    /// on new pipes; the caller owns the returned ends (each is closed here if it cannot start).
    public static func piped(_ path: String, arguments: [String], environment: [String: String]) throws -> (ChildProcess, Pipes) {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        let input = closingOnExecPipe()
        let output = closingOnExecPipe()
        let errors = closingOnExecPipe()
        defer { [input.read, output.write, errors.write].forEach { close($0) } }
        do {
            let process = try ChildProcess(path, arguments: arguments, environment: env, stdin: input.read, stdout: output.write, stderr: errors.write)
            return (process, Pipes(input: input.write, output: output.read, errors: errors.read))
        } catch {
            [input.write, output.read, errors.read].forEach { close($0) }
            throw error
        }
    }

    /// How the child ended, once it has (it is reaped then); nil while it runs.
    public var exit: ChildExit? {
        ending.withLock { ending in
            Self.reapIfEnded(processIdentifier, &ending)
            return ending
        }
    }

    /// Records the child's end in `ending` if it has ended since; under `ending`'s lock.
    private static func reapIfEnded(_ pid: pid_t, _ ending: inout ChildExit?) {
        if ending == nil, let ended = ChildExit.reap(pid, waiting: false) { ending = ended }
    }

    public var isRunning: Bool { exit == nil }

    /// Sends SIGTERM, as `Process.terminate` did.
    public func terminate() { signal(SIGTERM) }

    /// Sends `number` if the child has not been reaped: under the lock that reaping takes, so it
    /// never reaches another process that was given the same pid since.
    public func signal(_ number: Int32) {
        ending.withLock { ending in
            Self.reapIfEnded(processIdentifier, &ending)
            if ending == nil { kill(processIdentifier, number) }
        }
    }

    deinit {
        guard ending.withLock({ $0 }) == nil else { return }
        let pid = processIdentifier
        // Not seen to end: reaped when it does, without holding up whoever let it go; when no
        // thread can be started, at the next child let go.
        guard ChildExit.reap(pid, waiting: false) == nil else { return }
        if DetachedThread.tryStart(name: "test reaper", { _ = ChildExit.reap(pid, waiting: true) }) != 0 {
            Self.unreaped.withLock { $0.append(pid) }
        }
        Self.unreaped.withLock { $0.removeAll { ChildExit.reap($0, waiting: false) != nil } }
    }

    /// Children let go while running whose reaper thread could not start.
    private static let unreaped = Locked<[pid_t]>([])

    private static func check(_ status: Int32, _ call: String, _ path: String) throws {
        guard status == 0 else { throw SpawnError(message: "cannot start \(path): \(call): \(Errno(status))") }
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension ChildExit {
    /// Reaps `pid` if it has ended (or, `waiting`, once it does): how it ended, or nil while it
    /// runs. A child already reaped elsewhere ends with status -1.
    static func reap(_ pid: pid_t, waiting: Bool) -> ChildExit? {
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, waiting ? 0 : WNOHANG)
            if reaped == pid { break }
            if reaped == 0 { return nil }
            if errno == EINTR { continue }
            return ChildExit(status: -1, signaled: false)
        }
        let signal = status & 0x7f
        return signal == 0 ? ChildExit(status: (status >> 8) & 0xff, signaled: false) : ChildExit(status: signal, signaled: true)
    }
}
