import ArgumentParser
import CStandardDescriptors
import Foundation
import JSONRPC
import Logging
import Posix
import TofuMCP
import TofuCore
import TofuServer
import TofuStore
import TofuTLS

/// `tofu-rpc`: the tofu pin store served as JSON-RPC 2.0 on stdin/stdout.
struct TofuRPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tofu-rpc",
        abstract: "Serve the tofu certificate pin store as JSON-RPC 2.0 on stdin/stdout.",
        discussion: """
            Send one JSON-RPC 2.0 request per line (NDJSON), or LSP Content-Length framed messages; each answer goes out in the framing of its request. stdout carries only protocol messages; logs go to stderr. 'rpc.discover' returns the protocol description (protocol/openrpc.json in the source tree).

            Example:
              echo '{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}' | tofu-rpc

            Exit status: 0 after end of input, or after 'shutdown' then 'exit'; 1 after 'exit' without 'shutdown'; 2 when the input's framing could not be recovered (the reason is on stderr).
            """,
        version: TofuVersion.string)

    @Option(help: "The pin store: a SQLite file, or postgresql://USER@HOST:PORT/DB for a fleet's shared store (default: $TOFU_STORE, else $XDG_DATA_HOME/tofu/store.sqlite, else ~/.local/share/tofu/store.sqlite).")
    var store: String?

    @Option(help: "How long the store may wait, in milliseconds, before answering -32005: for another process's lock (SQLite and PostgreSQL); for PostgreSQL also connecting (whole seconds, at least 2) and each statement (twice this).")
    var storeTimeoutMs = Self.defaultStoreTimeoutMs

    static let defaultStoreTimeoutMs = 5000

    @Option(help: "Largest message, in bytes.")
    var maxMessageBytes = Limits().maxMessageBytes

    @Option(help: "Deepest nesting of arrays and objects in a message.")
    var maxDepth = Limits().maxDepth

    @Option(help: "Most entries in one batch.")
    var maxBatch = Limits().maxBatchEntries

    @Option(help: "Most messages worked on at once (a batch counts as one); later ones wait their turn in arrival order.")
    var maxInFlight = Limits().maxInFlight

    @Option(help: "Most TLS probes (verifyCert, addDnacServer) connected at once, each with a thread and a socket; later ones wait their turn in arrival order, and their timeoutMs starts when they leave the queue. (default: \(TofuMethods.defaultMaxProbes), or fewer if ulimit -n is low)")
    var maxProbes: Int?

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = Self.defaultLogLevel

    /// TOFU_LOG_LEVEL, read alone: `ProcessInfo.environment` would copy the whole environment
    /// into a dictionary at every start.
    static var defaultLogLevel: String { getenv("TOFU_LOG_LEVEL").map { String(cString: $0) } ?? "notice" }

    func validate() throws {
        for (name, value) in [("--max-message-bytes", maxMessageBytes), ("--max-depth", maxDepth), ("--max-batch", maxBatch), ("--max-in-flight", maxInFlight), ("--store-timeout-ms", storeTimeoutMs), ("--max-probes", maxProbes ?? 1)]
        where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'")
        }
    }

    func run() async throws {
        let limits = Limits(maxMessageBytes: maxMessageBytes, maxDepth: maxDepth, maxBatchEntries: maxBatch, maxInFlight: maxInFlight)
        let status = await Self.serve(
            store: store, storeTimeoutMs: storeTimeoutMs, limits: limits, maxProbes: maxProbes, level: Logger.Level(rawValue: logLevel) ?? .notice)
        if status != 0 { throw ExitCode(status) }
    }

    /// Serves stdin/stdout until the input ends; the exit status.
    static func serve(store: String?, storeTimeoutMs: Int, limits: Limits, maxProbes: Int? = nil, level: Logger.Level) async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tofu-rpc")
        if isatty(STDIN_FILENO) == 1 {
            // FileIO, not FileHandle.write, which traps when stderr is a closed pipe.
            let hint = #"tofu-rpc: reading JSON-RPC on stdin; try: {"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"# + "\n"
            _ = try? FileIO.writeAll(STDERR_FILENO, hint)
        }
        let pinStore: PinStore
        do {
            pinStore = PinStore(location: try StoreLocation.resolve(flag: store), timeoutMilliseconds: storeTimeoutMs)
        } catch {
            logger.error("\(error)")
            pinStore = PinStore(unusable: error)
        }
        var methods = TofuMethods.table(store: pinStore, logger: logger, maxProbes: maxProbes)
        MCPServer.install(in: &methods)
        let connection = Connection(
            input: STDIN_FILENO, output: STDOUT_FILENO, methods: methods,
            limits: limits, logger: logger, inputThreadName: "tofu-rpc input", outputThreadName: "tofu-rpc output")
        let ending = await connection.run()
        await pinStore.close()
        return ending.exitStatus
    }
}

/// Started with no arguments (as the `tofu` CLI and most clients start it), there is nothing
/// to parse: tofu-rpc then serves with its defaults at once. Parsing even an empty command line
/// costs ArgumentParser about 2.5 ms of a 11 ms cold start (reflection over the options, and
/// its check for --generate-completion-script), paid by every one-shot `tofu` command.
@main
enum Main {
    static func main() async {
        // Before anything else: addDnacServer's passwords must never reach a core file.
        ProcessHardening.disableCoreDumps(reportingAs: "tofu-rpc")
        // A client that stops tofu-rpc with SIGTERM must reach it, whatever mask it inherited.
        SignalMask.unblockAll()
        // Before any other OpenSSL call: threads that used OpenSSL may still be ending at exit.
        OpenSSLProcess.keepStateUntilExit()
        // A closed stdout was opened on /dev/null before anything ran (CStandardDescriptors).
        if tofu_standard_descriptors_reopened() & 0b010 != 0 {
            _ = try? FileIO.writeAll(STDERR_FILENO, "tofu-rpc: warning: started with stdout closed: its answers go to /dev/null\n")
        }
        Allocator.mapLargeBlocks()
        guard CommandLine.arguments.count <= 1, let level = Logger.Level(rawValue: TofuRPC.defaultLogLevel) else {
            widenHelp()
            await TofuRPC.main()
            return
        }
        await serveThenExit(level: level)
    }

    /// Help laid out at least 120 columns wide, as `tofu`'s: swift-argument-parser wraps help
    /// to the screen (80 columns without one), and an example broken across lines cannot be
    /// copied. Only COLUMNS is set, before anything is parsed; serving never reads it.
    static func widenHelp() {
        var width = ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) } ?? 0
        if width <= 0 {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 { width = Int(size.ws_col) }
        }
        if width < 120 { setenv("COLUMNS", "120", 1) }
    }

    /// Exits on the thread that served: going back to the main actor first would start a
    /// thread just to exit.
    nonisolated static func serveThenExit(level: Logger.Level) async -> Never {
        exit(await TofuRPC.serve(store: nil, storeTimeoutMs: TofuRPC.defaultStoreTimeoutMs, limits: Limits(), level: level))
    }
}
