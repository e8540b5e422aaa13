import TofuCore

/// The fleet's store: one PostgreSQL database that many processes on many machines share.
///
/// One libpq connection, opened with the store. Nothing is written until the first write: a
/// process whose calls only read sends one query for the schema version, then its reads (a
/// database tofu never wrote reads as an empty store, and stays untouched); the first write
/// creates or upgrades the schema, once, under an advisory lock. Every write is one transaction
/// that first takes a transaction-scoped advisory lock on its host: all writers of a host, on
/// every machine, take turns, so read-decide-write (pin if absent, compare, replace, delete if
/// it is this certificate) is atomic as SQLite's IMMEDIATE transactions make it, without
/// SERIALIZABLE's retries; writers of different hosts never wait for each other. COMMIT returns
/// before `write` does, so an answer follows the commit. A lost connection answers the call with
/// the reason (and whether the change may have been made) and asks the store to open a new one
/// on the next call.
final class PostgreSQLBackend: StoreBackend {
    /// Where the store is, for messages: the URI without its user, password or options.
    let location: String
    private let schema: String
    private let connection: PGConnection
    /// Where the schema stood at the last look: nil before the first call.
    private var schemaState: PGSchema.State?
    private(set) var needsReopening = false

    /// Connects with `uri` (libpq's conventions for what it does not say), every connect, lock
    /// wait and statement bounded by `timeoutMilliseconds`, in the PostgreSQL schema `schema`.
    init(uri: String, timeoutMilliseconds: Int, schema: String = "tofu") throws(TofuError) {
        location = StoreLocation.redacted(uri)
        guard PGSchema.isValidName(schema) else {
            throw .storeUnavailable(reason: "'\(schema)' cannot name tofu's PostgreSQL schema: use lowercase letters, digits and underscores")
        }
        self.schema = schema
        let libpq: LibPQ
        do {
            libpq = try LibPQ()
        } catch {
            throw .storeUnavailable(reason: "cannot open the PostgreSQL store \(location): \(error)")
        }
        do {
            connection = try PGConnection(libpq: libpq, uri: uri, timeoutMilliseconds: timeoutMilliseconds, schema: schema)
        } catch {
            throw .storeUnavailable(
                reason: "cannot connect to the PostgreSQL store \(location): \(error.message); check that the server is up and reachable, and the role's password (PGPASSWORD or ~/.pgpass)")
        }
    }

    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        try write(lockingAll: host.map { [$0] } ?? [], body)
    }

    /// Locks taken in one order (bytewise by key) by every writer of several hosts, so two never wait for each other.
    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        var committing = false
        do {
            if try lookAtSchema() != .current { try upgradeSchema() }
            try connection.simple("BEGIN")
            do {
                for host in Set(hosts).map(\.description).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    try connection.run("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("tofu pin \(schema) \(host)")])
                }
                let result = try body(PGTransaction(connection: connection))
                committing = true
                try connection.simple("COMMIT")
                return result
            } catch {
                rollBack()
                throw error
            }
        } catch {
            throw failure(error, committing: committing)
        }
    }

    func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        // No BEGIN … COMMIT: every read PinStore makes is one statement, one snapshot.
        do {
            guard try schemaIsReadable() else { return try body(NeverWritten()) }
            return try body(PGTransaction(connection: connection))
        } catch {
            throw failure(error, committing: false)
        }
    }

    /// Whether the schema is there to read (upgraded first when behind); false for a database
    /// tofu has never written, which reads as an empty store and is left untouched.
    private func schemaIsReadable() throws -> Bool {
        switch try lookAtSchema() {
        case .current: return true
        case .absent: return false
        case .behind, .newer:
            try upgradeSchema()
            return true
        }
    }

    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        do {
            guard try schemaIsReadable() else { return try body(NeverWritten()) }
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            do {
                let result = try body(PGTransaction(connection: connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                rollBack()
                throw error
            }
        } catch {
            throw failure(error, committing: false)
        }
    }

    func close() {}

    /// The schema's state: known current, or looked at now (one query).
    private func lookAtSchema() throws -> PGSchema.State {
        if schemaState == .current { return .current }
        let found = try PGSchema.state(connection)
        schemaState = found
        if case .newer(let version) = found { throw newer(version) }
        return found
    }

    /// Creates or upgrades the schema; a newer one is refused.
    private func upgradeSchema() throws {
        let found = try PGSchema.migrate(connection, schema: schema)
        schemaState = found
        if case .newer(let version) = found { throw newer(version) }
    }

    private func newer(_ version: Int) -> TofuError {
        .storeUnavailable(
            reason: "the PostgreSQL store \(location) (schema \(schema)) was written by a newer tofu (schema version \(version); this build knows \(PGSchema.migrations.count)): upgrade tofu on this machine")
    }

    /// A PostgreSQL store is backed up with PostgreSQL's own tools, which copy it consistently
    /// while other machines write (README: "Backups").
    func backup(to path: String) throws(TofuError) -> BackupSummary {
        throw .storeUnavailable(reason: PGSchema.backupAdvice(location: location, schema: schema))
    }

    private func rollBack() {
        guard connection.isUsable else { return }
        do {
            try connection.simple("ROLLBACK")
        } catch {
            needsReopening = true
        }
    }

    /// `error` as the store answers it; a connection it left unusable is replaced on the next
    /// call. `committing`: the error came from COMMIT itself.
    private func failure(_ error: any Error, committing: Bool) -> TofuError {
        if !connection.isUsable { needsReopening = true }
        if let error = error as? TofuError { return error }
        if let damage = error as? RowDamage { return .damagedRow(damage.row, store: location) }
        guard let error = error as? PGError else {
            return .storeUnavailable(reason: "using the PostgreSQL store \(location) failed: \(error)")
        }
        let words = error.message
        let outcome = committing
            ? "the connection was lost while committing, so the change may or may not have been made: look (listCerts, certHistory) before retrying"
            : "nothing was changed"
        if error.unanswered {
            return .storeUnavailable(
                reason: "the PostgreSQL store \(location) did not answer (\(words): twice --store-timeout-ms and a second); tofu gave up the connection and \(outcome). The next call opens a new connection; check the server and the network to it")
        }
        if error.lostConnection {
            return .storeUnavailable(
                reason: "lost the connection to the PostgreSQL store \(location) (\(words)); \(outcome). The next call reconnects; check the server if this repeats")
        }
        switch error.sqlState {
        case .some("57014"):
            return .storeUnavailable(reason: "the PostgreSQL store \(location) did not finish a statement within twice --store-timeout-ms (\(words)); nothing was changed: retry, or raise --store-timeout-ms")
        case .some("55P03"):
            return .storeUnavailable(
                reason: "another process held a lock this call needed (most often another machine writing the same host) in the PostgreSQL store \(location) for longer than --store-timeout-ms (\(words)); nothing was changed: retry")
        case .some("42501"):
            return .storeUnavailable(reason: "the role has not the privileges tofu needs on the PostgreSQL store \(location) (\(words)); grant them as README 'Fleets' says")
        default:
            return .storeUnavailable(reason: "using the PostgreSQL store \(location) failed (SQLSTATE \(error.sqlState ?? "none"): \(words))")
        }
    }
}

/// The reads of a database tofu has never written (no schema yet): an empty store. Nothing is
/// written through it; `PostgreSQLBackend` gives it to reads only.
private struct NeverWritten: StoreTransaction {
    func pin(_ host: HostKey) throws -> Pin? { nil }
    func storedFingerprint(_ host: HostKey) throws -> Fingerprint? { nil }
    func pins(after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool) throws -> (pins: [Pin], more: Bool) { ([], false) }
    func hostKeys() throws -> [HostKey] { [] }
    func history(host: HostKey?, kinds: [HistoryEvent.Kind], since: String?, limit: Int) throws -> [HistoryEvent] { [] }
    func lastEvent(of host: HostKey, kinds: [HistoryEvent.Kind]) throws -> HistoryEvent? { nil }
    func events(after: (host: String, id: Int64)?, limit: Int) throws -> [(id: Int64, event: HistoryEvent)] { [] }
    func servers(from: String?, limit: Int) throws -> [DnacServer] { [] }
    func server(_ host: HostKey) throws -> DnacServer? { nil }
    func servers() throws -> [DnacServer] { [] }

    func insert(_ pin: Pin) throws { throw Self.readOnly }
    func update(_ pin: Pin) throws { throw Self.readOnly }
    func deletePin(_ host: HostKey) throws { throw Self.readOnly }
    func touch(_ host: HostKey, verifiedAt: String) throws { throw Self.readOnly }
    func record(_ event: HistoryEvent) throws { throw Self.readOnly }
    func deleteEvents(before: String, host: HostKey?) throws -> Int { throw Self.readOnly }
    func save(_ server: DnacServer) throws { throw Self.readOnly }
    func deleteServer(_ host: HostKey) throws { throw Self.readOnly }

    private static let readOnly = TofuError.storeUnavailable(reason: "a read tried to write to a PostgreSQL store tofu has not written yet")
}

/// The primitives over the connection, inside the transaction `PostgreSQLBackend` began. Each
/// statement is prepared on the connection the first time it runs (`PGConnection.run`).
private struct PGTransaction: StoreTransaction {
    let connection: PGConnection

    private static let pinOfHost = "SELECT \(PGRows.pinColumns) FROM pin WHERE host = $1"
    private static let pageOfHost = "SELECT \(PGRows.pinColumns) FROM pin WHERE host = $1 ORDER BY host LIMIT $2"

    private func pinRow(_ host: HostKey) throws -> PGResult {
        try connection.run(Self.pinOfHost, [.text(host.description)])
    }

    /// Every row of `result`, each read strictly by `decode`.
    private func rows<T>(
        _ result: PGResult, table: String, names: [String], _ decode: (RowReader) throws(RowDamage) -> T
    ) throws(RowDamage) -> [T] {
        var decoded: [T] = []
        for row in 0..<result.rowCount {
            decoded.append(try decode(PGRows.reader(result, row: row, table: table, names: names)))
        }
        return decoded
    }

    private func pins(_ result: PGResult) throws(RowDamage) -> [Pin] {
        try rows(result, table: "pin", names: RowDecoding.pinNames, RowDecoding.pin)
    }

    func pin(_ host: HostKey) throws -> Pin? {
        try pins(pinRow(host)).first
    }

    func plainPin(_ host: HostKey) throws -> PlainPinLookup {
        // The statement of `pins(… host:)`, prepared once for both: one row at most, as the key is unique.
        let result = try connection.run(Self.pageOfHost, [.text(host.description), .text("2")])
        guard result.rowCount > 0 else { return .noPin }
        guard result.rowCount == 1, let plain = PGRows.plainPin(result, row: 0, host: host, key: host.description) else { return .notPlain }
        return .plain(plain)
    }

    func storedFingerprint(_ host: HostKey) throws -> Fingerprint? {
        let result = try pinRow(host)
        guard result.rowCount > 0 else { return nil }
        return try? PGRows.reader(result, row: 0, table: "pin", names: RowDecoding.pinNames).fingerprint(5)
    }

    private static let insertPin: String = {
        let names = RowDecoding.pinNames.dropFirst()
        let placeholders = (1...names.count).map { "$\($0)" }.joined(separator: ", ")
        return "INSERT INTO pin (\(names.joined(separator: ", "))) VALUES (\(placeholders))"
    }()

    // $1 is the host; every other column from $2 on, in order.
    private static let updatePin =
        "UPDATE pin SET " + RowDecoding.pinNames.dropFirst(2).enumerated().map { "\($0.element) = $\($0.offset + 2)" }.joined(separator: ", ")
        + " WHERE host = $1"

    func insert(_ pin: Pin) throws {
        try connection.run(Self.insertPin, PGRows.parameters(pin))
    }

    func update(_ pin: Pin) throws {
        try connection.run(Self.updatePin, PGRows.parameters(pin))
    }

    func deletePin(_ host: HostKey) throws {
        try connection.run("DELETE FROM pin WHERE host = $1", [.text(host.description)])
    }

    func touch(_ host: HostKey, verifiedAt: String) throws {
        try connection.run("UPDATE pin SET lastVerifiedAt = $1 WHERE host = $2", [.text(verifiedAt), .text(host.description)])
    }

    func pins(after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool) throws -> (pins: [Pin], more: Bool) {
        var conditions: [String] = []
        var parameters: [PGValue] = []
        func parameter(_ value: String) -> String {
            parameters.append(.text(value))
            return "$\(parameters.count)"
        }
        if let after { conditions.append("host > " + parameter(after)) }
        if let host { conditions.append("host = " + parameter(host.description)) }
        if let expiringBefore { conditions.append("notAfter < " + parameter(expiringBefore)) }
        if stagedOnly { conditions.append("nextSha256Fingerprint IS NOT NULL") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let bound = parameter(String(limit < Int.max ? max(limit, 0) + 1 : limit))
        var found = try pins(connection.run("SELECT \(PGRows.pinColumns) FROM pin \(filter) ORDER BY host LIMIT \(bound)", parameters))
        let more = found.count > limit
        if more { found.removeLast(found.count - max(limit, 0)) }
        return (found, more)
    }

    func hostKeys() throws -> [HostKey] {
        try pins(connection.run("SELECT \(PGRows.pinColumns) FROM pin ORDER BY host")).map(\.host)
    }

    func record(_ event: HistoryEvent) throws {
        try connection.run(
            "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES ($1, $2, $3, $4, $5)",
            [.text(event.at), .text(event.host.description), .text(event.kind.rawValue), .text(event.sha256Fingerprint.description), .text(event.detail)])
    }

    func history(host: HostKey?, kinds: [HistoryEvent.Kind], since: String?, limit: Int) throws -> [HistoryEvent] {
        var conditions: [String] = []
        var parameters: [PGValue] = []
        func parameter(_ value: String) -> String {
            parameters.append(.text(value))
            return "$\(parameters.count)"
        }
        if let host { conditions.append("host = " + parameter(host.description)) }
        if !kinds.isEmpty { conditions.append("event IN (" + kinds.map { parameter($0.rawValue) }.joined(separator: ", ") + ")") }
        if let since { conditions.append("at >= " + parameter(since)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let bound = parameter(String(max(limit, 0)))
        let result = try connection.run(
            "SELECT \(PGRows.eventColumns) FROM (SELECT * FROM event \(filter) ORDER BY id DESC LIMIT \(bound)) AS recent ORDER BY id ASC", parameters)
        return try rows(result, table: "event", names: RowDecoding.eventNames, RowDecoding.event)
    }

    func lastEvent(of host: HostKey, kinds: [HistoryEvent.Kind]) throws -> HistoryEvent? {
        let placeholders = kinds.indices.map { "$\($0 + 2)" }.joined(separator: ", ")
        let result = try connection.execute(
            "SELECT \(PGRows.eventColumns) FROM event WHERE host = $1 AND event IN (\(placeholders)) ORDER BY id DESC LIMIT 1",
            [.text(host.description)] + kinds.map { .text($0.rawValue) })
        return try rows(result, table: "event", names: RowDecoding.eventNames, RowDecoding.event).first
    }

    func deleteEvents(before: String, host: HostKey?) throws -> Int {
        let result = if let host {
            try connection.execute("DELETE FROM event WHERE at < $1 AND host = $2", [.text(before), .text(host.description)])
        } else {
            try connection.execute("DELETE FROM event WHERE at < $1", [.text(before)])
        }
        return result.affectedRows
    }

    private func servers(_ result: PGResult) throws(RowDamage) -> [DnacServer] {
        try rows(result, table: "dnac_server", names: RowDecoding.serverNames, RowDecoding.server)
    }

    func server(_ host: HostKey) throws -> DnacServer? {
        try servers(connection.run("SELECT \(PGRows.serverColumns) FROM dnac_server WHERE host = $1", [.text(host.description)])).first
    }

    func servers() throws -> [DnacServer] {
        try servers(connection.run("SELECT \(PGRows.serverColumns) FROM dnac_server ORDER BY host"))
    }

    func save(_ server: DnacServer) throws {
        let host = server.host
        let authenticated: PGValue = server.authenticated.map { .text($0 ? "true" : "false") } ?? .null
        try connection.run(
            """
            INSERT INTO dnac_server (host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (host) DO UPDATE SET username = excluded.username, pinnedFingerprint = excluded.pinnedFingerprint,
                lastCheckedAt = excluded.lastCheckedAt, authenticated = excluded.authenticated
            """,
            [
                .text(host.description), .text(host.host), .text(String(host.port)), .text(server.username),
                .text(server.pinnedFingerprint.description), .text(server.addedAt), .text(server.lastCheckedAt), authenticated,
            ])
    }

    func deleteServer(_ host: HostKey) throws {
        try connection.run("DELETE FROM dnac_server WHERE host = $1", [.text(host.description)])
    }

    func events(after: (host: String, id: Int64)?, limit: Int) throws -> [(id: Int64, event: HistoryEvent)] {
        var parameters: [PGValue] = after.map { [.text($0.host), .text(String($0.id))] } ?? []
        let filter = after == nil ? "" : "WHERE (host, id) > ($1, $2)"
        parameters.append(.text(String(max(limit, 0))))
        let result = try connection.execute(
            "SELECT \(PGRows.eventColumns) FROM event \(filter) ORDER BY host, id LIMIT $\(parameters.count)", parameters)
        return try rows(result, table: "event", names: RowDecoding.eventNames, RowDecoding.numberedEvent)
    }

    func servers(from: String?, limit: Int) throws -> [DnacServer] {
        var parameters: [PGValue] = from.map { [.text($0)] } ?? []
        let filter = from == nil ? "" : "WHERE host >= $1"
        parameters.append(.text(String(max(limit, 0))))
        return try servers(connection.execute("SELECT \(PGRows.serverColumns) FROM dnac_server \(filter) ORDER BY host LIMIT $\(parameters.count)", parameters))
    }
}
