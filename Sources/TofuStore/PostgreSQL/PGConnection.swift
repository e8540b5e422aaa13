import CLibPQ
import Foundation

/// One libpq connection, owned: `PQfinish` runs when it goes away. Blocking, so it lives on
/// the store's own executor thread; deliberately not `Sendable`. The only type besides
/// `PGResult` that touches libpq.
final class PGConnection {
    private let connection: OpaquePointer

    /// Connects with `uri` (a `postgresql://` or `postgres://` URI; libpq reads the rest from its
    /// environment: PGPASSWORD, ~/.pgpass, PGSSLMODE, PGSERVICE…), waiting at most
    /// `timeoutMilliseconds` to connect, and bounding each lock wait and statement by it too.
    /// A failure's message never holds the URI or a password: libpq's own words only.
    init(uri: String, timeoutMilliseconds: Int) throws(PGError) {
        let seconds = max(2, (timeoutMilliseconds + 999) / 1000)
        let options = "-c statement_timeout=\(timeoutMilliseconds) -c lock_timeout=\(timeoutMilliseconds) -c idle_in_transaction_session_timeout=\(max(timeoutMilliseconds, 60_000))"
        // The URI's secrets go as keywords after it (later keywords win), never inside it.
        let secrets = try PGURISecrets(uri)
        let pairs: [(String, String)] = [("dbname", secrets.uri)] + secrets.keywords + [
            ("connect_timeout", String(seconds)), ("application_name", "tofu"), ("options", options), ("client_encoding", "UTF8"),
        ]
        let opened = Self.withCStrings(pairs.map(\.0)) { keywords in
            Self.withCStrings(pairs.map(\.1)) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let opened else { throw PGError(sqlState: nil, message: "libpq could not allocate a connection") }
        guard PQstatus(opened) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(opened))
            PQfinish(opened)
            throw PGError(sqlState: nil, message: message)
        }
        connection = opened
    }

    deinit { PQfinish(connection) }

    /// Whether the connection is still usable; false after the server went away.
    var isUsable: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs one statement with `parameters` ($1, $2, …) and returns its result, or throws the
    /// server's error (its SQLSTATE and message).
    @discardableResult
    func execute(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        let texts: [String?] = parameters.map { if case .text(let text) = $0 { text } else { nil } }
        let result: OpaquePointer? = Self.withOptionalCStrings(texts) { textPointers in
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
            return PQexecParams(connection, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
        }
        guard let result else { throw PGError(sqlState: nil, message: Self.message(PQerrorMessage(connection))) }
        let owned = PGResult(owning: result)
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return owned
        default:
            throw owned.error(fallback: Self.message(PQerrorMessage(connection)))
        }
    }

    static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "no message" }
        let words = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
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

    init(owning result: OpaquePointer) { self.result = result }

    deinit { PQclear(result) }

    var rowCount: Int { Int(PQntuples(result)) }
    var columnCount: Int { Int(PQnfields(result)) }

    /// The number of rows an INSERT, UPDATE or DELETE touched.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// The type of a column, by its OID (`pg_type.oid`: 16 boolean, 17 bytea, 20 bigint, 23 integer, 25 text…).
    func typeOID(_ column: Int) -> UInt32 {
        guard column < columnCount else { return 0 }
        return UInt32(PQftype(result, Int32(column)))
    }

    func isNull(_ row: Int, _ column: Int) -> Bool {
        guard row < rowCount, column < columnCount else { return true }
        return PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    /// The value as text, nil when NULL (or out of range).
    func text(_ row: Int, _ column: Int) -> String? {
        guard !isNull(row, column), let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return String(cString: value)
    }

    /// A bytea value (text result format: `\x…` hex), nil when NULL or not bytea text.
    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard !isNull(row, column), let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        var length = 0
        guard let unescaped = value.withMemoryRebound(to: UInt8.self, capacity: 1, { PQunescapeBytea($0, &length) }) else { return nil }
        defer { PQfreemem(unescaped) }
        return Array(UnsafeBufferPointer(start: unescaped, count: length))
    }

    func error(fallback: String) -> PGError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorMessage(result).map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        return PGError(sqlState: state, message: (primary?.isEmpty ?? true) ? fallback : primary ?? fallback)
    }
}

/// A failure from libpq or the server: SQLSTATE (nil for a connection failure) and words.
struct PGError: Error, Sendable, CustomStringConvertible {
    let sqlState: String?
    let message: String

    var description: String { message }

    /// The transaction should be retried: a serialization failure or a deadlock.
    var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// A unique constraint was violated (another process inserted first).
    var isUniqueViolation: Bool { sqlState == "23505" }
}
