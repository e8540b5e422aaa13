import JSONRPC
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// A `tofu-rpc` child process spoken to in NDJSON: the CLI never opens the store itself.
///
/// The CLI is sequential, so calls block the main thread (never Swift's cooperative pool).
final class RPCClient {
    private let pid: pid_t
    private let input: Int32
    private let output: Int32
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 0

    /// The server binary: `--server-path`, else `$TOFU_RPC`, else `tofu-rpc` next to this
    /// executable, else `tofu-rpc` on PATH.
    static func serverPath(flag: String?) -> String? {
        // readlink and access, not FileManager and URL: those cost a cold command about 0.5 ms.
        if let flag, !flag.isEmpty { return flag }
        if let variable = environment("TOFU_RPC"), !variable.isEmpty { return variable }
        var me = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &me, me.count - 1)
        let executable = length > 0 ? String(decoding: me[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        if let slash = executable.lastIndex(of: "/") {
            let sibling = String(executable[..<slash]) + "/tofu-rpc"
            if isExecutable(sibling) { return sibling }
        }
        for directory in (environment("PATH") ?? "").split(separator: ":") {
            let candidate = "\(directory)/tofu-rpc"
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    private static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// Starts the server with posix_spawn and waits for it with waitpid: Foundation's Process
    /// polls a run loop to notice the child's exit, which cost tens of milliseconds a command.
    /// `arguments` go to tofu-rpc (never the store: see below).
    init(options: GlobalOptions, arguments: [String] = []) throws(CLIFailure) {
        guard let path = Self.serverPath(flag: options.serverPath) else {
            throw CLIFailure(.failure, "Cannot find tofu-rpc: put it next to tofu or on PATH, or give --server-path or TOFU_RPC.")
        }
        var toServer: [Int32] = [-1, -1]
        var fromServer: [Int32] = [-1, -1]
        guard pipe(&toServer) == 0, pipe(&fromServer) == 0 else {
            throw CLIFailure(.failure, "Cannot create pipes: \(Errno.current).")
        }
        // Only the dup2'd ends reach the child: dup2 clears close-on-exec on its copies.
        for fd in toServer + fromServer { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toServer[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromServer[1], 1)
        // Usually no arguments: tofu-rpc then skips argument parsing, a tenth of its cold start.
        // The store goes in TOFU_STORE, which tofu-rpc reads as it would read --store, and never
        // in argv, which every user can read (a PostgreSQL URI may hold a password); the rest of
        // the environment is passed on byte for byte.
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        var store: UnsafeMutablePointer<CChar>?
        if let path = options.store, !path.isEmpty {
            guard let variable = strdup("TOFU_STORE=" + path) else { throw CLIFailure(.failure, "Out of memory while starting tofu-rpc.") }
            store = variable
        }
        defer { argv.forEach { free($0) }; free(store) }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        var logLevelGiven = false
        while let variable = entry?.pointee {
            if store == nil || strncmp(variable, "TOFU_STORE=", 11) != 0 { envp.append(variable) }
            if strncmp(variable, "TOFU_LOG_LEVEL=", 15) == 0 { logLevelGiven = true }
            entry = entry?.successor()
        }
        if let store { envp.append(store) }
        // tofu-rpc logs each trust decision at notice, for journald; the CLI reports its own
        // result, so its server says only what goes wrong, unless TOFU_LOG_LEVEL asks for more.
        var quiet: UnsafeMutablePointer<CChar>?
        defer { free(quiet) }
        if !logLevelGiven {
            guard let variable = strdup("TOFU_LOG_LEVEL=warning") else { throw CLIFailure(.failure, "out of memory starting tofu-rpc") }
            quiet = variable
            envp.append(variable)
        }
        envp.append(nil)
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &actions, nil, &argv, &envp)
        close(toServer[0])
        close(fromServer[1])
        guard status == 0 else {
            close(toServer[1])
            close(fromServer[0])
            throw CLIFailure(.failure, "Cannot start \(path): \(Errno(status)).")
        }
        pid = child
        input = toServer[1]
        output = fromServer[0]
    }

    deinit {
        close(input)
        close(output)
        _ = try? FileIO.waitForExit(of: pid)
    }

    /// Calls `method`; notifications that arrive first (e.g. `$/progress`) go to `onNotification`.
    func call(_ method: String, _ params: [String: JSONValue] = [:], onNotification: (JSONValue) -> Void = { _ in }) throws(CLIFailure) -> Result<JSONValue, ResponseError> {
        nextID += 1
        let request: JSONValue = ["jsonrpc": "2.0", "id": .int(nextID), "method": .string(method), "params": .object(params)]
        // The request may hold a password (addDnacServer): its bytes are wiped once written.
        var bytes = Framing.newlineDelimited.frame(JSONCodec.serialize(request))
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        do {
            try FileIO.writeAll(input, bytes)
        } catch {
            throw CLIFailure(.failure, "tofu-rpc stopped before the request could be sent (\(error)).")
        }
        while true {
            let message = try readMessage()
            // An error with id null answers the request in flight: tofu-rpc could not read its id
            // (e.g. the request was over its message limit and was skipped unread).
            guard message["id"] == .int(nextID) || (message["id"] == .null && message["error"] != nil) else {
                if message["method"] != nil { onNotification(message) }
                continue
            }
            if let error = message["error"] {
                return .failure(ResponseError(answer: error))
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
                    throw CLIFailure(.failure, "tofu-rpc answered something that is not JSON: \(error).")
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            guard let count = try? FileIO.read(output, into: &chunk), count > 0 else {
                throw CLIFailure(.failure, "tofu-rpc exited without answering; its own message is above.")
            }
            buffer += chunk[..<count]
        }
    }
}

extension ResponseError {
    /// An error object as tofu-rpc answered it (what is missing reads as an internal error).
    init(answer error: JSONValue) {
        self.init(
            code: error["code"]?.intValue.map { ErrorCode(rawValue: Int($0)) } ?? .internalError,
            message: error["message"]?.stringValue ?? "unknown error", data: error["data"])
    }
}
