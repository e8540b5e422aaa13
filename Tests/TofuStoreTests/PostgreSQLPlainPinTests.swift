import Foundation
import Testing
import TofuCore

@testable import TofuStore

/// `PGRows.plainPin`, a PostgreSQL point read's check of a row where libpq holds it, against
/// the strict reading of every row: each edit either leaves a plain pin that reads the same
/// both ways, or is declined (and read as a `Pin`, which says what is wrong).
@Suite(.enabled(if: PostgreSQLStoreUnderTest.configured))
struct PostgreSQLPlainPinTests {
    /// An edit of the pin row, and whether the row stays a plain, sound pin.
    static let edits: [(sql: String, plain: Bool)] = [
        ("lastVerifiedAt = NULL", true), ("lastVerifiedAt = '2026-11-30T10:00:00Z'", true),
        ("subject = 'Zürich Ω 東京 ' || chr(128512)", true), ("publicKey = ''", true), ("subjectAltNames = ''", true),
        ("subject = subject || chr(13) || chr(10) || 'x'", true), ("subjectAltNames = 'DNS:a' || chr(10) || 'é'", true),
        ("subjectAltNames = 'DNS:a' || chr(13) || chr(10) || 'DNS:b'", false),
        ("sha256Fingerprint = lower(sha256Fingerprint)", false), ("sha256Fingerprint = sha256Fingerprint || ' '", false),
        ("der = '\\x300100'::bytea", false), ("notAfter = '2026-02-30T00:00:00Z'", false), ("pinnedAt = 'yesterday'", false),
        ("lastVerifiedAt = '2026-11-30 10:00:00'", false), ("address = upper(address)", false), ("port = 444", false),
        ("policy = 'Certificate'", false), ("nextSubject = 'x'", false), ("nextStagedAt = '2026-11-30T10:00:00Z'", false),
    ]

    @Test func aRowReadWhereLibpqHoldsItIsOneTheStrictReadingReadsTheSame() async throws {
        let certificates = try await Certificates.get()
        let underTest = try PostgreSQLStoreUnderTest()
        let store = underTest.store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        guard case .noPin = try await store.plainPin(try hostKey("other.example")) else {
            Issue.record("an unpinned host was found")
            return
        }
        let connection = try PGConnection(uri: underTest.cluster.uri, timeoutMilliseconds: 10_000)
        try connection.execute("SELECT set_config('search_path', $1, false)", [.text(underTest.schema)])
        let pristine = try connection.execute("SELECT \(PGRows.pinColumns) FROM pin WHERE host = $1", [.text(host.description)])
        #expect(pristine.rowCount == 1)
        for (sql, plain) in Self.edits {
            try connection.execute("BEGIN")
            try connection.execute("UPDATE pin SET \(sql) WHERE host = $1", [.text(host.description)])
            try connection.execute("COMMIT")
            switch try await store.plainPin(host) {
            case .plain(let found):
                #expect(plain, "\(sql): read in place, yet it should have been declined")
                let (pins, _) = try await store.list(after: nil, limit: 10, host: host)
                let pin = try #require(pins.first, "\(sql): read in place, yet the strict reading found no pin")
                #expect(PlainPinTests.agree(found, pin), "\(sql): the two readings differ")
            case .notPlain:
                #expect(!plain, "\(sql): declined, yet the row is plain")
            case .noPin:
                Issue.record("\(sql): the pin went")
            }
            // Back to the row as tofu wrote it.
            try connection.execute("DELETE FROM pin WHERE host = $1", [.text(host.description)])
            _ = try await store.pin(certificates.a, for: host)
        }
        // A staged pin is read as a `Pin`.
        _ = try await store.stage(certificates.b, for: host)
        guard case .notPlain = try await store.plainPin(host) else {
            Issue.record("a staged pin was read in place")
            return
        }
    }
}
