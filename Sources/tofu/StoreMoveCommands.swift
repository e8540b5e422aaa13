import ArgumentParser
import JSONRPC
import TofuText
import Posix

#if canImport(Glibc)
    import Glibc
#endif

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the whole store to stdout as JSON Lines: pins with their certificates, the history, the DNA Center servers.",
        discussion: """
            One JSON record per line, host by host: a header, each host's pin (certificate and
            staged next certificate in PEM, policy, times), its history, its DNA Center server,
            and an end record. tofu import takes it into any store, SQLite or PostgreSQL:

              tofu export > pins.jsonl
              tofu export --store a.sqlite | tofu import --store postgresql://tofu@192.0.2.20/tofu

            A count goes to stderr. Nothing is ever left out: a row that cannot be read stops the
            export (exit 7) before the end record, and tofu import refuses what has no end record.
            """)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let client = try options.client()
        var cursor: JSONValue = .null
        // Records come host by host: a host is counted where it starts (it may go on in the next page).
        var hosts = 0
        var lastHost: String?
        var counts: [String: Int] = [:]
        repeat {
            let page = try client.call("exportPins", cursor == .null ? [:] : ["cursor": cursor]).orExit()
            var lines: [String] = []
            for record in page["records"]?.arrayValue ?? [] {
                lines.append(TerminalText.escapedJSON(record.description))
                if let host = record["host"]?.stringValue, host != lastHost {
                    hosts += 1
                    lastHost = host
                }
                counts[record["type"]?.stringValue ?? "", default: 0] += 1
            }
            if !lines.isEmpty { Output.print(lines.joined(separator: "\n")) }
            cursor = page["nextCursor"] ?? .null
        } while cursor != .null
        Output.note(
            "exported: hosts \(hosts), pins \(counts["pin", default: 0]), history events \(counts["event", default: 0]), DNA Center servers \(counts["server", default: 0])")
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Take what tofu export wrote (on stdin) into the store, host by host.",
        discussion: """
            Examples:
              tofu import --store postgresql://tofu@192.0.2.20/tofu < pins.jsonl
              tofu export --store a.sqlite | tofu import --store postgresql://tofu@192.0.2.20/tofu

            Each host is imported in one transaction and reported on a line of its own:
              imported   the store had no pin for it: the pin, the history it lacked and the
                         DNA Center server record were added
              identical  the store already pins it the same way: nothing of it changed
              conflict   the store pins it to another certificate, policy or staged certificate:
                         refused, nothing of it changed (exit 3); --replace takes the export's
              replaced   so did the store, and --replace made the export's pin replace it
            Importing the same export again changes nothing. A line that is not a record of an
            export stops the import there (exit 2), as does an input without the export's end
            record (exit 1): the hosts before it stay imported.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Replace a host's pin when the store pins it differently (default: refuse that host and report it).")
    var replace = false

    /// One call carries whole hosts, up to about this many records and bytes (a larger host goes alone).
    static let batchRecords = 1000
    static let batchBytes = 4 << 20
    /// What tofu-rpc is started to accept in one message: a host's whole history travels in one.
    static let messageBytes = 64 << 20

    func run() throws {
        let client = try RPCClient(options: options, arguments: ["--max-message-bytes", String(Self.messageBytes)])
        var reader = LineReader(fd: STDIN_FILENO, maxLine: Self.messageBytes)
        var report = Report(json: options.json)
        var batch: [JSONValue] = []
        var bytes = 0
        var firstLine = 1
        var groupStart = 0
        var groupKey: JSONValue?
        var lastType: String?
        var number = 0

        func send(_ records: ArraySlice<JSONValue>) throws(CLIFailure) {
            guard !records.isEmpty else { return }
            let params: [String: JSONValue] = ["records": .array(Array(records)), "replace": .bool(replace), "firstLine": .int(Int64(firstLine))]
            switch try client.call("importPins", params) {
            case .success(let result):
                report.add(result["hosts"]?.arrayValue ?? [])
            case .failure(let error):
                report.add(error.data?["hosts"]?.arrayValue ?? [])
                let hint = error.data?["kind"] == "invalidRecord"
                    ? "The import stopped there; the hosts listed above were imported."
                    : "The import stopped; the hosts listed above were imported. Run it again once this is fixed: what was imported is then skipped as identical."
                throw CLIFailure(error, hint: hint)
            }
        }

        while true {
            let line: [UInt8]
            do {
                guard let next = try reader.next() else { break }
                line = next
            } catch {
                try send(batch[..<groupStart])
                throw error
            }
            number += 1
            guard let record = Self.record(line), record.objectValue != nil else {
                // What came before this line's host is imported; nothing from it on.
                try send(batch[..<groupStart])
                let from = groupStart < batch.count ? firstLine + groupStart : number
                throw CLIFailure(.usage, "line \(number) is not a JSON object, as every line of a tofu export is: the import stopped there, nothing from line \(from) on was imported (the hosts listed above were)")
            }
            let key = record["host"] ?? .null
            if key != groupKey {
                if batch.count >= Self.batchRecords || bytes >= Self.batchBytes {
                    try send(batch[...])
                    batch.removeAll(keepingCapacity: true)
                    bytes = 0
                    firstLine = number
                }
                groupStart = batch.count
                groupKey = key
            }
            batch.append(record)
            bytes += line.count
            lastType = record["type"]?.stringValue
        }
        try send(batch[...])
        guard number > 0 else {
            throw CLIFailure(.failure, "the input is empty: nothing was imported (give it what tofu export wrote, e.g. tofu export --store a.sqlite | tofu import)")
        }
        report.summary()
        guard lastType == "end" else {
            throw CLIFailure(.failure, "the input ended at line \(number) without the end record of a tofu export: it was cut short (did the export fail?) or is not one. The hosts listed above were imported; run the import again with the whole export: what is there already is skipped as identical")
        }
        if report.conflicts > 0 {
            let hosts = report.conflicts == 1 ? "1 host was" : "\(report.conflicts) hosts were"
            throw CLIFailure(.mismatch, "\(hosts) refused (conflict): this store pins them differently than the export (pinned= is this store's certificate, imported= the export's); nothing of them changed. Compare with tofu listcerts -v --host <key>; to take the export's pins, run the import again with --replace")
        }
    }

    /// A line as JSON, or nil when it is not JSON at all (a trailing CR is dropped, as NDJSON allows).
    static func record(_ line: [UInt8]) -> JSONValue? {
        let text = line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
        return try? JSONCodec.parse(text, maxDepth: 64)
    }

    /// The hosts reported so far: a line each on stdout (a JSON object each with --json), and
    /// their count by status.
    struct Report {
        let json: Bool
        var counts: [String: Int] = [:]

        var conflicts: Int { counts["conflict", default: 0] }

        mutating func add(_ hosts: [JSONValue]) {
            for host in hosts {
                counts[host["status"]?.stringValue ?? "", default: 0] += 1
                Output.print(json ? TerminalText.escapedJSON(host.description) : Self.line(host))
            }
        }

        static func line(_ host: JSONValue) -> String {
            let status = Output.text(host["status"])
            var fields: [(String, String)] = [("host", Output.text(host["host"]))]
            switch status {
            case "conflict":
                let differs = (host["differences"]?.arrayValue ?? []).map { Output.text($0) }.joined(separator: ",")
                fields += [("pinned", Output.text(host["pinnedFingerprint"])), ("imported", Output.text(host["sha256Fingerprint"])), ("differs", differs)]
            case "replaced":
                fields += [("sha256", Output.text(host["sha256Fingerprint"])), ("was", Output.text(host["pinnedFingerprint"])), ("events", Output.text(host["eventsAdded"]))]
            case "imported":
                fields += [("sha256", Output.text(host["sha256Fingerprint"])), ("events", Output.text(host["eventsAdded"])), ("server", host["serverAdded"] == true ? "added" : "-")]
            default:
                fields += [("sha256", Output.text(host["sha256Fingerprint"]))]
            }
            return status + " " + Output.line(fields)
        }

        func summary() {
            let total = counts.values.reduce(0, +)
            Output.note(
                "import: hosts \(total); imported \(counts["imported", default: 0]), identical \(counts["identical", default: 0]) (already in the store), refused \(conflicts) (conflict), replaced \(counts["replaced", default: 0])")
        }
    }
}

/// Lines of a file descriptor, read a block at a time: memory holds one block and one line.
struct LineReader {
    let fd: Int32
    let maxLine: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var lineNumber = 0

    init(fd: Int32, maxLine: Int) {
        self.fd = fd
        self.maxLine = maxLine
    }

    /// The next line without its newline; nil at the end (a last line without a newline counts).
    mutating func next() throws(CLIFailure) -> [UInt8]? {
        var scanned = start
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                lineNumber += 1
                return line
            }
            scanned = buffer.count
            if ended {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                lineNumber += 1
                return line
            }
            guard buffer.count - start <= maxLine else {
                throw CLIFailure(.usage, "line \(lineNumber + 1) is longer than \(maxLine) bytes: no record of a tofu export is; nothing from it on was imported")
            }
            if start > 0 {
                buffer.removeFirst(start)
                scanned -= start
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count: Int
            do {
                count = try FileIO.read(fd, into: &chunk)
            } catch {
                throw CLIFailure(.failure, "cannot read the input: \(error)")
            }
            if count == 0 { ended = true } else { buffer += chunk[..<count] }
        }
    }
}
