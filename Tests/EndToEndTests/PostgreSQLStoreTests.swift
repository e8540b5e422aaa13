import Foundation
import TestSupport
import Testing

/// tofu-rpc on a PostgreSQL store: two processes (two machines of a fleet) on one database.
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLStoreTests {
    @Test func aPinMadeByOneProcessIsSeenByAnotherAtOnce() async throws {
        let database = try await PostgreSQLDatabase.create()
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make(in: temporaryDirectory())
        let controller = try await peers.listen("tls", certificate: certificate)
        let first = try StoreServer(storePath: database.uri, environment: database.environment)
        let second = try StoreServer(storePath: database.uri, environment: database.environment)

        let pinned = try await first.result("pinCert", ["host": controller.address, "pem": certificate.pem])
        #expect(pinned["pinStatus"] as? String == "pinned", "\(pinned)")
        let verified = try await first.result("verifyCert", ["host": controller.address, "timeoutMs": 3000])
        #expect(verified["status"] as? String == "match", "\(verified)")

        // The other process sees the pin, and the verification, without a restart.
        let seen = try await second.result("listCerts", ["host": controller.key])["certs"] as? [[String: Any]] ?? []
        #expect(seen.first?["sha256Fingerprint"] as? String == certificate.fingerprint)
        #expect(seen.first?["lastVerifiedAt"] is String)
        let again = try await second.result("verifyCert", ["host": controller.address, "timeoutMs": 3000])
        #expect(again["status"] as? String == "match", "\(again)")
        let history = try await second.result("certHistory", ["host": controller.key])["events"] as? [[String: Any]] ?? []
        // Matches after the pinning are no news in the history (lastVerifiedAt shows them).
        #expect(history.compactMap { $0["event"] as? String } == ["pinned"])
        // In the database itself, in tofu's schema: not in a file of some other store.
        let rows = try await runProgram("/usr/bin/psql", ["-XAt", "-c", "SELECT host FROM tofu.pin", database.uri], environment: database.environment)
        #expect(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == controller.key, "\(rows.stderr)")

        _ = try await first.stop()
        _ = try await second.stop()
        peers.stop()
    }
}

/// A database of its own in the test cluster (scripts/pg-cluster.sh), for one test's processes.
struct PostgreSQLDatabase {
    /// The URI without a password: what a child is given as --store.
    let uri: String
    /// The password, for the child's PGPASSWORD (never an argument).
    let environment: [String: String]

    static var configured: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["TOFU_TEST_PG_URI"].map { !$0.isEmpty } ?? false || environment["TOFU_REQUIRE_PG"] == "1"
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "TOFU_REQUIRE_PG=1 but TOFU_TEST_PG_URI, TOFU_TEST_PG_PASSWORD, TOFU_TEST_PG_DIR and TOFU_TEST_PG_CLUSTER are not all set: run 'make test', or export what 'scripts/pg-cluster.sh start DIR' prints"
        }
    }

    static func create() async throws -> PostgreSQLDatabase {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["TOFU_TEST_PG_URI"], let password = environment["TOFU_TEST_PG_PASSWORD"],
              let directory = environment["TOFU_TEST_PG_DIR"], let cluster = environment["TOFU_TEST_PG_CLUSTER"],
              let slash = base.range(of: "/", options: .backwards)
        else { throw Missing() }
        let name = "e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let made = try await runProgram("/bin/bash", [cluster, "psql", directory, "CREATE DATABASE \(name) OWNER tofu"])
        #expect(made.status == 0, "\(made.stderr)")
        return PostgreSQLDatabase(uri: String(base[..<slash.upperBound]) + name, environment: ["PGPASSWORD": password])
    }
}
