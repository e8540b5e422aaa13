import TofuCore

/// The store's schema on PostgreSQL, as versioned migrations in a table of its own, inside the
/// store's own PostgreSQL schema (`tofu` by default). A migration, once released, never
/// changes: later releases add new ones. A schema with a migration this build does not know
/// was written by a newer tofu and is refused, never downgraded.
enum PGSchema {
    /// The migrations, in order: version n is `migrations[n - 1]`. Tables, columns and meanings
    /// are SQLite's (version 1 is SQLite's version 3), with PostgreSQL's types; the host and time columns compare
    /// bytewise (`COLLATE "C"`), as SQLite does, so paging by host agrees with its order.
    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1: pins, history and DNA Center servers",
            [
                """
                CREATE TABLE pin (
                    id bigserial PRIMARY KEY,
                    host text COLLATE "C" NOT NULL UNIQUE,
                    address text NOT NULL,
                    port integer NOT NULL,
                    der bytea NOT NULL,
                    sha256Fingerprint text NOT NULL,
                    spkiSha256 text NOT NULL,
                    subject text NOT NULL,
                    issuer text NOT NULL,
                    serialNumber text NOT NULL,
                    notBefore text COLLATE "C" NOT NULL,
                    notAfter text COLLATE "C" NOT NULL,
                    subjectAltNames text NOT NULL,
                    publicKey text NOT NULL,
                    pinnedAt text NOT NULL,
                    lastVerifiedAt text,
                    policy text NOT NULL DEFAULT 'certificate',
                    nextDer bytea,
                    nextSha256Fingerprint text,
                    nextSpkiSha256 text,
                    nextSubject text,
                    nextIssuer text,
                    nextSerialNumber text,
                    nextNotBefore text,
                    nextNotAfter text,
                    nextSubjectAltNames text,
                    nextPublicKey text,
                    nextStagedAt text
                )
                """,
                "CREATE INDEX pin_by_notAfter ON pin (notAfter)",
                "CREATE INDEX pin_staged ON pin (host) WHERE nextSha256Fingerprint IS NOT NULL",
                """
                CREATE TABLE event (
                    id bigserial PRIMARY KEY,
                    at text NOT NULL,
                    host text COLLATE "C" NOT NULL,
                    event text NOT NULL,
                    sha256Fingerprint text NOT NULL,
                    detail text NOT NULL
                )
                """,
                "CREATE INDEX event_by_host ON event (host, id)",
                """
                CREATE TABLE dnac_server (
                    id bigserial PRIMARY KEY,
                    host text COLLATE "C" NOT NULL UNIQUE,
                    address text NOT NULL,
                    port integer NOT NULL,
                    username text NOT NULL,
                    pinnedFingerprint text NOT NULL,
                    addedAt text NOT NULL,
                    lastCheckedAt text NOT NULL,
                    authenticated boolean
                )
                """,
            ]
        ),
        (
            // SQLite's version 4: certHistory's since and pruneHistory's before read the history
            // by time; the events serverAdded, serverRemoved and credentialsRefused appear.
            "v2: history by time",
            ["CREATE INDEX event_by_at ON event (at)"]
        ),
    ]

    /// What to use instead of `tofu backup` for a PostgreSQL store: pg_dump of tofu's schema.
    public static func backupAdvice(location: String, schema: String = "tofu") -> String {
        "the store \(location) is on PostgreSQL, and tofu backup copies an SQLite store file. Back it up with PostgreSQL's own pg_dump, which takes a consistent copy while other machines write: pg_dump --schema=\(schema) --format=custom --file=tofu.dump '\(location)' (the password from PGPASSWORD or ~/.pgpass, as for tofu); restore it with pg_restore --dbname='\(location)' tofu.dump"
    }

    /// Whether `name` may name the store's PostgreSQL schema: lowercase letters, digits and
    /// underscores, not starting with a digit, so it never needs quoting.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// Where the schema of `connection` (its search_path) stands, after one query: current,
    /// absent (never written: no migration table, or none applied), behind this build (to be
    /// upgraded), or newer (refused).
    enum State: Equatable {
        case current
        case absent
        case behind(Int)
        case newer(Int)
    }

    static func state(_ connection: PGConnection) throws(PGError) -> State {
        do {
            let result = try connection.execute("SELECT max(version) FROM migration")
            guard let text = result.text(0, 0), let version = Int(text), version > 0 else { return .absent }
            if version > migrations.count { return .newer(version) }
            return version == migrations.count ? .current : .behind(version)
        } catch where error.sqlState == "42P01" || error.sqlState == "3F000" {
            // No migration table (or no schema): a store never written.
            return .absent
        }
    }

    /// Creates or upgrades `schema`, the search_path of `connection`: under an advisory lock,
    /// so however many processes start together, each migration runs once; all of them in one
    /// transaction, so a failure leaves the schema as it was. Returns `.current`, or `.newer`
    /// when a newer tofu got there first.
    static func migrate(_ connection: PGConnection, schema: String) throws(PGError) -> State {
        let lock: [PGValue] = [.text("tofu migrations " + schema)]
        try connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
        defer { if connection.isUsable { _ = try? connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock) } }
        // A least-privileged role may be given a schema made by its administrator: created only if absent.
        if try connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = $1", [.text(schema)]).rowCount == 0 {
            try connection.execute("CREATE SCHEMA \(schema)")
        }
        try connection.execute("BEGIN")
        do {
            try connection.execute("CREATE TABLE IF NOT EXISTS migration (version integer PRIMARY KEY, name text NOT NULL, appliedAt text NOT NULL)")
            let result = try connection.execute("SELECT coalesce(max(version), 0) FROM migration")
            let applied = result.text(0, 0).flatMap { Int($0) } ?? 0
            guard applied <= migrations.count else {
                try connection.execute("ROLLBACK")
                return .newer(applied)
            }
            for (index, migration) in migrations.enumerated() where index + 1 > applied {
                for statement in migration.statements { try connection.execute(statement) }
                try connection.execute(
                    "INSERT INTO migration (version, name, appliedAt) VALUES ($1, $2, $3)",
                    [.text(String(index + 1)), .text(migration.name), .text(Timestamp.now())])
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isUsable { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
        return .current
    }
}
