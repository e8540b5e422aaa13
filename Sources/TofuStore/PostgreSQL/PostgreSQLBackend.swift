import TofuCore

/// The fleet's store: one PostgreSQL database that many processes on many machines share.
///
/// One libpq connection, opened with the store (connecting, then creating or upgrading the
/// schema once, under an advisory lock). Every write is one transaction that first takes a
/// transaction-scoped advisory lock on its host: all writers of a host, on every machine,
/// take turns, so read-decide-write (pin if absent, compare, replace, delete if it is this
/// certificate) is atomic as SQLite's IMMEDIATE transactions make it, without SERIALIZABLE's
/// retries; writers of different hosts never wait for each other. COMMIT returns before
/// `write` does, so an answer follows the commit. A lost connection answers the call with the
/// reason and asks the store to open a new one on the next call.
final class PostgreSQLBackend: StoreBackend {
    /// Where the store is, for messages: the URI without its user, password or options.
    let location: String
    private let schema: String
    private let connection: PGConnection
    private(set) var needsReopening = false

    /// Connects with `uri` (libpq's conventions for what it does not say), every connect, lock
    /// wait and statement bounded by `timeoutMilliseconds`, and brings the schema `schema` up
    /// to date. A newer schema is refused.
    init(uri: String, timeoutMilliseconds: Int, schema: String = "tofu") throws(TofuError) {
        location = StoreLocation.redacted(uri)
        guard PGSchema.isValidName(schema) else {
            throw .storeUnavailable(reason: "'\(schema)' cannot name tofu's PostgreSQL schema: use lowercase letters, digits and underscores")
        }
        self.schema = schema
        do {
            connection = try PGConnection(uri: uri, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .storeUnavailable(
                reason: "cannot connect to the PostgreSQL store \(location): \(error.message); check that the server is up and reachable, and the role's password (PGPASSWORD or ~/.pgpass)")
        }
        let state: PGSchema.State
        do {
            state = try PGSchema.prepare(connection, schema: schema)
        } catch {
            throw Self.unavailable(error, location: location, doing: "preparing the schema \(schema) of")
        }
        if case .newer(let version) = state {
            throw .storeUnavailable(
                reason: "the PostgreSQL store \(location) (schema \(schema)) was written by a newer tofu (schema version \(version); this build knows \(PGSchema.migrations.count)): upgrade tofu on this machine")
        }
    }

    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        try write(lockingAll: host.map { [$0] } ?? [], body)
    }

    /// Locks taken in one order (bytewise by key) by every writer of several hosts, so two never wait for each other.
    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        do {
            try connection.execute("BEGIN")
            do {
                for host in Set(hosts).map(\.description).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("tofu pin \(schema) \(host)")])
                }
                let result = try body(PGTransaction(connection: connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                rollBack()
                throw error
            }
        } catch {
            throw failure(error)
        }
    }

    func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        // No BEGIN … COMMIT: every read PinStore makes is one statement, one snapshot.
        do {
            return try body(PGTransaction(connection: connection))
        } catch {
            throw failure(error)
        }
    }

    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        do {
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
            throw failure(error)
        }
    }

    func close() {}

    private func rollBack() {
        guard connection.isUsable else { return }
        do {
            try connection.execute("ROLLBACK")
        } catch {
            needsReopening = true
        }
    }

    /// `error` as the store answers it; a connection it left unusable is replaced on the next call.
    private func failure(_ error: any Error) -> TofuError {
        if !connection.isUsable { needsReopening = true }
        return Self.unavailable(error, location: location, doing: "using")
    }

    static func unavailable(_ error: any Error, location: String, doing: String) -> TofuError {
        if let error = error as? TofuError { return error }
        if let damage = error as? RowDamage { return .damagedRow(damage.row, store: location) }
        guard let error = error as? PGError else {
            return .storeUnavailable(reason: "\(doing) the PostgreSQL store \(location) failed: \(error)")
        }
        let words = error.message
        switch error.sqlState {
        case nil, .some("08000"), .some("08003"), .some("08006"), .some("57P01"), .some("57P02"), .some("57P03"):
            return .storeUnavailable(
                reason: "lost the connection to the PostgreSQL store \(location) (\(words)); nothing of this call was committed unless it had already answered. The next call reconnects; check the server if this repeats")
        case .some("57014"):
            return .storeUnavailable(reason: "the PostgreSQL store \(location) did not answer within --store-timeout-ms (\(words)); nothing was changed: retry, or raise --store-timeout-ms")
        case .some("55P03"):
            return .storeUnavailable(reason: "another process held the lock on this host in the PostgreSQL store \(location) longer than --store-timeout-ms (\(words)); nothing was changed: retry")
        case .some("42501"):
            return .storeUnavailable(reason: "the role has not the privileges tofu needs on the PostgreSQL store \(location) (\(words)); grant them as README 'Fleets' says")
        case .some(let state):
            return .storeUnavailable(reason: "\(doing) the PostgreSQL store \(location) failed (SQLSTATE \(state): \(words))")
        }
    }
}

/// The primitives over the connection, inside the transaction `PostgreSQLBackend` began.
private struct PGTransaction: StoreTransaction {
    let connection: PGConnection

    private func pinRow(_ host: HostKey) throws -> PGResult {
        try connection.execute("SELECT \(PGRows.pinColumns) FROM pin WHERE host = $1", [.text(host.description)])
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

    func storedFingerprint(_ host: HostKey) throws -> Fingerprint? {
        let result = try pinRow(host)
        guard result.rowCount > 0 else { return nil }
        return try? PGRows.reader(result, row: 0, table: "pin", names: RowDecoding.pinNames).fingerprint(5)
    }

    func insert(_ pin: Pin) throws {
        let names = RowDecoding.pinNames.dropFirst()
        let placeholders = (1...names.count).map { "$\($0)" }.joined(separator: ", ")
        try connection.execute("INSERT INTO pin (\(names.joined(separator: ", "))) VALUES (\(placeholders))", PGRows.parameters(pin))
    }

    func update(_ pin: Pin) throws {
        // $1 is the host; every other column from $2 on, in order.
        let assignments = RowDecoding.pinNames.dropFirst(2).enumerated().map { "\($0.element) = $\($0.offset + 2)" }.joined(separator: ", ")
        try connection.execute("UPDATE pin SET \(assignments) WHERE host = $1", PGRows.parameters(pin))
    }

    func deletePin(_ host: HostKey) throws {
        try connection.execute("DELETE FROM pin WHERE host = $1", [.text(host.description)])
    }

    func touch(_ host: HostKey, verifiedAt: String) throws {
        try connection.execute("UPDATE pin SET lastVerifiedAt = $1 WHERE host = $2", [.text(verifiedAt), .text(host.description)])
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
        var found = try pins(connection.execute("SELECT \(PGRows.pinColumns) FROM pin \(filter) ORDER BY host LIMIT \(bound)", parameters))
        let more = found.count > limit
        if more { found.removeLast(found.count - max(limit, 0)) }
        return (found, more)
    }

    func hostKeys() throws -> [HostKey] {
        try pins(connection.execute("SELECT \(PGRows.pinColumns) FROM pin ORDER BY host")).map(\.host)
    }

    func record(_ event: HistoryEvent) throws {
        try connection.execute(
            "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES ($1, $2, $3, $4, $5)",
            [.text(event.at), .text(event.host.description), .text(event.kind.rawValue), .text(event.sha256Fingerprint.description), .text(event.detail)])
    }

    func history(host: HostKey?, limit: Int) throws -> [HistoryEvent] {
        var parameters: [PGValue] = host.map { [.text($0.description)] } ?? []
        let filter = host == nil ? "" : "WHERE host = $1"
        parameters.append(.text(String(max(limit, 0))))
        let result = try connection.execute(
            "SELECT \(PGRows.eventColumns) FROM (SELECT * FROM event \(filter) ORDER BY id DESC LIMIT $\(parameters.count)) AS recent ORDER BY id ASC", parameters)
        return try rows(result, table: "event", names: RowDecoding.eventNames, RowDecoding.event)
    }

    private func servers(_ result: PGResult) throws(RowDamage) -> [DnacServer] {
        try rows(result, table: "dnac_server", names: RowDecoding.serverNames, RowDecoding.server)
    }

    func server(_ host: HostKey) throws -> DnacServer? {
        try servers(connection.execute("SELECT \(PGRows.serverColumns) FROM dnac_server WHERE host = $1", [.text(host.description)])).first
    }

    func servers() throws -> [DnacServer] {
        try servers(connection.execute("SELECT \(PGRows.serverColumns) FROM dnac_server ORDER BY host"))
    }

    func save(_ server: DnacServer) throws {
        let host = server.host
        let authenticated: PGValue = server.authenticated.map { .text($0 ? "true" : "false") } ?? .null
        try connection.execute(
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
        try connection.execute("DELETE FROM dnac_server WHERE host = $1", [.text(host.description)])
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
