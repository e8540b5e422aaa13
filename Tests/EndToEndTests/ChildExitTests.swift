import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The harness's own view of a child's end (waitid without reaping), which the tests rely on
/// where Foundation's `Process` can miss an exit.
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
