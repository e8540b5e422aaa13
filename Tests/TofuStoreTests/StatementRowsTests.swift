import Foundation
import GRDB
import GRDBSQLite
import Testing
import TofuCore
import TofuTLS

@testable import TofuStore

/// Pins read straight from the statement (`SteppedRows`, `Rows.pin(_:host:)`, what every pin
/// read of the SQLite backend uses) read exactly as through GRDB's `Row` (`Rows.pin(_:)`, which
/// `RowsTests` checks column by column): the same pin, or the same damage, for every value of
/// every column, with and without the host key the read looked up.
@Suite struct StatementRowsTests {
    typealias Outcome = Result<Pin, RowDamage>

    /// The one pin row of `queue`, read through a `Row`, through the statement, and through the
    /// statement for a point read of `host`.
    static func outcomes(_ queue: DatabaseQueue, host: HostKey) throws -> (row: Outcome, statement: Outcome, pointRead: Outcome) {
        try queue.read { db in
            let sql = "SELECT \(Rows.pinColumns) FROM pin"
            guard let row = try Row.fetchOne(db, sql: sql) else { throw TestFailure("no row") }
            func read(_ known: (key: HostKey, text: String)?) throws -> Outcome {
                let rows = try SteppedRows(db.makeStatement(sql: sql), arguments: [])
                return try withExtendedLifetime(rows) {
                    guard let statement = try rows.next() else { throw TestFailure("no row stepped") }
                    return Result { () throws(RowDamage) in try Rows.pin(statement, host: known) }
                }
            }
            return (Result { () throws(RowDamage) in try Rows.pin(row) }, try read(nil), try read((host, host.description)))
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func same(_ a: Outcome, _ b: Outcome) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): x == y
        case (.failure(let x), .failure(let y)): x.row == y.row
        default: false
        }
    }

    static let values: [(String, DatabaseValue)] = RowsTests.wrongValues + [
        ("canonical fingerprint", RowsTests.fingerprint.description.databaseValue),
        ("lowercase fingerprint", RowsTests.fingerprint.description.lowercased().databaseValue),
        ("host key", "kong.example_8443".databaseValue), ("other host key", "kong.example_443".databaseValue),
        ("uppercase host", "KONG.example_8443".databaseValue), ("host", "kong.example".databaseValue),
        ("uppercase address", "KONG.EXAMPLE".databaseValue), ("address with a dot", "kong.example.".databaseValue),
        ("port", 8443.databaseValue), ("text port", "8443".databaseValue), ("time", RowsTests.time.databaseValue),
        ("text with a NUL", "kong.example\0_8443".databaseValue), ("DER", Data(RowsTests.der).databaseValue),
        ("kelvin sign", "\u{212A}ong.example_8443".databaseValue),
    ]

    @Test func everyValueOfEveryColumnReadsTheSameEitherWay() throws {
        let queue = try RowsTests.database()
        let host = RowsTests.pin.host
        let first = try Self.outcomes(queue, host: host)
        #expect(try first.row.get() == RowsTests.pin)
        #expect(Self.same(first.row, first.statement) && Self.same(first.row, first.pointRead))
        var damaged = 0
        for column in Rows.pinNames.dropFirst() {
            for (label, value) in Self.values {
                let original = try queue.read { db in try DatabaseValue.fetchOne(db, sql: "SELECT \(column) FROM pin") }
                try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = ?", arguments: [value]) }
                let read = try Self.outcomes(queue, host: host)
                #expect(Self.same(read.row, read.statement), "\(column) = \(label): \(read.row) / \(read.statement)")
                #expect(Self.same(read.row, read.pointRead), "\(column) = \(label), point read: \(read.row) / \(read.pointRead)")
                if case .failure = read.row { damaged += 1 }
                try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = ?", arguments: [original]) }
            }
        }
        #expect(damaged > 100, "the values damage the row often: \(damaged)")
    }

    /// A cursor left before its last row resets its statement: no read transaction is left open
    /// (one would keep every later read on its old snapshot, and the WAL from being checkpointed).
    @Test func aCursorLeftEarlyEndsItsRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stepped-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let pool = try DatabasePool(path: path)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (x)")
            for x in 0..<3 { try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [x]) }
        }
        try pool.writeWithoutTransaction { db in
            let statement = try db.makeStatement(sql: "SELECT x FROM t")
            do {
                let rows = try SteppedRows(statement, arguments: [])
                _ = try rows.next()
                #expect(sqlite3_stmt_busy(statement.sqliteStatement) != 0)
            }
            #expect(sqlite3_stmt_busy(statement.sqliteStatement) == 0)
            #expect(db.isInsideTransaction == false)
        }
    }
    /// Values bound straight with SQLite (`SteppedRows(_:binding:)`, what the page and point
    /// reads use) select what GRDB's checked `StatementArguments` select, the statement reused
    /// (its earlier bindings replaced), and a count that does not match the statement's
    /// parameters is an error, not a read with a parameter left unbound.
    @Test func valuesBoundStraightSelectAsGRDBsArguments() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (name TEXT, n INTEGER)")
            for n in 0..<40 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: ["h\(n % 7)", n]) }
        }
        try queue.read { db in
            let sql = "SELECT name, n FROM t WHERE name = ? AND n > ? ORDER BY n LIMIT ?"
            func rows(_ cursor: SteppedRows) throws -> [[Int64]] {
                try withExtendedLifetime(cursor) {
                    var read: [[Int64]] = []
                    while let statement = try cursor.next() {
                        read.append([sqlite3_column_int64(statement, 1), Int64(sqlite3_column_bytes(statement, 0))])
                    }
                    return read
                }
            }
            let statement = try db.cachedStatement(sql: sql)
            for (name, above, limit) in [("h3", Int64(-1), Int64(100)), ("h3", 10, 2), ("h0", 5, 3), ("none", 0, 5), ("h6", 30, 1)] {
                let straight = try rows(SteppedRows(statement, binding: [DatabaseValue(value: name)!, above.databaseValue, limit.databaseValue]))
                let checked = try rows(SteppedRows(db.makeStatement(sql: sql), arguments: [name, above, limit]))
                #expect(straight == checked, "\(name) \(above) \(limit)")
                #expect(!straight.isEmpty || name == "none")
            }
            for count in [0, 2, 4] {
                #expect(throws: DatabaseError.self) {
                    _ = try SteppedRows(statement, binding: Array(repeating: Int64(1).databaseValue, count: count))
                }
            }
        }
    }
}
