import Foundation
import GRDB
import Testing
import TofuCore
import TofuTLS

@testable import TofuStore

/// Strict row reading: every column of pin, dnac_server and event, given each storage class
/// SQLite has (NULL too, which the schema's NOT NULL keeps out only until someone edits the
/// schema), is read as what tofu wrote or named as damaged; never trapped, never converted.
@Suite struct RowsTests {
    static let der: [UInt8] = [0x30, 0x01, 0x00]
    static let fingerprint = Fingerprint(sha256Of: der)
    static let time = "2026-11-29T04:00:00Z"

    static let nextDer: [UInt8] = [0x30, 0x01, 0x01]

    /// A pin with a staged next certificate, so that every column holds a value to damage.
    static let pin = Pin(
        host: try! HostKey(parsing: "kong.example_8443"),
        certificate: CertificateSummary(
            subject: "CN = kong", issuer: "CN = kong", serialNumber: "01", sha256Fingerprint: fingerprint, spkiSha256: "abc=",
            notBefore: time, notAfter: time, subjectAltNames: ["DNS:kong", "IP:192.0.2.1"], publicKey: "EC P-256", der: der),
        pinnedAt: time, lastVerifiedAt: nil, policy: .publicKey,
        next: StagedCertificate(
            certificate: CertificateSummary(
                subject: "CN = kong", issuer: "CN = kong", serialNumber: "02", sha256Fingerprint: Fingerprint(sha256Of: nextDer),
                spkiSha256: "def=", notBefore: time, notAfter: time, subjectAltNames: ["DNS:kong"], publicKey: "EC P-256", der: nextDer),
            stagedAt: time))

    /// Tables with tofu's columns and no types or constraints, so any value can be put anywhere.
    static func database(_ pin: Pin = pin) throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE pin (id INTEGER PRIMARY KEY, host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer,
                    serialNumber, notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy,
                    nextDer, nextSha256Fingerprint, nextSpkiSha256, nextSubject, nextIssuer, nextSerialNumber, nextNotBefore,
                    nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt);
                CREATE TABLE dnac_server (id INTEGER PRIMARY KEY, host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated);
                CREATE TABLE event (id INTEGER PRIMARY KEY, at, host, event, sha256Fingerprint, detail);
                """)
            try Rows.insert(pin, into: db)
            try db.execute(
                sql: "INSERT INTO dnac_server (host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: ["kong.example_8443", "kong.example", 8443, "admin", fingerprint.description, time, time, true])
            try Rows.record(HistoryEvent(at: time, host: pin.host, kind: .pinned, sha256Fingerprint: fingerprint, detail: "d"), with: db.cachedStatement(sql: Rows.insertEvent))
        }
        return queue
    }

    static let wrongValues: [(String, DatabaseValue)] = [
        ("NULL", .null), ("integer", 7.databaseValue), ("real", 1.5.databaseValue), ("text", "x".databaseValue), ("blob", Data([0xFF]).databaseValue), ("empty blob", Data().databaseValue),
    ]

    /// Reads the one row of `table` with `columns` through `decode`; the damage, or nil if it read.
    static func damage<T>(_ queue: DatabaseQueue, _ table: String, _ columns: String, _ decode: @escaping (Row) throws(RowDamage) -> T) throws -> DamagedRow? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(columns) FROM \(table)") else { return nil }
            do throws(RowDamage) {
                _ = try decode(row)
                return nil
            } catch {
                return error.row
            }
        }
    }

    /// `namedInstead`: columns whose damage by a label is named at another column (column -> label -> named).
    static func check<T>(
        _ table: String, _ columns: String, allowed: [String: Set<String>], namedInstead: [String: [String: String]] = [:],
        _ decode: @escaping (Row) throws(RowDamage) -> T
    ) throws {
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { $0 != "id" }
        let queue = try database()
        #expect(try damage(queue, table, columns, decode) == nil, "\(table): the row as tofu wrote it must read")
        for column in names {
            for (label, value) in wrongValues {
                let original = try queue.read { db in try DatabaseValue.fetchOne(db, sql: "SELECT \(column) FROM \(table)") }
                try queue.write { db in try db.execute(sql: "UPDATE \(table) SET \(column) = ?", arguments: [value]) }
                let found = try damage(queue, table, columns, decode)
                if allowed[column]?.contains(label) == true {
                    #expect(found == nil, "\(table).\(column) = \(label) is valid there: \(String(describing: found))")
                } else {
                    #expect(found?.column == namedInstead[column]?[label] ?? column, "\(table).\(column) = \(label): \(String(describing: found))")
                    #expect(found?.table == table && found?.rowid == 1)
                }
                try queue.write { db in try db.execute(sql: "UPDATE \(table) SET \(column) = ?", arguments: [original]) }
            }
        }
    }

    @Test func everyPinColumnIsChecked() throws {
        // A pin's text columns may be any text ("x"); only lastVerifiedAt may be NULL; no other
        // bytes in der hash to the pin's fingerprint. The staged certificate's columns likewise;
        // a NULL nextSha256Fingerprint means nothing is staged, so the first of the others is named.
        let text: Set<String> = ["text"]
        try Self.check("pin", Rows.pinColumns, allowed: [
            "spkiSha256": text, "subject": text, "issuer": text, "serialNumber": text, "subjectAltNames": text, "publicKey": text,
            "lastVerifiedAt": ["NULL"], "nextSpkiSha256": text, "nextSubject": text, "nextIssuer": text, "nextSerialNumber": text,
            "nextSubjectAltNames": text, "nextPublicKey": text,
        ], namedInstead: ["nextSha256Fingerprint": ["NULL": "nextDer"]]) { row throws(RowDamage) in try Rows.pin(row) }
    }

    /// With nothing staged, every column of a staged certificate must be NULL.
    @Test func aPinWithNothingStagedHasNothingInTheNextColumns() throws {
        var unstaged = Self.pin
        unstaged.next = nil
        let queue = try Self.database(unstaged)
        #expect(try Self.damage(queue, "pin", Rows.pinColumns) { row throws(RowDamage) in try Rows.pin(row) } == nil)
        for column in Rows.pinNames where column.hasPrefix("next") && column != "nextSha256Fingerprint" {
            try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = 'x'") }
            let found = try Self.damage(queue, "pin", Rows.pinColumns) { row throws(RowDamage) in try Rows.pin(row) }
            #expect(found?.column == column, "\(column): \(String(describing: found))")
            try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = NULL") }
        }
    }

    /// A staged certificate is never the pinned one.
    @Test func aStagedCertificateEqualToThePinIsDamage() throws {
        let queue = try Self.database()
        try queue.write { db in
            try db.execute(sql: "UPDATE pin SET nextDer = der, nextSha256Fingerprint = sha256Fingerprint")
        }
        let found = try Self.damage(queue, "pin", Rows.pinColumns) { row throws(RowDamage) in try Rows.pin(row) }
        #expect(found?.column == "nextSha256Fingerprint", "\(String(describing: found))")
    }

    @Test func everyServerColumnIsChecked() throws {
        try Self.check("dnac_server", Rows.serverColumns, allowed: ["username": ["text"], "authenticated": ["NULL"]]) { row throws(RowDamage) in
            try Rows.server(row)
        }
    }

    @Test func everyEventColumnIsChecked() throws {
        try Self.check("event", Rows.eventColumns, allowed: ["detail": ["text"]]) { row throws(RowDamage) in try Rows.event(row) }
    }

    @Test func whatReadsBackIsWhatWasWritten() throws {
        let queue = try Self.database()
        let read = try queue.read { db in try Row.fetchOne(db, sql: "SELECT \(Rows.pinColumns) FROM pin").map { row throws(RowDamage) in try Rows.pin(row) } }
        #expect(read == Self.pin)
    }

    /// The certificate and the fingerprint a pin is compared by must agree: either edited alone
    /// is damage, named at der.
    @Test func aCertificateThatDoesNotHashToItsFingerprintIsDamage() throws {
        let queue = try Self.database()
        let other = Fingerprint(sha256Of: [0x30, 0x01, 0x01]).description
        for edit in ["UPDATE pin SET der = X'300101'", "UPDATE pin SET der = X'300100', sha256Fingerprint = '\(other)'"] {
            try queue.write { db in try db.execute(sql: edit) }
            let found = try Self.damage(queue, "pin", Rows.pinColumns) { row throws(RowDamage) in try Rows.pin(row) }
            #expect(found?.column == "der", "\(edit): \(String(describing: found))")
            #expect(found?.problem.contains("sha256Fingerprint") == true)
        }
    }

    @Test(arguments: [
        ("2026-11-29T04:00:00Z", true), ("2024-02-29T23:59:59Z", true), ("2000-02-29T00:00:00Z", true), ("0001-01-01T00:00:00Z", true),
        ("9999-12-31T23:59:59Z", true), ("9999-99-99T99:99:99Z", false), ("2026-13-01T00:00:00Z", false), ("2026-00-10T00:00:00Z", false),
        ("2026-02-29T00:00:00Z", false), ("1900-02-29T00:00:00Z", false), ("2026-04-31T00:00:00Z", false), ("2026-04-00T00:00:00Z", false),
        ("2026-11-29T24:00:00Z", false), ("2026-11-29T04:60:00Z", false), ("2026-11-29T04:00:60Z", false), ("2026-11-29 04:00:00Z", false),
        ("2026-11-29T04:00:00+00:00", false), ("2026-11-29T04:00:00z", false),
    ])
    func timesAreReadOnlyWhenTheyAreRealTimes(text: String, valid: Bool) {
        #expect(RowReader.isTimestamp(text) == valid, "\(text)")
    }

    @Test func storedTextIsEscapedAndClipped() {
        #expect(RowReader.shown("a\u{202E}b\u{9B}c\n", limit: 100) == "a\\u{202E}b\\u{9B}c\\u{A}")
        #expect(RowReader.shown(String(repeating: "x", count: 50), limit: 40) == String(repeating: "x", count: 40) + "…")
    }

    /// Stored text that spells an escape is not shown as the character it names: its
    /// backslash is doubled, a real one escaped.
    @Test func storedTextThatSpellsAnEscapeIsNotShownAsOne() {
        #expect(RowReader.shown(#"a\u{202E}b"#, limit: 100) == #"a\\u{202E}b"#)
        #expect(RowReader.shown("a\u{202E}b", limit: 100) == #"a\u{202E}b"#)
        #expect(RowReader.shown(#"\"#, limit: 1) == #"\\"#)
    }
}
