import Foundation

/// The result of running a program to completion.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` (a path, or a name looked up in /usr/bin and /bin) with `arguments`.
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    let path = executable.hasPrefix("/") ? executable : ["/usr/bin/", "/bin/", "/usr/sbin/"].map { $0 + executable }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? executable
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    process.environment = env
    let output = Pipe()
    let errors = Pipe()
    let input = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input
    let outCollector = TextCollector(fd: output.fileHandleForReading.fileDescriptor)
    let errCollector = TextCollector(fd: errors.fileHandleForReading.fileDescriptor)
    try process.run()
    if let stdin { writeAll(input.fileHandleForWriting.fileDescriptor, Array(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    while !outCollector.ended || !errCollector.ended { usleep(1000) }
    return CommandResult(status: process.terminationStatus, stdout: outCollector.text, stderr: errCollector.text)
}

/// A fresh directory under the system's temporary directory, for one test.
public func temporaryDirectory(_ label: String = "tofu-test") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a program to completion without blocking Swift's cooperative pool.
/// `whileRunning` is called once, with its pid, shortly after it starts.
public func runProgram(
    _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    timeout: Duration = .seconds(60), whileRunning: (@Sendable (Int32) async throws -> Void)? = nil
) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    process.environment = env
    let output = Pipe()
    let errors = Pipe()
    let input = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input
    let outCollector = TextCollector(fd: output.fileHandleForReading.fileDescriptor)
    let errCollector = TextCollector(fd: errors.fileHandleForReading.fileDescriptor)
    try process.run()
    let writer = PipeWriter(fd: dup(input.fileHandleForWriting.fileDescriptor))
    try input.fileHandleForWriting.close()
    if let stdin { writer.send(Array(stdin.utf8)) }
    writer.close()
    if let whileRunning { try await whileRunning(process.processIdentifier) }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw PeerError.timeout
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    while (!outCollector.ended || !errCollector.ended) && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(5))
    }
    return CommandResult(status: process.terminationStatus, stdout: outCollector.text, stderr: errCollector.text)
}
