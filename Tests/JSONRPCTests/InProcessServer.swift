import Foundation
import JSONRPC
import Logging
import TestSupport

/// A `Connection` in this process, spoken to over two real pipes.
final class InProcessServer: Sendable {
    let reader: PeerReader
    private let writer: PipeWriter
    private let run: Task<Connection.Ending, Never>

    init(methods: MethodTable, limits: Limits = Limits()) {
        var toServer: [Int32] = [0, 0]
        var toClient: [Int32] = [0, 0]
        precondition(pipe(&toServer) == 0 && pipe(&toClient) == 0, "pipe() failed")
        closeOnExec(toServer[0], toServer[1], toClient[0], toClient[1])
        let connection = Connection(
            input: toServer[0], output: toClient[1], methods: methods, limits: limits,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let serverRead = toServer[0]
        let serverWrite = toClient[1]
        run = Task {
            let ending = await connection.run()
            close(serverRead)
            close(serverWrite)
            return ending
        }
        writer = PipeWriter(fd: toServer[1])
        reader = PeerReader(fd: toClient[0])
    }

    func send(_ bytes: [UInt8]) { writer.send(bytes) }
    func send(line: String) { send(Wire.ndjson(line)) }

    /// Closes the client's end: the server sees end of input.
    func closeInput() { writer.close() }

    func ending() async -> Connection.Ending { await run.value }
}
