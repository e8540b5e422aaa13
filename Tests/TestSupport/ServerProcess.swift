import Foundation
import Posix

/// A built executable of this package (next to the test bundle), e.g. `tofu-rpc`.
public func productPath(_ name: String) -> String {
    if name.hasPrefix("/") { return name }
    if let override = ProcessInfo.processInfo.environment["TOFU_BIN_DIR"] {
        return override + "/" + name
    }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
    // The test runner may live inside a .xctest bundle directory.
    while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent(name).path
}

/// A real `tofu-rpc` (or other) process with its stdin, stdout and stderr on pipes.
public final class ServerProcess: Sendable {
    public let process: ChildProcess
    private let exit = Locked<ChildExit?>(nil)
    private let input: PipeWriter
    private let output: Int32
    private let reading = Locked<PeerReader?>(nil)
    private let errors: TextCollector

    /// With `readingAtOnce: false`, nothing reads the process's stdout until `reader` is first
    /// used: what a client that does not read its answers looks like to the server.
    public init(
        _ executable: String = "tofu-rpc", arguments: [String] = [], environment: [String: String] = [:], readingAtOnce: Bool = true
    ) throws {
        let pipes: ChildProcess.Pipes
        (process, pipes) = try ChildProcess.piped(productPath(executable), arguments: arguments, environment: environment)
        self.input = PipeWriter(fd: pipes.input)
        self.output = pipes.output
        self.errors = TextCollector(fd: pipes.errors)
        if readingAtOnce { _ = reader }
    }

    /// The reader of the process's stdout, started on first use.
    public var reader: PeerReader {
        reading.withLock { reader in
            if let reader { return reader }
            let started = PeerReader(fd: output, closingAtEnd: true)
            reader = started
            return started
        }
    }

    public func send(_ bytes: [UInt8]) {
        input.send(bytes)
    }

    /// Sends one NDJSON line.
    public func send(line text: String) { send(Wire.ndjson(text)) }

    /// Sends a request in the given framing and returns the next message.
    public func call(_ method: String, id: Any = 1, params: Any? = nil, framing: String = "ndjson") async throws -> Received {
        send(Wire.frame(Wire.request(method, id: id, params: params), framing))
        return try await reader.next()
    }

    public func closeInput() { input.close() }

    /// Everything the process wrote to stderr so far.
    public var stderr: String { errors.text }

    /// Waits for the process to end; returns its exit status (or throws on timeout, after killing it).
    public func waitForExit(timeout: Duration = TestTime.bound(.seconds(20))) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        guard let ended = try await ChildExit.wait(for: process, until: deadline) else {
            // A server that does not exit: what each of its threads is doing, for the log.
            let pid = process.processIdentifier
            let stacks = try? await runProgram("/usr/bin/gdb", ["-batch", "-p", String(pid), "-ex", "thread apply all bt 25"], timeout: .seconds(60))
            FileHandle.standardError.write(Data("server \(pid) did not exit in time:\n\(stacks.map { $0.stdout + $0.stderr } ?? "gdb failed")\n".utf8))
            process.terminate()
            throw PeerError.timeout
        }
        exit.withLock { $0 = ended }
        while !errors.ended && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        return ended.status
    }

    /// How the process ended, once `waitForExit` has seen it end.
    public var ended: ChildExit? { exit.withLock { $0 } }

    deinit {
        process.terminate()
    }
}

/// Collects everything written to a file descriptor, on a thread of its own; the descriptor is
/// its own, closed at its end.
public final class TextCollector: Sendable {
    private let state = Locked<(text: String, ended: Bool)>(("", false))

    public init(fd: Int32) {
        readOnItsOwnThread(fd, closingAtEnd: true) { [self] chunk in
            state.withLock { state in
                if let chunk { state.text += String(decoding: chunk, as: UTF8.self) } else { state.ended = true }
            }
        }
    }

    public var text: String { state.withLock { $0.text } }
    public var ended: Bool { state.withLock { $0.ended } }
}
