import Foundation
import TestSupport
import Testing

/// `tofu-rpc` and `tofu` hold passwords in memory; a crash must not write them to disk. Each
/// is started as an operator with `ulimit -c unlimited` would start it, then looked at from
/// outside while it waits:
/// - its core limit in /proc/PID/limits must be 0, soft and hard;
/// - it must not be dumpable. The kernel shows that from outside: the files in /proc/PID of a
///   process that is not dumpable belong to root, not to the process's user. The programs run
///   as an unprivileged user (nobody, when the tests run as root) so the two differ; a control
///   program started the same way shows its own user there;
/// - crashed with SIGSEGV in a directory where cores would be written, it leaves none, where
///   the control leaves one (skipped, with the reason printed, when core_pattern sends cores
///   elsewhere, e.g. to a program).
@Suite struct CoreDumpTests {
    static let unprivileged: uid_t = getuid() == 0 ? 65534 : getuid()

    /// `bash -c` that enters `directory`, allows unlimited cores, and becomes `arguments`, run
    /// as the unprivileged user.
    static func started(_ arguments: [String], in directory: String) throws -> ServerProcess {
        let user = getuid() == 0 ? ["setpriv", "--reuid=\(unprivileged)", "--regid=\(unprivileged)", "--clear-groups", "--"] : []
        return try ServerProcess(
            "/bin/bash", arguments: ["-c", #"cd "$0" && ulimit -c unlimited && exec "$@""#, directory] + user + arguments,
            // Swift's backtracer would catch SIGSEGV and take seconds to print a backtrace.
            environment: CLITests.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 })
    }

    /// A directory the unprivileged user may write (its store, its core files).
    static func directory(_ label: String) -> String {
        let path = temporaryDirectory(label)
        chmod(path, 0o777)
        return path
    }

    /// (soft, hard) of "Max core file size" in /proc/PID/limits.
    static func coreLimit(_ pid: Int32) throws -> (String, String) {
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        let fields = line.dropFirst("Max core file size".count).split(separator: " ")
        return (String(fields[0]), String(fields[1]))
    }

    /// Who owns /proc/PID/status: the process's user, or root when it is not dumpable.
    static func procOwner(_ pid: Int32) -> uid_t? {
        var info = stat()
        return stat("/proc/\(pid)/status", &info) == 0 ? info.st_uid : nil
    }

    static func executable(_ pid: Int32) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
    }

    static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    /// Waits until `pid` runs `path` and sleeps reading a pipe (its stdin).
    static func waitUntilReading(_ pid: Int32, runs path: String) async throws {
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(60))
        var wchan = ""
        var stat = ""
        while ContinuousClock.now < deadline {
            wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? ""
            stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if executable(pid) == resolved(path) && wchan.contains("pipe") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("pid \(pid) never waited on its stdin running \(path) (it runs \(executable(pid)); wchan \(wchan); stat \(stat))")
    }

    /// Why core files cannot be seen in the crashed process's directory, or nil if they can.
    static func coreFilesUnobservable() -> String? {
        let pattern = ((try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if pattern.hasPrefix("|") { return "core_pattern pipes cores to a program (\(pattern)), not to a file" }
        if pattern.contains("/") || pattern.isEmpty { return "core_pattern writes cores elsewhere (\(pattern))" }
        return nil
    }

    /// Sends SIGSEGV; the core files the process left in `directory` (removed).
    static func crash(_ process: ServerProcess, in directory: String) async throws -> [String] {
        kill(process.process.processIdentifier, SIGSEGV)
        _ = try await process.waitForExit()
        #expect(process.ended == ChildExit(status: SIGSEGV, signaled: true), "\(String(describing: process.ended))")
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("core") }
        for file in found { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        return found
    }

    /// A dumpable program started the same way: its /proc files are its user's and its crash
    /// leaves a core, or the checks below could not see anything.
    @Test func theControlIsDumpableAndLeavesACore() async throws {
        let directory = Self.directory("tofu-core-control")
        let control = try Self.started(["/bin/cat"], in: directory)
        let pid = control.process.processIdentifier
        try await Self.waitUntilReading(pid, runs: "/bin/cat")
        let limit = try Self.coreLimit(pid)
        #expect(limit.0 == "unlimited" && limit.1 == "unlimited", "\(limit)")
        #expect(Self.procOwner(pid) == Self.unprivileged)
        if let reason = Self.coreFilesUnobservable() {
            print("CoreDumpTests: not checking for core files: \(reason)")
            control.closeInput()
            return
        }
        #expect(try await Self.crash(control, in: directory).isEmpty == false, "a dumpable program left no core file")
    }

    static func check(_ process: ServerProcess, in directory: String) async throws {
        let pid = process.process.processIdentifier
        let limit = try coreLimit(pid)
        #expect(limit.0 == "0" && limit.1 == "0", "core dumps are still allowed: soft \(limit.0), hard \(limit.1)")
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("\nUid:\t\(unprivileged)\t"), "not running as \(unprivileged): \(status)")
        #expect(procOwner(pid) == 0, "the process is dumpable: /proc/\(pid) belongs to its user, \(procOwner(pid).map(String.init) ?? "?")")
        if let reason = coreFilesUnobservable() {
            print("CoreDumpTests: not checking for core files: \(reason)")
            process.closeInput()
            return
        }
        let found = try await crash(process, in: directory)
        #expect(found.isEmpty, "a crash wrote a core file: \(found)")
    }

    @Test func tofuRPCTurnsCoreDumpsOff() async throws {
        let directory = Self.directory("tofu-core-rpc")
        let server = try Self.started([productPath("tofu-rpc"), "--store", directory + "/store.sqlite"], in: directory)
        // An answer: tofu-rpc is past its start and idle on its stdin.
        let answer = try await server.call("rpc.discover")
        #expect(answer.object["result"] != nil, "\(answer) \(server.stderr)")
        #expect(Self.executable(server.process.processIdentifier) == Self.resolved(productPath("tofu-rpc")))
        try await Self.check(server, in: directory)
    }

    /// A shell cannot make itself not dumpable: tofu.sh sets the limit, for itself and the jq
    /// it starts (its tofu-rpc does both).
    @Test func theShellClientAtItsPasswordTurnsCoreFilesOff() async throws {
        let directory = Self.directory("tofu-core-shell")
        let client = try Self.started(
            ["/bin/bash", CLITests.Client.script, "add-dnac-server", "--server", "127.0.0.1:\(TLSPeers.closedPort())", "--username", "admin",
             "--password-stdin", "--store", directory + "/store.sqlite"], in: directory)
        try await Self.waitUntilReading(client.process.processIdentifier, runs: "/bin/bash")
        let limit = try Self.coreLimit(client.process.processIdentifier)
        #expect(limit.0 == "0" && limit.1 == "0", "core files are still allowed: soft \(limit.0), hard \(limit.1)")
        client.closeInput()
    }

    @Test func tofuAtItsPasswordTurnsCoreDumpsOff() async throws {
        let directory = Self.directory("tofu-core-cli")
        let client = try Self.started(
            [productPath("tofu"), "add-dnac-server", "--server", "127.0.0.1:\(TLSPeers.closedPort())", "--username", "admin",
             "--password-stdin", "--store", directory + "/store.sqlite"], in: directory)
        // It waits for its password on a pipe that stays open.
        try await Self.waitUntilReading(client.process.processIdentifier, runs: productPath("tofu"))
        try await Self.check(client, in: directory)
    }
}
