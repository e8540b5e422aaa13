import Foundation

/// The result of running a program to completion.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// A started program: its process and what it writes.
private struct Launched {
    let process: ChildProcess
    let output: TextCollector
    let errors: TextCollector

    func result(_ ended: ChildExit) -> CommandResult { CommandResult(status: ended.status, stdout: output.text, stderr: errors.text) }
    var drained: Bool { output.ended && errors.ended }
}

/// Starts `executable` (a path, or a name looked up in /usr/bin, /bin, /usr/sbin) with its
/// output collected and `stdin` written from a thread of its own.
private func launch(_ executable: String, _ arguments: [String], stdin: String?, environment: [String: String]) throws -> Launched {
    let path = executable.hasPrefix("/") ? executable : ["/usr/bin/", "/bin/", "/usr/sbin/"].map { $0 + executable }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? executable
    let (process, pipes) = try ChildProcess.piped(path, arguments: arguments, environment: environment)
    let launched = Launched(process: process, output: TextCollector(fd: pipes.output), errors: TextCollector(fd: pipes.errors))
    let writer = PipeWriter(fd: pipes.input)
    if let stdin { writer.send(Array(stdin.utf8)) }
    writer.close()
    return launched
}

/// A fresh directory under the system's temporary directory, for one test.
public func temporaryDirectory(_ label: String = "tofu-test") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A path for a new store file in a new temporary directory; `inSubdirectory` puts it one
/// directory further down, which does not exist yet (tofu creates it).
public func newStorePath(_ label: String = "tofu-store", inSubdirectory: Bool = false) -> String {
    temporaryDirectory(label) + (inSubdirectory ? "/data/store.sqlite" : "/store.sqlite")
}

/// Runs a program to completion without blocking Swift's cooperative pool.
/// `whileRunning` is called once, with its pid, shortly after it starts.
public func runProgram(
    _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    timeout: Duration = TestTime.bound(.seconds(60)), whileRunning: (@Sendable (Int32) async throws -> Void)? = nil
) async throws -> CommandResult {
    let launched = try launch(executable, arguments, stdin: stdin, environment: environment)
    if let whileRunning { try await whileRunning(launched.process.processIdentifier) }
    let deadline = ContinuousClock.now + timeout
    guard let ended = try await ChildExit.wait(for: launched.process, until: deadline) else {
        launched.process.terminate()
        throw PeerError.timeout
    }
    while !launched.drained && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(5))
    }
    return launched.result(ended)
}
