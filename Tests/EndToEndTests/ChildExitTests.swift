import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The harness's own view of a child's end (waitid without reaping).
@Suite struct ChildExitTests {
    static func spawn(_ script: String) throws -> pid_t {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard status == 0 else { throw PeerError.timeout }
        return pid
    }

    @Test func anExitAndASignalAreReadWithoutReaping() async throws {
        let exited = try Self.spawn("exit 7")
        let killed = try Self.spawn("sleep 30")
        #expect(ChildExit.of(killed) == nil, "a running child has not ended")
        kill(killed, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while (ChildExit.of(exited) == nil || ChildExit.of(killed) == nil) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ChildExit.of(exited) == ChildExit(status: 7, signaled: false))
        #expect(ChildExit.of(killed) == ChildExit(status: SIGKILL, signaled: true))
        // Not reaped: the exit is still there to read, and waitpid reaps it now.
        var status: Int32 = 0
        #expect(waitpid(exited, &status, 0) == exited)
        #expect(waitpid(killed, &status, 0) == killed)
        #expect(ChildExit.of(exited) == nil, "a reaped child is Foundation's (or the reaper's) to report")
    }
}

/// How the tests start programs (`ChildProcess`): as Foundation's `Process` started them, which
/// it replaces (its `run` can crash the test runner), and reaped.
@Suite struct ChildProcessTests {
    static func shell(_ script: String, stdout: Int32? = nil) throws -> ChildProcess {
        try ChildProcess("/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"], stdout: stdout)
    }

    static func ended(_ process: ChildProcess) async throws -> ChildExit {
        try #require(try await ChildExit.wait(for: process, until: ContinuousClock.now + TestTime.bound(.seconds(20))))
    }

    @Test func anExitStatusAndASignalAreReported() async throws {
        #expect(try await Self.ended(Self.shell("exit 7")) == ChildExit(status: 7, signaled: false))
        #expect(try await Self.ended(Self.shell("kill -9 $$")) == ChildExit(status: SIGKILL, signaled: true))
        let sleeper = try Self.shell("exec sleep 30")
        #expect(sleeper.isRunning)
        sleeper.terminate()
        #expect(try await Self.ended(sleeper) == ChildExit(status: SIGTERM, signaled: true))
    }

    /// Only 0, 1 and 2 reach the child, whatever the runner has open without close-on-exec
    /// (a pipe end another test holds would otherwise stay open in it); the child leads a process
    /// group of its own; what is not given is /dev/null; no signal is blocked in it, whatever the
    /// thread that started it blocks.
    @Test func theChildGetsItsThreeStreamsAndAGroupOfItsOwn() async throws {
        var leaked: [Int32] = [-1, -1]
        #expect(pipe(&leaked) == 0)
        defer { leaked.forEach { close($0) } }
        let output = closingOnExecPipe()
        let collector = TextCollector(fd: output.read)
        let masks = closingOnExecPipe()
        let mask = TextCollector(fd: masks.read)
        // Started from a thread that blocks SIGTERM, as Dispatch's threads do. sed reports its own
        // mask (a shell would clear its own at start and hide it).
        var blocked = sigset_t()
        var before = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &before)
        let started = Result {
            (
                try Self.shell(#"for f in /proc/$$/fd/*; do printf '%s ' "$(readlink $f)"; done; echo; cut -d' ' -f5 /proc/$$/stat; echo $$; readlink /proc/$$/fd/0"#, stdout: output.write),
                try ChildProcess("/usr/bin/sed", arguments: ["-n", #"s/^SigBlk:\t//p"#, "/proc/self/status"], environment: [:], stdout: masks.write)
            )
        }
        pthread_sigmask(SIG_SETMASK, &before, nil)
        let (child, sed) = try started.get()
        close(masks.write)
        #expect(try await Self.ended(sed) == ChildExit(status: 0, signaled: false))
        while !mask.ended { try await Task.sleep(for: .milliseconds(5)) }
        #expect(mask.text == "0000000000000000\n", "signals blocked in the child: \(mask.text)")
        close(output.write)
        #expect(try await Self.ended(child) == ChildExit(status: 0, signaled: false))
        while !collector.ended { try await Task.sleep(for: .milliseconds(5)) }
        let lines = collector.text.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(collector.text)")
        var pipeInfo = stat()
        #expect(fstat(leaked[0], &pipeInfo) == 0)
        #expect(!lines[0].contains("pipe:[\(pipeInfo.st_ino)]"), "the child holds the runner's pipe: \(lines[0])")
        #expect(lines[1] == lines[2], "process group \(lines[1]) of child \(lines[2])")
        #expect(lines[3] == "/dev/null")
    }

    /// A program run to its end leaves no descriptor open here (each left two, its output's and
    /// its errors' read ends: a full run reached a thousand). Told by the pipe each descriptor
    /// held, not by counting: other tests open and close descriptors all the while, and a closed
    /// number may already hold something else.
    @Test func runningProgramsLeavesNoDescriptorsBehind() async throws {
        func pipeInode(_ fd: Int32) -> ino_t? {
            var info = stat()
            return fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO ? info.st_ino : nil
        }
        for _ in 0..<20 {
            let (process, pipes) = try ChildProcess.piped("/bin/true", arguments: [], environment: [:])
            close(pipes.input)
            let held = [pipes.output, pipes.errors].map { ($0, pipeInode($0)) }
            let readers = [TextCollector(fd: pipes.output), TextCollector(fd: pipes.errors)]
            #expect(try await Self.ended(process) == ChildExit(status: 0, signaled: false))
            let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
            while readers.contains(where: { !$0.ended }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            for (fd, inode) in held {
                #expect(inode != nil && pipeInode(fd) != inode, "descriptor \(fd) still holds the program's pipe after its end")
            }
        }
    }

    @Test func aProgramThatCannotStartIsAnError() {
        #expect(throws: SpawnError.self) { try ChildProcess("/nonexistent/tofu-rpc", arguments: [], environment: [:]) }
    }

    /// A child let go before it ended is still reaped: no zombie is left behind.
    @Test func aChildLetGoIsReapedWhenItEnds() async throws {
        var pid: pid_t = 0
        do {
            let child = try Self.shell("exec sleep 0.2")
            pid = child.processIdentifier
        }
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(20))
        while kill(pid, 0) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "child \(pid) is still there (a zombie?)")
    }
}
