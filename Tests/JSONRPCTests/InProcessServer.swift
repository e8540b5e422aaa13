import Foundation
import JSONRPC
import Logging
import Posix
import TestSupport

/// A `Connection` in this process, spoken to over two real pipes. Its output is read from the
/// start, or (`readingAtOnce: false`) only once the test asks for `reader`: what the server does
/// while nobody reads its output.
final class InProcessServer: Sendable {
    private let writer: PipeWriter
    private let readEnd: Int32
    private let reading = Locked<PeerReader?>(nil)
    private let run: Task<Connection.Ending, Never>

    /// `threadNames` nil: the connection's default names.
    init(methods: MethodTable, limits: Limits = Limits(), readingAtOnce: Bool = true, threadNames: (input: String, output: String)? = nil) {
        let toServer = Self.pipeClosingOnExec()
        let toClient = Self.pipeClosingOnExec()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection =
            if let threadNames {
                Connection(
                    input: toServer[0], output: toClient[1], methods: methods, limits: limits, logger: logger,
                    inputThreadName: threadNames.input, outputThreadName: threadNames.output)
            } else {
                Connection(input: toServer[0], output: toClient[1], methods: methods, limits: limits, logger: logger)
            }
        let serverRead = toServer[0]
        let serverWrite = toClient[1]
        run = Task {
            let ending = await connection.run()
            close(serverRead)
            close(serverWrite)
            return ending
        }
        writer = PipeWriter(fd: toServer[1])
        readEnd = toClient[0]
        if readingAtOnce { _ = reader }
    }

    /// A pipe whose ends are close-on-exec from the moment they exist (a named pipe opened with
    /// O_CLOEXEC; Swift's Glibc has no pipe2). With pipe() then fcntl(), a process another test
    /// spawns in between inherits an end and holds it open: end of input never comes, and a
    /// closed reader never gives EPIPE.
    static func pipeClosingOnExec() -> [Int32] {
        let path = temporaryDirectory("tofu-fifo") + "/fifo"
        precondition(mkfifo(path, 0o600) == 0, "mkfifo failed: \(errno)")
        let read = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let write = open(path, O_WRONLY | O_CLOEXEC)
        precondition(read >= 0 && write >= 0, "opening the fifo failed: \(errno)")
        _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) & ~O_NONBLOCK)
        unlink(path)
        return [read, write]
    }

    func send(_ bytes: [UInt8]) { writer.send(bytes) }
    func send(line: String) { send(Wire.ndjson(line)) }

    /// Closes the client's end: the server sees end of input.
    func closeInput() { writer.close() }

    /// The reader of the server's output, started on first use.
    var reader: PeerReader {
        reading.withLock { reader in
            if let reader { return reader }
            let started = PeerReader(fd: readEnd)
            reader = started
            return started
        }
    }

    /// Closes the client's read end without reading: the server's writes fail with EPIPE.
    func stopReading() { close(readEnd) }

    func ending() async -> Connection.Ending { await run.value }
}
