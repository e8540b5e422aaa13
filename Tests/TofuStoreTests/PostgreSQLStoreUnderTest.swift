import Foundation
import Testing
import TofuCore

@testable import TofuStore

extension StoreKind {
    static let postgreSQL = StoreKind(name: "PostgreSQL") { try PostgreSQLStoreUnderTest() }
}

/// The test cluster `scripts/pg-cluster.sh start` prints, as the environment hands it on.
struct TestCluster: Sendable {
    /// The URI with the password, for this process only (never logged, never a child's argument).
    let uri: String
    let password: String

    /// Why there is no cluster to test against, in the words the failing case shows.
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "TOFU_REQUIRE_PG=1 but TOFU_TEST_PG_URI and TOFU_TEST_PG_PASSWORD are not set: start a cluster with 'scripts/pg-cluster.sh start DIR' and export what it prints, or run 'make test'"
        }
    }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func get() throws -> TestCluster {
        guard let uri = environment["TOFU_TEST_PG_URI"], !uri.isEmpty, let password = environment["TOFU_TEST_PG_PASSWORD"] else {
            throw Missing()
        }
        // pg-cluster.sh makes passwords of letters and digits only: nothing to escape.
        return TestCluster(uri: uri + (uri.contains("?") ? "&" : "?") + "password=" + password, password: password)
    }

    /// A schema name no other store under test uses.
    static func freshSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

/// A store in a PostgreSQL schema of its own, in the test cluster's database.
struct PostgreSQLStoreUnderTest: StoreUnderTest {
    static var configured: Bool {
        TestCluster.environment["TOFU_TEST_PG_URI"].map { !$0.isEmpty } ?? false || TestCluster.environment["TOFU_REQUIRE_PG"] == "1"
    }

    let cluster: TestCluster
    let schema = TestCluster.freshSchema()
    let store: PinStore

    init() throws {
        let cluster = try TestCluster.get()
        self.cluster = cluster
        store = Self.store(cluster, schema: schema)
    }

    static func store(_ cluster: TestCluster, schema: String) -> PinStore {
        PinStore(path: schema) { () throws(TofuError) in try PostgreSQLBackend(uri: cluster.uri, timeoutMilliseconds: 10_000, schema: schema) }
    }

    func another() -> PinStore {
        Self.store(cluster, schema: schema)
    }

    func damage(_ damage: Damage, of host: HostKey) throws {
        let sql = switch damage {
        case .pinCertificate: "UPDATE pin SET der = '\\x300100'::bytea WHERE host = $1"
        case .pinFingerprint: "UPDATE pin SET sha256Fingerprint = 'not a fingerprint' WHERE host = $1"
        case .serverPort: "UPDATE dnac_server SET port = 0 WHERE host = $1"
        }
        let connection = try PGConnection(uri: cluster.uri, timeoutMilliseconds: 10_000)
        try connection.execute("SELECT set_config('search_path', $1, false)", [.text(schema)])
        let changed = try connection.execute(sql, [.text(host.description)]).affectedRows
        #expect(changed == 1, "no row of \(host) to damage")
    }
}
