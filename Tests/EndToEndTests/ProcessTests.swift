import Foundation
import TestSupport
import Testing

/// What the process does around the protocol: terminals, broken pipes.
@Suite struct ProcessTests {
    @Test func aTerminalOnStdinGetsAOneLineHintOnStderr() async throws {
        // script(1) runs tofu-rpc on a pseudo-terminal; its stderr goes to a file, apart from
        // the terminal, so the hint is seen exactly as written.
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script))
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tofu-hint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let process = try ChildProcess(
            script, arguments: ["-qec", "timeout 10 '\(productPath("tofu-rpc"))' 2>'\(log)'", "/dev/null"],
            environment: ProcessInfo.processInfo.environment)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // script(1) closes the terminal when its own stdin ends, which the server may log after the hint.
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.contains("try:") }.count == 1, "stderr: \(text)")
        #expect(lines.first?.hasPrefix("tofu-rpc: reading JSON-RPC on stdin; try: ") == true)
        #expect(lines.first?.hasSuffix(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#) == true)
    }

    @Test func noHintWhenStdinIsAPipe() async throws {
        let server = try ServerProcess()
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        #expect(server.stderr.isEmpty, "stderr: \(server.stderr)")
    }

    /// With no arguments tofu-rpc skips argument parsing (the `tofu` CLI starts it so); the
    /// environment must count all the same, and a bad value be refused as the parser refuses it.
    @Test func withoutArgumentsTheEnvironmentStillCounts() async throws {
        let store = temporaryDirectory("tofu-home") + "/env.sqlite"
        let response = #"{"jsonrpc":"2.0","id":5,"result":1}"#
        for (level, logged) in [("debug", true), ("notice", false)] {
            let server = try ServerProcess(arguments: [], environment: ["TOFU_STORE": store, "TOFU_LOG_LEVEL": level])
            server.send(line: response)
            #expect(try await server.call("listCerts").errorCode == nil)
            server.closeInput()
            #expect(try await server.waitForExit() == 0)
            #expect(server.stderr.contains("ignored a response object") == logged, "TOFU_LOG_LEVEL=\(level): \(server.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: store))
        for arguments in [[], ["--store", store]] {
            let refused = try await runProgram(productPath("tofu-rpc"), arguments, stdin: "", environment: ["TOFU_LOG_LEVEL": "loud"])
            #expect(refused.status == 64, "\(arguments): \(refused)")
            #expect(refused.stderr.contains("--log-level must be one of"), "\(arguments): \(refused.stderr)")
        }
    }

    /// Started from a thread that blocks SIGTERM (a client's worker thread: Dispatch's block
    /// nearly every signal), tofu-rpc still ends on the SIGTERM a client stops it with. (Its
    /// start already cleared the main thread's mask before it did so itself, by means not its
    /// own; `SignalMask.unblockAll` says so in its code.)
    @Test func aServerStartedWithSIGTERMBlockedStillEndsOnIt() async throws {
        let input = closingOnExecPipe()
        let output = closingOnExecPipe()
        let process = try ChildProcess(
            productPath("tofu-rpc"), arguments: ["--store", newStorePath()], environment: ProcessInfo.processInfo.environment,
            stdin: input.read, stdout: output.write, blocking: [SIGTERM])
        [input.read, output.write].forEach { close($0) }
        defer { close(input.write) }
        let reader = PeerReader(fd: output.read, closingAtEnd: true)
        writeAll(input.write, Wire.ndjson(Wire.request("listCerts", id: 1)))
        #expect(try await reader.next().errorCode == nil, "the server answers before it is stopped")
        process.terminate()
        let ended = try await ChildExit.wait(for: process, until: ContinuousClock.now + TestTime.bound(.seconds(20)))
        if ended == nil { kill(process.processIdentifier, SIGKILL) }
        #expect(ended == ChildExit(status: SIGTERM, signaled: true), "tofu-rpc ignored SIGTERM: \(String(describing: ended))")
    }

    @Test func aReaderThatGoesAwayDoesNotKillTheServer() async throws {
        let (process, pipes) = try ChildProcess.piped(productPath("tofu-rpc"), arguments: [], environment: [:])
        let collector = TextCollector(fd: pipes.errors)
        // The reader goes away: the server's answers meet a pipe nobody reads.
        close(pipes.output)
        var bytes: [UInt8] = []
        for id in 1...50 { bytes += Wire.ndjson(Wire.request("rpc.discover", id: id)) }
        writeAll(pipes.input, bytes)
        close(pipes.input)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard let ended = process.exit else {
            process.terminate()
            Issue.record("tofu-rpc still running 60 s after its input ended")
            return
        }
        #expect(ended == ChildExit(status: 0, signaled: false), "\(ended)")
        while !collector.ended && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(collector.text.contains("stopped reading"))
    }
}
