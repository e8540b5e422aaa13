import Foundation
import JSONRPC

/// A `tofu-rpc` child process spoken to in NDJSON: the CLI never opens the store itself.
///
/// The CLI is sequential, so calls block the main thread (never Swift's cooperative pool).
final class RPCClient {
    private let process = Process()
    private let input: FileHandle
    private let output: Int32
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 0

    /// The server binary: `--server-path`, else `$TOFU_RPC`, else `tofu-rpc` next to this
    /// executable, else `tofu-rpc` on PATH.
    static func serverPath(flag: String?) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let variable = ProcessInfo.processInfo.environment["TOFU_RPC"], !variable.isEmpty { return variable }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("tofu-rpc").path
        if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/tofu-rpc"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    init(options: GlobalOptions) throws(CLIFailure) {
        guard let path = Self.serverPath(flag: options.serverPath) else {
            throw CLIFailure(.failure, "cannot find tofu-rpc: put it next to tofu or on PATH, or give --server-path or TOFU_RPC")
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = options.store.map { ["--store", $0] } ?? []
        let toServer = Pipe()
        let fromServer = Pipe()
        process.standardInput = toServer
        process.standardOutput = fromServer
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw CLIFailure(.failure, "cannot start \(path): \(error.localizedDescription)")
        }
        input = toServer.fileHandleForWriting
        output = fromServer.fileHandleForReading.fileDescriptor
    }

    deinit {
        try? input.close()
        process.waitUntilExit()
    }

    /// Calls `method`; notifications that arrive first (e.g. `$/progress`) go to `onNotification`.
    func call(_ method: String, _ params: [String: JSONValue] = [:], onNotification: (JSONValue) -> Void = { _ in }) throws(CLIFailure) -> Result<JSONValue, RemoteError> {
        nextID += 1
        let request: JSONValue = ["jsonrpc": "2.0", "id": .int(nextID), "method": .string(method), "params": .object(params)]
        do {
            try input.write(contentsOf: Framing.newlineDelimited.frame(JSONCodec.serialize(request)))
        } catch {
            throw CLIFailure(.failure, "tofu-rpc stopped before the request could be sent (\(error.localizedDescription))")
        }
        while true {
            let message = try readMessage()
            guard message["id"] == .int(nextID) else {
                if message["method"] != nil { onNotification(message) }
                continue
            }
            if let error = message["error"] {
                return .failure(RemoteError(error))
            }
            return .success(message["result"] ?? .null)
        }
    }

    private func readMessage() throws(CLIFailure) -> JSONValue {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                do {
                    return try JSONCodec.parse(line, maxDepth: 256)
                } catch {
                    throw CLIFailure(.failure, "tofu-rpc answered something that is not JSON: \(error)")
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw CLIFailure(.failure, "tofu-rpc exited without answering (see its message above)") }
            buffer += chunk[..<count]
        }
    }
}

/// An error answer from tofu-rpc.
struct RemoteError: Error {
    let code: Int
    let message: String
    let data: JSONValue?

    init(_ error: JSONValue) {
        code = Int(error["code"]?.intValue ?? -32603)
        message = error["message"]?.stringValue ?? "unknown error"
        data = error["data"]
    }

    var kind: String { data?["kind"]?.stringValue ?? "" }
}
