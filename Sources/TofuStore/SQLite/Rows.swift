import Foundation
import GRDB
import GRDBSQLite
import TofuCore
import TofuTLS

/// Pins, servers and events to and from SQLite rows. SANs are stored one per line: tofu escapes
/// control characters in them, so a name can never contain a newline. Rows are read strictly
/// by `RowDecoding`, the checks every backend shares.
enum Rows {
    static let pinInsertColumns = """
        host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber,
        notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy,
        nextDer, nextSha256Fingerprint, nextSpkiSha256, nextSubject, nextIssuer, nextSerialNumber,
        nextNotBefore, nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt
        """
    /// What `pin(_:)` reads, by position: the rowid and the host first, as every read here.
    static let pinColumns = "id, " + pinInsertColumns
    static let pinNames = RowDecoding.pinNames

    static func insert(_ pin: Pin, into db: Database) throws {
        let placeholders = Array(repeating: "?", count: pinNames.count - 1).joined(separator: ", ")
        try db.cachedStatement(sql: "INSERT INTO pin (\(pinInsertColumns)) VALUES (\(placeholders))").execute(arguments: StatementArguments(arguments(pin)))
    }

    /// Writes every column of the pin row of `pin.host`, which exists.
    static func update(_ pin: Pin, in db: Database) throws {
        let assignments = pinNames.dropFirst(2).map { "\($0) = ?" }.joined(separator: ", ")
        var values = arguments(pin)
        let host = values.removeFirst()
        try db.cachedStatement(sql: "UPDATE pin SET \(assignments) WHERE host = ?").execute(arguments: StatementArguments(values + [host]))
    }

    private static func arguments(_ pin: Pin) -> [(any DatabaseValueConvertible)?] {
        let next = pin.next?.certificate
        return [pin.host.description, pin.host.host, pin.host.port] + certificateArguments(pin.certificate)
            + [pin.pinnedAt, pin.lastVerifiedAt, pin.policy.rawValue]
            + (next.map(certificateArguments) ?? Array(repeating: nil, count: 10)) + [pin.next?.stagedAt]
    }

    private static func certificateArguments(_ certificate: CertificateSummary) -> [(any DatabaseValueConvertible)?] {
        [
            Data(certificate.der), certificate.sha256Fingerprint.description, certificate.spkiSha256, certificate.subject,
            certificate.issuer, certificate.serialNumber, certificate.notBefore, certificate.notAfter,
            certificate.subjectAltNames.joined(separator: "\n"), certificate.publicKey,
        ]
    }

    /// A row of `SELECT \(pinColumns)`, read by position (GRDB's by-name lookup lowercases
    /// the name on every call, which dominated listing large stores).
    static func pin(_ row: Row) throws(RowDamage) -> Pin {
        try RowDecoding.pin(reader(row, table: "pin", names: pinNames))
    }

    static let insertEvent = "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES (?, ?, ?, ?, ?)"

    /// Records `event` with `statement`, a prepared `insertEvent`.
    static func record(_ event: HistoryEvent, with statement: Statement) throws {
        try SteppedRows.execute(statement, binding: [event.at, event.host.description, event.kind.rawValue, event.sha256Fingerprint.description, event.detail])
    }

    static let eventColumns = "id, host, at, event, sha256Fingerprint, detail"
    static let eventNames = RowDecoding.eventNames

    /// A row of `SELECT \(eventColumns)`, read by position.
    static func event(_ row: Row) throws(RowDamage) -> HistoryEvent {
        try RowDecoding.event(reader(row, table: "event", names: eventNames))
    }

    static let serverColumns = "id, host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated"
    static let serverNames = RowDecoding.serverNames

    /// A row of `SELECT \(serverColumns)`, read by position.
    static func server(_ row: Row) throws(RowDamage) -> DnacServer {
        try RowDecoding.server(reader(row, table: "dnac_server", names: serverNames))
    }

    /// The pin of the row `statement` (a `SELECT \(pinColumns)`) stands on, read by position
    /// straight from SQLite: no `Row`, no `DatabaseValue`. `host`, when given, is the key the
    /// statement looked up: a host column that holds exactly its text needs no parsing.
    static func pin(_ statement: SQLiteStatement, host: (key: HostKey, text: String)? = nil) throws(RowDamage) -> Pin {
        var reader = reader(statement, table: "pin", names: pinNames)
        reader.knownHost = host
        return try RowDecoding.pin(reader)
    }

    /// The row `statement` (a `SELECT \(pinColumns)` of the key `host`, whose text is `key`)
    /// stands on, checked in place and copied out, when it is a plain, sound pin (see `PlainPin`);
    /// nil for any other row, which `pin(_:host:)` then reads and judges.
    static func plainPin(_ statement: SQLiteStatement, host: HostKey, key: String) -> PlainPin? {
        guard sqlite3_column_count(statement) == CInt(pinNames.count) else { return nil }
        return PlainPin.checked(
            host: host, key: key,
            text: { column in
                let column = CInt(column)
                guard sqlite3_column_type(statement, column) == SQLITE_TEXT, let start = sqlite3_column_text(statement, column) else { return nil }
                let count = Int(sqlite3_column_bytes(statement, column))
                guard count >= 0, memchr(start, 0, count) == nil else { return nil }
                return UnsafeRawBufferPointer(start: start, count: count)
            },
            isNull: { sqlite3_column_type(statement, CInt($0)) == SQLITE_NULL },
            portIsTheKeys: { sqlite3_column_type(statement, 3) == SQLITE_INTEGER && sqlite3_column_int64(statement, 3) == Int64(host.port) },
            certificateHashes: { fingerprint in
                guard sqlite3_column_type(statement, 4) == SQLITE_BLOB, let der = sqlite3_column_blob(statement, 4) else { return false }
                let count = Int(sqlite3_column_bytes(statement, 4))
                return count > 0 && Fingerprint.text(fingerprint, isSHA256Of: UnsafeRawBufferPointer(start: der, count: count))
            })
    }

    /// The shared checks over the row `statement` stands on: each column as SQLite stored it,
    /// converted as GRDB's `DatabaseValue` converts it (text up to a NUL, as `String(cString:)`
    /// reads it), so both readers see the same values.
    static func reader(_ statement: SQLiteStatement, table: String, names: [String]) -> RowReader {
        let columns = Int(sqlite3_column_count(statement))
        return RowReader(table: table, names: names) { index in
            guard index >= 0, index < columns else { return nil }
            let column = CInt(index)
            switch sqlite3_column_type(statement, column) {
            case SQLITE_NULL: return .null
            case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
            case SQLITE_TEXT:
                guard let text = sqlite3_column_text(statement, column) else { return nil }
                return .text(String(cString: text))
            case SQLITE_BLOB:
                guard let bytes = sqlite3_column_blob(statement, column) else { return .bytes([]) }
                let count = Int(sqlite3_column_bytes(statement, column))
                return .bytes(Array(UnsafeRawBufferPointer(start: bytes, count: max(0, count))))
            default: return nil
            }
        }
    }

    /// The shared checks over one SQLite row: each column as SQLite stored it, no conversion.
    static func reader(_ row: Row, table: String, names: [String]) -> RowReader {
        RowReader(table: table, names: names) { index in
            guard let value = try? row.decode(DatabaseValue.self, atIndex: index) else { return nil }
            return switch value.storage {
            case .null: .null
            case .int64(let number): .integer(number)
            case .double(let number): .real(number)
            case .string(let text): .text(text)
            case .blob(let data): .bytes([UInt8](data))
            }
        }
    }
}

/// The rows of a statement as SQLite steps it, each given as the statement standing on it, for
/// `Rows.pin(_:host:)` to read in place (valid until the next step). Like GRDB's own cursors
/// it leaves the statement reset when it goes, so no read transaction outlives the read.
final class SteppedRows: DatabaseCursor {
    typealias Element = SQLiteStatement
    let _statement: Statement
    var _isDone = false

    /// Binds `arguments` to `statement`.
    init(_ statement: Statement, arguments: StatementArguments) throws {
        _statement = statement
        try statement.setArguments(arguments)
    }

    /// Binds `values`, one to each of `statement`'s parameters in order, straight with SQLite:
    /// GRDB's `StatementArguments` (an array of existentials, checked and converted) cost more
    /// than the indexed read they feed. The count is still checked against the statement's.
    init(_ statement: Statement, binding values: some Collection<some StatementBinding>) throws {
        _statement = statement
        let sqlite = statement.sqliteStatement
        // The cursor that used the statement last reset it when it went; its bindings are replaced.
        sqlite3_reset(sqlite)
        guard Int(sqlite3_bind_parameter_count(sqlite)) == values.count else {
            throw DatabaseError(message: "\(values.count) values for the \(sqlite3_bind_parameter_count(sqlite)) parameters of a statement", sql: statement.sql)
        }
        for (index, value) in zip(CInt(1)..., values) {
            let code = value.bind(to: sqlite, at: index)
            guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), sql: statement.sql) }
        }
    }

    deinit {
        sqlite3_reset(_statement.sqliteStatement)
    }

    /// Runs a statement that changes rows (every step, as GRDB's `execute` does), `values`
    /// bound straight with SQLite: on a write's path, GRDB's arguments cost more than the change.
    static func execute(_ statement: Statement, binding values: some Collection<some StatementBinding>) throws {
        let rows = try SteppedRows(statement, binding: values)
        try withExtendedLifetime(rows) {
            while try rows.next() != nil {}
        }
    }

    func _element(sqliteStatement: SQLiteStatement) -> SQLiteStatement {
        sqliteStatement
    }
}
