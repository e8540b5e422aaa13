import GRDB

/// The store's schema, as versioned migrations. A migration, once released, never changes:
/// later releases add new ones. A store with a migration this build does not know was
/// written by a newer tofu and is refused, never downgraded.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: pins and history") { db in
            try db.execute(sql: """
                CREATE TABLE pin (
                    id INTEGER PRIMARY KEY,
                    host TEXT NOT NULL UNIQUE,
                    address TEXT NOT NULL,
                    port INTEGER NOT NULL,
                    der BLOB NOT NULL,
                    sha256Fingerprint TEXT NOT NULL,
                    spkiSha256 TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    issuer TEXT NOT NULL,
                    serialNumber TEXT NOT NULL,
                    notBefore TEXT NOT NULL,
                    notAfter TEXT NOT NULL,
                    subjectAltNames TEXT NOT NULL,
                    publicKey TEXT NOT NULL,
                    pinnedAt TEXT NOT NULL,
                    lastVerifiedAt TEXT
                );
                CREATE INDEX pin_by_notAfter ON pin(notAfter);
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at TEXT NOT NULL,
                    host TEXT NOT NULL,
                    event TEXT NOT NULL,
                    sha256Fingerprint TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX event_by_host ON event(host, id);
                """)
        }
        migrator.registerMigration("v2: DNA Center servers") { db in
            try db.execute(sql: """
                CREATE TABLE dnac_server (
                    id INTEGER PRIMARY KEY,
                    host TEXT NOT NULL UNIQUE,
                    address TEXT NOT NULL,
                    port INTEGER NOT NULL,
                    username TEXT NOT NULL,
                    pinnedFingerprint TEXT NOT NULL,
                    addedAt TEXT NOT NULL,
                    lastCheckedAt TEXT NOT NULL,
                    authenticated INTEGER
                );
                """)
        }
        migrator.registerMigration("v3: pin policy and staged next certificate") { db in
            // Every existing pin keeps PI's behaviour (exactly this certificate) and has nothing staged.
            try db.execute(sql: """
                ALTER TABLE pin ADD COLUMN policy TEXT NOT NULL DEFAULT 'certificate';
                ALTER TABLE pin ADD COLUMN nextDer BLOB;
                ALTER TABLE pin ADD COLUMN nextSha256Fingerprint TEXT;
                ALTER TABLE pin ADD COLUMN nextSpkiSha256 TEXT;
                ALTER TABLE pin ADD COLUMN nextSubject TEXT;
                ALTER TABLE pin ADD COLUMN nextIssuer TEXT;
                ALTER TABLE pin ADD COLUMN nextSerialNumber TEXT;
                ALTER TABLE pin ADD COLUMN nextNotBefore TEXT;
                ALTER TABLE pin ADD COLUMN nextNotAfter TEXT;
                ALTER TABLE pin ADD COLUMN nextSubjectAltNames TEXT;
                ALTER TABLE pin ADD COLUMN nextPublicKey TEXT;
                ALTER TABLE pin ADD COLUMN nextStagedAt TEXT;
                CREATE INDEX pin_staged ON pin(host) WHERE nextSha256Fingerprint IS NOT NULL;
                """)
        }
        migrator.registerMigration("v4: history by time") { db in
            // certHistory's since and pruneHistory's before read the history by time. (This
            // release also writes the events serverAdded, serverRemoved and credentialsRefused,
            // which an older tofu would take for damaged rows: it refuses this schema instead.)
            try db.execute(sql: "CREATE INDEX event_by_at ON event(at);")
        }
        return migrator
    }
}
