import Foundation
import GRDB
import TofuCore

/// The embedded store: one SQLite file in WAL mode, which several processes may share.
///
/// Every write is one IMMEDIATE transaction (SQLite's one write lock, so check-and-set holds
/// across processes too) committed with `synchronous=FULL` before `write` returns. Reads go to
/// one query-only connection. A first read opens only that connection, so a one-shot lookup
/// writes nothing; the first write opens the rest (creating and migrating the file if need
/// be), and tries again on the next write if that fails.
final class SQLiteBackend: StoreBackend {
    let path: String
    private let busyTimeout: TimeInterval
    private var reader: DatabaseQueue
    private var writer: Writer
    /// The reader's page queries, prepared once for its life: GRDB's statement cache would hash
    /// the whole SQL text to find them on every read. Used, and emptied, only on the reader's queue.
    private let readerStatements = HeldStatements()
    /// The writer's statements of the write path (BEGIN, COMMIT, a pin's read, a delete, an
    /// event), held the same way, on the writer's queue.
    private let writerStatements = HeldStatements()
    /// The run of the last `read(sharingSnapshotOf:_:)`, and whether its snapshot is held open.
    private var sharedRun: (run: UInt64, open: Bool)?

    private enum Writer {
        /// Only the reader is open: nothing has been written yet.
        case notOpened
        case open(DatabasePool)
        /// The file cannot be written by this process: why, in the operator's words.
        case readOnly(String)
    }

    /// Opens what reading `path` needs: the reader alone when the store exists and is current,
    /// else the whole store (created, or migrated, or read-only).
    init(path: String, busyTimeout: TimeInterval) throws(TofuError) {
        self.path = path
        self.busyTimeout = busyTimeout
        do {
            if let reader = try StoreFile.openReader(path: path, busyTimeout: busyTimeout) {
                (self.reader, writer) = (reader, .notOpened)
            } else {
                let handle = try StoreFile.open(path: path, busyTimeout: busyTimeout)
                (reader, writer) = (handle.reader, Self.writer(of: handle))
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    private static func writer(of handle: StoreFile.Handle) -> Writer {
        handle.writer.map(Writer.open) ?? .readOnly(handle.readOnlyReason ?? "the store is read-only")
    }

    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        endSharedSnapshot()
        do {
            let pool = try openWriter()
            return try pool.writeWithoutTransaction { db in
                // GRDB's `inTransaction` prepares BEGIN and COMMIT again for every write (13k
                // instructions of a delete); these are prepared once. Anything thrown rolls back,
                // and lets go of the held statements: GRDB drops a statement that failed from its
                // cache, and one held after a failure (a busy BEGIN) would fail the next write too.
                do {
                    try writerStatements.statement(.begin, in: db).execute()
                    let result = try body(SQLiteTransaction(db: db, held: writerStatements))
                    try writerStatements.statement(.commit, in: db).execute()
                    return result
                } catch {
                    if db.isInsideTransaction { try? db.rollback() }
                    writerStatements.release()
                    throw error
                }
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    /// One IMMEDIATE transaction holds SQLite's one write lock, whatever hosts it decides about.
    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        try write(locking: nil, body)
    }

    func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        endSharedSnapshot()
        do {
            // No BEGIN … COMMIT: each SELECT runs on one consistent WAL snapshot of its own, and
            // GRDB's wrapping read transaction cost ~100 µs a call.
            return try reader.inDatabase { db in try body(SQLiteTransaction(db: db, held: readerStatements)) }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        endSharedSnapshot()
        do {
            // A deferred transaction on the query-only reader: its first SELECT fixes the WAL snapshot.
            return try reader.inDatabase { db in
                var result: T?
                try db.inTransaction(.deferred) {
                    result = try body(SQLiteTransaction(db: db, held: readerStatements))
                    return .commit
                }
                guard let result else { throw TofuError.storeUnavailable(reason: "a store snapshot returned nothing") }
                return result
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    /// A pipelined client's point reads, one read of its input: each SELECT on its own would
    /// take and drop the file's read lock (two `fcntl` and a `stat` each: a fifth of a point
    /// read's time); from the run's second read on, they share the deferred transaction that
    /// one begins (a run of one, a client waiting for each answer, pays nothing for it). Every
    /// request of the run had arrived before that snapshot was taken, so each answer still shows
    /// the store as it was at some moment between its request and its answer.
    func read<T>(sharingSnapshotOf run: UInt64, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        if let shared = sharedRun, shared.run != run { endSharedSnapshot() }
        do {
            return try reader.inDatabase { db in
                switch sharedRun {
                case nil: sharedRun = (run, false)
                case (_, false)?:
                    try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
                    sharedRun = (run, true)
                case (_, true)?: break
                }
                do {
                    return try body(SQLiteTransaction(db: db, held: readerStatements))
                } catch {
                    // A failed read may have ended the transaction, or left it in doubt.
                    endSharedSnapshot(db)
                    throw error
                }
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    var holdsSharedSnapshot: Bool { sharedRun?.open == true }

    func endSharedSnapshot() {
        guard let shared = sharedRun else { return }
        guard shared.open else {
            sharedRun = nil
            return
        }
        reader.inDatabase { db in endSharedSnapshot(db) }
    }

    /// Ends the shared snapshot, on the reader's queue.
    private func endSharedSnapshot(_ db: Database) {
        sharedRun = nil
        guard db.isInsideTransaction else { return }
        do {
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
        } catch {
            try? db.rollback()
        }
    }

    /// The writer, opened with the rest of the store on the first write.
    private func openWriter() throws -> DatabasePool {
        if case .notOpened = writer {
            let handle = try StoreFile.open(path: path, busyTimeout: busyTimeout, reader: reader)
            if handle.reader !== reader {
                releaseReaderStatements()
                try? reader.close()
                reader = handle.reader
            }
            writer = Self.writer(of: handle)
        }
        switch writer {
        case .open(let pool): return pool
        case .readOnly(let reason): throw TofuError.storeUnavailable(reason: reason)
        case .notOpened: throw TofuError.storeUnavailable(reason: "the store \(path) could not be opened for writing")
        }
    }

    /// Finalizes the reader's held statements on its queue: a connection with a statement still
    /// prepared does not close.
    private func releaseReaderStatements() {
        reader.inDatabase { _ in readerStatements.release() }
    }

    func backup(to destination: String) throws(TofuError) -> BackupSummary {
        endSharedSnapshot()
        do {
            return try StoreBackup.write(from: reader, to: destination)
        } catch {
            throw StoreBackup.failure(error, store: path, destination: destination)
        }
    }

    /// A file is never lost by a failed call: a busy or damaged store answers each call with its
    /// reason, and the same connections serve the next.
    var needsReopening: Bool { false }

    /// The last process to close folds the WAL back into the store file, so after a clean exit
    /// the file alone holds every pin: a plain copy is a whole backup, and a reader that may not
    /// create SQLite's side files still sees everything.
    func close() {
        let writerPool: DatabasePool? = if case .open(let pool) = writer { pool } else { nil }
        endSharedSnapshot()
        releaseReaderStatements()
        // A connection with a statement still prepared does not close.
        writerPool?.writeWithoutTransaction { _ in writerStatements.release() }
        StoreFile.Handle(writer: writerPool, readOnlyReason: nil, reader: reader).close()
        writer = .notOpened
    }
}

/// The primitives over one SQLite connection, inside the transaction `SQLiteBackend` began.
/// Every statement is cached by the connection: each is prepared once per process.
private struct SQLiteTransaction: StoreTransaction {
    let db: Database
    /// The statements this connection holds prepared, when it is the reader.
    var held: HeldStatements? = nil

    func pin(_ host: HostKey) throws -> Pin? {
        let key = host.description
        let rows = try SteppedRows(statement(.pinOfHost), binding: CollectionOfOne(key))
        // The row is read in place: the cursor (whose end resets the statement) lives until it is read.
        return try withExtendedLifetime(rows) { try rows.next().map { row throws(RowDamage) in try Rows.pin(row, host: (host, key)) } }
    }

    /// One of the statements the connection holds prepared (see `HeldStatements.Held`), or the
    /// connection's cached one when it holds none.
    private func statement(_ which: HeldStatements.Held) throws -> Statement {
        try held?.statement(which, in: db) ?? db.cachedStatement(sql: which.sql)
    }

    /// The page queries of `pins`, one for each set of conditions (bit 0: after, 1: host,
    /// 2: expiringBefore, 3: stagedOnly): the same text each time, not rebuilt for every call.
    private static let pageQueries: [String] = (0..<16).map { set in
        let conditions = ["host > ?", "host = ?", "notAfter < ?", "nextSha256Fingerprint IS NOT NULL"].enumerated()
            .filter { set & (1 << $0.offset) != 0 }.map(\.element)
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return "SELECT \(Rows.pinColumns) FROM pin \(filter) ORDER BY host LIMIT ?"
    }

    /// A value bound to a page query.
    private enum PageValue: StatementBinding {
        case text(String)
        case integer(Int64)

        func bind(to sqliteStatement: SQLiteStatement, at index: CInt) -> CInt {
            switch self {
            case .text(let text): text.bind(to: sqliteStatement, at: index)
            case .integer(let number): number.bind(to: sqliteStatement, at: index)
            }
        }
    }

    func storedFingerprint(_ host: HostKey) throws -> Fingerprint? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: HeldStatements.Held.pinOfHost.sql), arguments: [host.description]) else {
            return nil
        }
        return try? Rows.reader(row, table: "pin", names: Rows.pinNames).fingerprint(5)
    }

    func insert(_ pin: Pin) throws {
        try Rows.insert(pin, into: db)
    }

    func update(_ pin: Pin) throws {
        try Rows.update(pin, in: db)
    }

    func deletePin(_ host: HostKey) throws {
        try SteppedRows.execute(statement(.deletePin), binding: CollectionOfOne(host.description))
    }

    func touch(_ host: HostKey, verifiedAt: String) throws {
        try db.cachedStatement(sql: "UPDATE pin SET lastVerifiedAt = ? WHERE host = ?").execute(arguments: [verifiedAt, host.description])
    }

    func pins(after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool) throws -> (pins: [Pin], more: Bool) {
        var set = 0
        // In the order of the query's conditions, then the limit.
        var values: [PageValue] = []
        values.reserveCapacity(4)
        if let after {
            set |= 1
            values.append(.text(after))
        }
        let key = host.map { ($0, $0.description) }
        if let key {
            set |= 2
            values.append(.text(key.1))
        }
        if let expiringBefore {
            set |= 4
            values.append(.text(expiringBefore))
        }
        if stagedOnly { set |= 8 }
        values.append(.integer(Int64(limit) + 1))
        // Each row is decoded from the statement's columns as it is stepped.
        let rows = try SteppedRows(pageStatement(set), binding: values)
        var pins: [Pin] = []
        var more = false
        try withExtendedLifetime(rows) {
            while let row = try rows.next() {
                guard pins.count < limit else {
                    more = true
                    break
                }
                pins.append(try Rows.pin(row, host: key))
            }
        }
        return (pins, more)
    }

    func plainPin(_ host: HostKey) throws -> PlainPinLookup {
        let key = host.description
        // The page query of a host (bit 1), held by the reader: one row at most, as the key is unique.
        let rows = try SteppedRows(pageStatement(2), binding: [PageValue.text(key), .integer(2)])
        return try withExtendedLifetime(rows) {
            guard let row = try rows.next() else { return .noPin }
            guard let plain = Rows.plainPin(row, host: host, key: key) else { return .notPlain }
            return try rows.next() == nil ? .plain(plain) : .notPlain
        }
    }

    /// The page query of the conditions `set`: the reader's held one, or the connection's cached one.
    private func pageStatement(_ set: Int) throws -> Statement {
        guard let held else { return try db.cachedStatement(sql: Self.pageQueries[set]) }
        if let statement = held.pages[set] { return statement }
        let statement = try db.cachedStatement(sql: Self.pageQueries[set])
        held.pages[set] = statement
        return statement
    }

    func hostKeys() throws -> [HostKey] {
        let rows = try SteppedRows(db.cachedStatement(sql: "SELECT \(Rows.pinColumns) FROM pin ORDER BY host"), arguments: [])
        var keys: [HostKey] = []
        try withExtendedLifetime(rows) {
            while let row = try rows.next() { keys.append(try Rows.pin(row).host) }
        }
        return keys
    }

    func record(_ event: HistoryEvent) throws {
        try Rows.record(event, with: statement(.insertEvent))
    }

    func history(host: HostKey?, kinds: [HistoryEvent.Kind], since: String?, limit: Int) throws -> [HistoryEvent] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let host {
            conditions.append("host = ?")
            arguments += [host.description]
        }
        if !kinds.isEmpty {
            conditions.append("event IN (\(Array(repeating: "?", count: kinds.count).joined(separator: ", ")))")
            arguments += StatementArguments(kinds.map(\.rawValue))
        }
        if let since {
            conditions.append("at >= ?")
            arguments += [since]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        return try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(Rows.eventColumns) FROM (SELECT * FROM event \(filter) ORDER BY id DESC LIMIT ?) ORDER BY id ASC"),
            arguments: arguments
        ).map { row throws(RowDamage) in try Rows.event(row) }
    }

    func lastEvent(of host: HostKey, kinds: [HistoryEvent.Kind]) throws -> HistoryEvent? {
        let placeholders = Array(repeating: "?", count: kinds.count).joined(separator: ", ")
        return try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Rows.eventColumns) FROM event WHERE host = ? AND event IN (\(placeholders)) ORDER BY id DESC LIMIT 1"),
            arguments: [host.description] + StatementArguments(kinds.map(\.rawValue))
        ).map { row throws(RowDamage) in try Rows.event(row) }
    }

    func deleteEvents(before: String, host: HostKey?) throws -> Int {
        if let host {
            try db.cachedStatement(sql: "DELETE FROM event WHERE at < ? AND host = ?").execute(arguments: [before, host.description])
        } else {
            try db.cachedStatement(sql: "DELETE FROM event WHERE at < ?").execute(arguments: [before])
        }
        return db.changesCount
    }

    func server(_ host: HostKey) throws -> DnacServer? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server WHERE host = ?"), arguments: [host.description])
            .map { row throws(RowDamage) in try Rows.server(row) }
    }

    func servers() throws -> [DnacServer] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server ORDER BY host")).map { row throws(RowDamage) in try Rows.server(row) }
    }

    func save(_ server: DnacServer) throws {
        let host = server.host
        try db.cachedStatement(sql: """
                INSERT INTO dnac_server (host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(host) DO UPDATE SET username = excluded.username, pinnedFingerprint = excluded.pinnedFingerprint,
                    lastCheckedAt = excluded.lastCheckedAt, authenticated = excluded.authenticated
                """).execute(arguments: [
                    host.description, host.host, host.port, server.username, server.pinnedFingerprint.description, server.addedAt,
                    server.lastCheckedAt, server.authenticated,
                ])
    }

    func deleteServer(_ host: HostKey) throws {
        try db.cachedStatement(sql: "DELETE FROM dnac_server WHERE host = ?").execute(arguments: [host.description])
    }

    func events(after: (host: String, id: Int64)?, limit: Int) throws -> [(id: Int64, event: HistoryEvent)] {
        let filter = after == nil ? "" : "WHERE (host, id) > (?, ?)"
        var arguments: StatementArguments = after.map { [$0.host, $0.id] } ?? []
        arguments += [limit]
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT \(Rows.eventColumns) FROM event \(filter) ORDER BY host, id LIMIT ?"), arguments: arguments)
        var events: [(id: Int64, event: HistoryEvent)] = []
        while let row = try rows.next() { events.append(try RowDecoding.numberedEvent(Rows.reader(row, table: "event", names: Rows.eventNames))) }
        return events
    }

    func servers(from: String?, limit: Int) throws -> [DnacServer] {
        let filter = from == nil ? "" : "WHERE host >= ?"
        var arguments: StatementArguments = from.map { [$0] } ?? []
        arguments += [limit]
        return try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server \(filter) ORDER BY host LIMIT ?"), arguments: arguments)
            .map { row throws(RowDamage) in try Rows.server(row) }
    }
}

/// Statements one connection keeps prepared for its life, touched only on that connection's queue.
/// GRDB's statement cache would hash each statement's whole text to find it, on every call.
private final class HeldStatements {
    /// By `SQLiteTransaction.pageQueries`' index.
    var pages = [Statement?](repeating: nil, count: 16)
    /// By `Held`'s raw value.
    private var others = [Statement?](repeating: nil, count: Held.allCases.count)

    /// The statements of a write (and of a pin's read), held by name.
    enum Held: Int, CaseIterable {
        case begin, commit, pinOfHost, deletePin, insertEvent

        var sql: String {
            switch self {
            case .begin: "BEGIN IMMEDIATE TRANSACTION"
            case .commit: "COMMIT TRANSACTION"
            case .pinOfHost: "SELECT \(Rows.pinColumns) FROM pin WHERE host = ?"
            case .deletePin: "DELETE FROM pin WHERE host = ?"
            case .insertEvent: Rows.insertEvent
            }
        }
    }

    func statement(_ which: Held, in db: Database) throws -> Statement {
        if let statement = others[which.rawValue] { return statement }
        let statement = try db.cachedStatement(sql: which.sql)
        others[which.rawValue] = statement
        return statement
    }

    func release() {
        pages = [Statement?](repeating: nil, count: 16)
        others = [Statement?](repeating: nil, count: Held.allCases.count)
    }
}
