import CLibPQ
import Foundation
import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection, owned: `PQfinish` runs when it goes away. Blocking, so it lives on
/// the store's own executor thread; deliberately not `Sendable`. The only type besides
/// `PGResult` that calls libpq, through `LibPQ` (loaded, not linked).
///
/// Every wait is bounded by the store's timeout T: connecting (libpq's `connect_timeout`, whole
/// seconds, at least 2), each lock wait (`lock_timeout` T), each statement with its lock waits
/// (`statement_timeout` 2T), and, on this side, each answer (2T and a second more: a server
/// that stops answering, or a network that drops everything, is given up, and the connection
/// with it). The server ends the session of a client that went away (a killed process) within
/// a second even while its statement waits for a lock (`client_connection_check_interval`), so
/// its transaction is rolled back and its locks are released without waiting for the lock.
final class PGConnection {
    private let libpq: LibPQ
    private let connection: OpaquePointer
    /// How long an answer may take before the connection is given up.
    private let answerMilliseconds: Int
    /// Words of the URI that no message may show (the password), as libpq may quote them.
    private let secrets: [String]
    /// Set once an answer did not come in time: the connection is in no known state.
    private var givenUp = false
    /// The statements `run` prepared on this connection, by text, and their names: each is
    /// parsed and planned by the server once per connection, not at every call. A new connection
    /// (the store opens one after a lost one) prepares them again.
    private var prepared: [String: String] = [:]

    /// Connects with `uri` (a `postgresql://` or `postgres://` URI; libpq reads the rest from its
    /// environment: PGPASSWORD, ~/.pgpass, PGSSLMODE, PGSERVICE…) with every wait bounded by
    /// `timeoutMilliseconds`, in the PostgreSQL schema `schema` when given (a name
    /// `PGSchema.isValidName` accepts). A failure's message never holds the password.
    init(libpq: LibPQ, uri: String, timeoutMilliseconds: Int, schema: String? = nil) throws(PGError) {
        self.libpq = libpq
        // PostgreSQL's timeouts are 32-bit milliseconds, and the answer's bound 2T + 1 s is too.
        let timeout = min(max(1, timeoutMilliseconds), (Int(Int32.max) - 1000) / 2)
        secrets = URISecrets.of(uri)
        answerMilliseconds = 2 * timeout + 1000
        var settings = [
            "statement_timeout=\(2 * timeout)", "lock_timeout=\(timeout)",
            "idle_in_transaction_session_timeout=\(max(timeout, 60_000))",
        ]
        if let schema { settings.append("search_path=\(schema)") }
        do {
            connection = try Self.connect(libpq, uri, timeout: timeout, settings: settings + ["client_connection_check_interval=1000"])
        } catch where error.message.contains("client_connection_check_interval") {
            // A server before PostgreSQL 14 does not know the setting: without it, a killed
            // client's locks are released when its statement ends (at most statement_timeout).
            connection = try Self.connect(libpq, uri, timeout: timeout, settings: settings)
        } catch {
            throw PGError(sqlState: error.sqlState, message: URISecrets.scrub(error.message, secrets))
        }
    }

    /// As `init(libpq:uri:timeoutMilliseconds:schema:)`, with libpq loaded here: a library that
    /// cannot be loaded is a failure to connect.
    convenience init(uri: String, timeoutMilliseconds: Int, schema: String? = nil) throws(PGError) {
        let libpq: LibPQ
        do {
            libpq = try LibPQ()
        } catch {
            throw PGError(sqlState: nil, message: error.description)
        }
        try self.init(libpq: libpq, uri: uri, timeoutMilliseconds: timeoutMilliseconds, schema: schema)
    }

    private static func connect(_ libpq: LibPQ, _ uri: String, timeout: Int, settings: [String]) throws(PGError) -> OpaquePointer {
        // The URI's secrets go as keywords after it (later keywords win), never inside it: libpq
        // quotes what it cannot parse in a URI, and a secret left there could reach a message.
        let split = try PGURISecrets(uri)
        let pairs: [(String, String)] = [("dbname", split.uri)] + split.keywords + [
            ("connect_timeout", String(max(2, (timeout + 999) / 1000))), ("application_name", "tofu"),
            ("options", settings.map { "-c " + $0 }.joined(separator: " ")), ("client_encoding", "UTF8"),
        ]
        let opened = withCStrings(pairs.map(\.0)) { keywords in
            withCStrings(pairs.map(\.1)) { values in libpq.connectdbParams(keywords, values, 1) }
        }
        guard let opened else { throw PGError(sqlState: nil, message: "libpq could not allocate a connection") }
        guard libpq.status(opened) == CONNECTION_OK else {
            let message = Self.message(libpq.errorMessage(opened))
            libpq.finish(opened)
            throw PGError(sqlState: nil, message: message)
        }
        // The server's notices and warnings (e.g. "terminating connection due to immediate
        // shutdown") would go to stderr, the log's channel, unformatted: what matters of them
        // comes back as the failure of the statement, in the store's words.
        _ = libpq.setNoticeProcessor(opened, { _, _ in }, nil)
        // Sending never blocks either: what the socket does not take now is flushed while the
        // answer is awaited, within its bound.
        guard libpq.setnonblocking(opened, 1) == 0 else {
            let message = Self.message(libpq.errorMessage(opened))
            libpq.finish(opened)
            throw PGError(sqlState: nil, message: message)
        }
        return opened
    }

    deinit { libpq.finish(connection) }

    /// Whether the connection is still usable; false after the server went away, or after an
    /// answer that did not come in time.
    var isUsable: Bool { !givenUp && libpq.status(connection) == CONNECTION_OK }

    /// Runs one statement with `parameters` ($1, $2, …) and returns its result, or throws the
    /// server's error (its SQLSTATE and message), or `unanswered` when no answer came in time.
    @discardableResult
    func execute(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        try send(parameters) { values, lengths, formats in
            libpq.sendQueryParams(connection, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
        }
    }

    /// Runs one of the statements a store makes at every call, as `execute` does, through a
    /// statement prepared on this connection the first time it runs.
    @discardableResult
    func run(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "tofu_\(prepared.count + 1)"
            _ = try send([]) { _, _, _ in libpq.sendPrepare(connection, name, sql, Int32(parameters.count), nil) }
            prepared[sql] = name
        }
        return try send(parameters) { values, lengths, formats in
            libpq.sendQueryPrepared(connection, name, Int32(parameters.count), values, lengths, formats, 0)
        }
    }

    /// Runs a statement without parameters in one message of the simple protocol (BEGIN,
    /// COMMIT, ROLLBACK: nothing to parse or plan), as `execute` does otherwise.
    @discardableResult
    func simple(_ sql: String) throws(PGError) -> PGResult {
        try send([]) { _, _, _ in libpq.sendQuery(connection, sql) }
    }

    /// Sends one command with `parameters` laid out as libpq takes them, and returns its answer.
    private func send(
        _ parameters: [PGValue], _ command: ([UnsafePointer<CChar>?], [Int32], [Int32]) -> Int32
    ) throws(PGError) -> PGResult {
        guard !givenUp else { throw PGError(sqlState: nil, message: "the connection was given up after an answer that did not come", unanswered: true) }
        let texts: [String?] = parameters.map { if case .text(let text) = $0 { text } else { nil } }
        let sent: Int32 = Self.withOptionalCStrings(texts) { textPointers in
            var values: [UnsafePointer<CChar>?] = []
            var lengths: [Int32] = []
            var formats: [Int32] = []
            var blobs: [UnsafeMutableRawPointer] = []
            defer { blobs.forEach { $0.deallocate() } }
            for (index, parameter) in parameters.enumerated() {
                switch parameter {
                case .null:
                    values.append(nil); lengths.append(0); formats.append(0)
                case .text:
                    values.append(textPointers[index]); lengths.append(0); formats.append(0)
                case .bytes(let bytes):
                    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
                    bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: $0.count) } }
                    blobs.append(copy)
                    values.append(UnsafePointer(copy.assumingMemoryBound(to: CChar.self)))
                    lengths.append(Int32(clamping: bytes.count))
                    formats.append(1)
                }
            }
            return command(values, lengths, formats)
        }
        guard sent == 1 else { throw lost() }
        return try answer()
    }

    /// The answer to the statement just sent (flushed first): its first error, else its last
    /// result.
    private func answer() throws(PGError) -> PGResult {
        let deadline = ContinuousClock.now + .milliseconds(answerMilliseconds)
        while true {
            let flushed = libpq.flush(connection)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost() }
            // Read what comes meanwhile, as libpq asks, so neither side waits for the other.
            if try wait(for: Int16(POLLIN | POLLOUT), until: deadline) & Int16(POLLIN) != 0 {
                guard libpq.consumeInput(connection) == 1 else { throw lost() }
            }
        }
        var kept: PGResult?
        var failed: PGResult?
        while true {
            while libpq.isBusy(connection) == 1 {
                _ = try wait(for: Int16(POLLIN), until: deadline)
                guard libpq.consumeInput(connection) == 1 else { throw lost() }
            }
            guard let next = libpq.getResult(connection) else { break }
            let result = PGResult(owning: next, libpq: libpq)
            switch libpq.resultStatus(next) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK: kept = result
            default: if failed == nil { failed = result }
            }
        }
        if let failed { throw failed.error(fallback: Self.message(libpq.errorMessage(connection))) }
        guard let kept else { throw lost() }
        return kept
    }

    /// Waits until the socket is ready for one of `events`, and returns those it is ready for;
    /// past `deadline` the connection is given up.
    private func wait(for events: Int16, until deadline: ContinuousClock.Instant) throws(PGError) -> Int16 {
        let socket = libpq.socket(connection)
        guard socket >= 0 else { throw lost() }
        let now = ContinuousClock.now
        let left = (deadline - now).components
        let milliseconds = now >= deadline ? 0 : Int32(clamping: left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000 + 1)
        var entry = [pollfd(fd: socket, events: events, revents: 0)]
        let ready: Int
        do {
            ready = try FileIO.poll(&entry, milliseconds: milliseconds)
        } catch {
            throw PGError(sqlState: nil, message: "waiting for the server failed: \(error)")
        }
        guard ready == 0 else { return entry[0].revents }
        givenUp = true
        throw PGError(sqlState: nil, message: "no answer within \(answerMilliseconds) ms", unanswered: true)
    }

    /// The connection's failure, in libpq's words.
    private func lost() -> PGError {
        PGError(sqlState: nil, message: Self.message(libpq.errorMessage(connection)))
    }

    /// libpq's words on one line: its messages run over several, indented with tabs.
    static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "no message" }
        let words = String(cString: text).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return words.isEmpty ? "no message" : words
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        withOptionalCStrings(strings.map { $0 }) { pointers in body(pointers + [nil]) }
    }

    private static func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        return copies.withUnsafeMutableBufferPointer { buffer in body(buffer.map { $0.map { UnsafePointer($0) } }) }
    }
}

/// A parameter of a statement.
enum PGValue {
    case null
    case text(String)
    /// bytea, sent in binary.
    case bytes([UInt8])
}

/// One statement's result, owned: `PQclear` runs when it goes away.
final class PGResult {
    private let result: OpaquePointer
    private let libpq: LibPQ

    init(owning result: OpaquePointer, libpq: LibPQ) {
        self.result = result
        self.libpq = libpq
    }

    deinit { libpq.clear(result) }

    var rowCount: Int { Int(libpq.ntuples(result)) }
    var columnCount: Int { Int(libpq.nfields(result)) }

    /// The number of rows an INSERT, UPDATE or DELETE touched.
    var affectedRows: Int { libpq.cmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0 }

    /// The type of a column, by its OID (`pg_type.oid`: 16 boolean, 17 bytea, 20 bigint, 23 integer, 25 text…).
    func typeOID(_ column: Int) -> UInt32 {
        guard column < columnCount else { return 0 }
        return UInt32(libpq.ftype(result, Int32(column)))
    }

    func isNull(_ row: Int, _ column: Int) -> Bool {
        guard row < rowCount, column < columnCount else { return true }
        return libpq.getisnull(result, Int32(row), Int32(column)) == 1
    }

    /// The value as text, nil when NULL (or out of range).
    func text(_ row: Int, _ column: Int) -> String? {
        guard !isNull(row, column), let value = libpq.getvalue(result, Int32(row), Int32(column)) else { return nil }
        return String(cString: value)
    }

    /// The value's text as libpq holds it (valid while the result lives), nil when NULL.
    func rawText(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        guard !isNull(row, column), let value = libpq.getvalue(result, Int32(row), Int32(column)) else { return nil }
        return UnsafeRawBufferPointer(start: value, count: max(0, Int(libpq.getlength(result, Int32(row), Int32(column)))))
    }

    /// A bytea value (text result format: `\x…` hex), nil when NULL or not bytea text.
    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard !isNull(row, column), let value = libpq.getvalue(result, Int32(row), Int32(column)) else { return nil }
        // The hex form the server sends (bytea_output = hex, its default), decoded in one pass
        // into the array; anything else (the escape form, or bytes libpq would skip) by libpq.
        let text = UnsafeRawBufferPointer(start: value, count: max(0, Int(libpq.getlength(result, Int32(row), Int32(column)))))
        if let size = Self.byteaHexCount(text) {
            var complete = true
            let decoded = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                complete = Self.decodeByteaHex(text, into: buffer)
                count = complete ? size : 0
            }
            if complete { return decoded }
        }
        var length = 0
        guard let unescaped = value.withMemoryRebound(to: UInt8.self, capacity: 1, { libpq.unescapeBytea($0, &length) }) else { return nil }
        defer { libpq.freemem(unescaped) }
        return Array(UnsafeBufferPointer(start: unescaped, count: length))
    }

    /// How many bytes bytea's hex form (`\\x`, then two hex digits a byte) holds; nil for any
    /// other text.
    static func byteaHexCount(_ text: UnsafeRawBufferPointer) -> Int? {
        guard text.count >= 2, text.count % 2 == 0, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return nil }
        return text.count / 2 - 1
    }

    /// Decodes bytea's hex form `text` into `buffer`, of `byteaHexCount(text)` bytes; false at
    /// the first byte that is not a hex digit.
    static func decodeByteaHex(_ text: UnsafeRawBufferPointer, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        for index in buffer.indices {
            guard let high = ASCII.hexValue(text[2 + 2 * index]), let low = ASCII.hexValue(text[3 + 2 * index]) else { return false }
            buffer.initializeElement(at: index, to: high << 4 | low)
        }
        return true
    }

    func error(fallback: String) -> PGError {
        let state = libpq.resultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PGConnection.message(libpq.resultErrorField(result, Int32(UInt8(ascii: "M"))) ?? libpq.resultErrorMessage(result))
        return PGError(sqlState: state, message: primary == "no message" ? fallback : primary)
    }
}

/// A failure from libpq or the server: SQLSTATE (nil for a connection failure) and words.
struct PGError: Error, Sendable, CustomStringConvertible {
    let sqlState: String?
    let message: String
    /// No answer came within the connection's bound, which then was given up.
    var unanswered = false

    var description: String { message }

    /// The connection is gone: closed by the server or the network, or given up. What was sent
    /// last may or may not have been done.
    var lostConnection: Bool {
        guard let sqlState else { return true }
        return unanswered || sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// The transaction should be retried: a serialization failure or a deadlock.
    var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// A unique constraint was violated (another process inserted first).
    var isUniqueViolation: Bool { sqlState == "23505" }
}
