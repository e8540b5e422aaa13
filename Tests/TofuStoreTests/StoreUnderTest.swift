import Foundation
import GRDB
import TestSupport
import Testing
import TofuCore
import TofuTLS

@testable import TofuStore

/// A kind of backend the store's suite runs against: every test takes each kind as its argument,
/// so a new backend (PostgreSQL) joins the suite by adding a kind here.
struct StoreKind: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> any StoreUnderTest

    var testDescription: String { name }

    /// SQLite always; PostgreSQL when the environment names a server (TOFU_TEST_PG_URI), or
    /// when it must (TOFU_REQUIRE_PG=1, as `make test` sets it): then its cases fail, saying why.
    static let all: [StoreKind] = [.sqlite] + (PostgreSQLStoreUnderTest.configured ? [.postgreSQL] : [])

    static let sqlite = StoreKind(name: "SQLite") { SQLiteStoreUnderTest() }
}

/// A new, empty store of one kind, and what only that backend's own tools can do to it.
protocol StoreUnderTest: Sendable {
    /// The store under test.
    var store: PinStore { get }
    /// Another store over the same data: what another process sees, and races with.
    func another() -> PinStore
    /// Edits the data behind tofu's back, as a person with the database's own client might.
    func damage(_ damage: Damage, of host: HostKey) throws
}

/// What `StoreUnderTest.damage` does to a row.
enum Damage {
    /// The pin's certificate no longer hashes to its fingerprint; the fingerprint itself still reads.
    case pinCertificate
    /// The pin's fingerprint cannot be read at all.
    case pinFingerprint
    /// The server's port is out of range.
    case serverPort
}

/// A store file in a directory of its own.
struct SQLiteStoreUnderTest: StoreUnderTest {
    let path = temporaryDirectory("tofu-store-suite") + "/store.sqlite"
    let store: PinStore

    init() {
        store = PinStore(path: path, busyTimeout: 10)
    }

    func another() -> PinStore {
        PinStore(path: path, busyTimeout: 10)
    }

    func damage(_ damage: Damage, of host: HostKey) throws {
        let sql = switch damage {
        case .pinCertificate: "UPDATE pin SET der = X'300100' WHERE host = ?"
        case .pinFingerprint: "UPDATE pin SET sha256Fingerprint = 'not a fingerprint' WHERE host = ?"
        case .serverPort: "UPDATE dnac_server SET port = 0 WHERE host = ?"
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: sql, arguments: [host.description])
            #expect(db.changesCount == 1, "no row of \(host) to damage")
        }
        try queue.close()
    }
}

/// The certificates the suite presents, made once per run with openssl.
struct Certificates: Sendable {
    /// Key A, valid 30 days.
    let a: CertificateSummary
    /// Key A again, valid 365 days from the same second: a newer certificate with a's key.
    let aRenewed: CertificateSummary
    /// Key B.
    let b: CertificateSummary
    /// Key C.
    let c: CertificateSummary

    private static let made = Task { try await make() }

    static func get() async throws -> Certificates { try await made.value }

    private static func make() async throws -> Certificates {
        let a = try await CertificateFactory.make(days: 30)
        let aRenewed = try await CertificateFactory.make(days: 365, reusingKey: a.keyPath)
        let b = try await CertificateFactory.make(subject: "/CN=kong b")
        let c = try await CertificateFactory.make(subject: "/CN=kong c")
        func summary(_ certificate: TestCertificate) throws -> CertificateSummary {
            try X509Certificate.single(fromPEM: certificate.pem).summary()
        }
        let certificates = Certificates(a: try summary(a), aRenewed: try summary(aRenewed), b: try summary(b), c: try summary(c))
        // What the renewal tests rely on: the same key, and a later end.
        #expect(certificates.a.spkiSha256 == certificates.aRenewed.spkiSha256)
        #expect(certificates.a.notAfter < certificates.aRenewed.notAfter)
        return certificates
    }
}

/// The host keys the suite uses: documentation addresses and names, never dialled.
func hostKey(_ text: String) throws -> HostKey {
    try HostKey(parsing: text)
}

/// The `TofuError` that `body` threw; nil (and a recorded issue) if it returned or threw another error.
func tofuError<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> TofuError? {
    do {
        let value = try await body()
        Issue.record("returned \(value) where an error was expected", sourceLocation: sourceLocation)
        return nil
    } catch let error as TofuError {
        return error
    } catch {
        Issue.record("threw \(error), not a TofuError", sourceLocation: sourceLocation)
        return nil
    }
}

extension PinStore {
    /// The kinds of the history of `host`, oldest first.
    func kinds(of host: HostKey) throws(TofuError) -> [HistoryEvent.Kind] {
        try history(host: host, limit: 1000).map(\.kind)
    }
}
