import Foundation
import TestSupport
import Testing

/// A cold read (`tofu listcerts --host K`, or a tofu-rpc whose first call reads) on a PostgreSQL
/// store stays a read: one query for the schema version, then the read itself; no transaction,
/// no write, no migration. What each session sent is taken from the server's own statement log
/// (log_statement = all, set on the test's database only).
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLColdReadTests {
    @Test func aColdListingOfOneHostSendsOneSchemaCheckAndOneRead() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let setup = try FleetMachine(cluster, database: database)
        _ = try await setup.call("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect(try await setup.stop() == 0)
        try await cluster.superuser("ALTER DATABASE \(database) SET log_statement = 'all'")
        let logged = try logSize(cluster)

        let cli = try await runProgram(
            productPath("tofu"), ["listcerts", "--host", "kong.example", "--json", "--store", cluster.uri(database)],
            environment: cluster.environment.merging(["TOFU_RPC": productPath("tofu-rpc")]) { $1 })
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains(certificate.fingerprint), "\(cli.stdout)")
        let machine = try FleetMachine(cluster, database: database)
        let listed = try await machine.call("listCerts", ["host": "kong.example"])
        #expect(((listed.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(listed)")
        #expect(try await machine.stop() == 0)

        let sessions = try statements(cluster, database: database, since: logged)
        #expect(sessions.count == 2, "\(sessions)")
        for sent in sessions.values {
            #expect(sent.count == 2, "\(sent)")
            #expect(sent.first == "SELECT max(version) FROM migration", "\(sent)")
            #expect(sent.dropFirst().allSatisfy { $0.hasPrefix("SELECT id, host, ") && $0.contains(" FROM pin WHERE host = $1 ") }, "\(sent)")
        }
    }

    /// Reads of a database tofu has never written answer as an empty store does (the answer of an
    /// SQLite store file that does not exist yet), and create nothing: the schema is made by the
    /// first write, which then succeeds in the same process.
    @Test func readsOfADatabaseNeverWrittenAnswerEmptyAndCreateNothing() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        try await cluster.superuser("ALTER DATABASE \(database) SET log_statement = 'all'")
        let logged = try logSize(cluster)
        let machine = try FleetMachine(cluster, database: database)
        let empty: [(String, [String: Any], String)] = [
            ("listCerts", ["host": "kong.example"], "certs"), ("listCerts", [:], "certs"), ("certHistory", [:], "events"),
            ("listDnacServers", [:], "servers"),
        ]
        for (method, params, field) in empty {
            let answer = try await machine.call(method, params)
            #expect(((answer.object["result"] as? [String: Any])?[field] as? [Any])?.isEmpty == true, "\(method): \(answer)")
        }
        let schemas = try await cluster.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'tofu'", database: database)
        #expect(schemas == ["0"], "a read created tofu's schema")
        let sent = try statements(cluster, database: database, since: logged).values.flatMap { $0 }
        #expect(!sent.isEmpty && sent.allSatisfy { $0 == "SELECT max(version) FROM migration" }, "\(sent)")

        let certificate = try await CertificateFactory.make()
        let pinned = try await machine.call("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect((pinned.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned", "\(pinned)")
        let listed = try await machine.call("listCerts", ["host": "kong.example"])
        #expect(((listed.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(listed)")
        #expect(try await machine.stop() == 0)
    }

    /// The statements tofu's sessions in `database` sent, by server process, in order, from the
    /// cluster's log (its lines carry the database and the application: see pg-cluster.sh): each
    /// one run (`execute`, `statement`), and each one refused before it could run (`STATEMENT`
    /// after its error, e.g. a table that does not exist).
    private func statements(_ cluster: PGTestCluster, database: String, since offset: Int) throws -> [String: [String]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: cluster.directory + "/server.log"))
        let log = String(decoding: data.dropFirst(offset), as: UTF8.self)
        var sessions: [String: [String]] = [:]
        for line in log.split(separator: "\n") {
            guard let prefix = line.range(of: " \(database) tofu: "), let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { continue }
            let pid = String(line[line.index(after: open)..<close])
            let message = line[prefix.upperBound...]
            for kind in ["LOG:  statement: ", "STATEMENT:  "] where message.hasPrefix(kind) {
                sessions[pid, default: []].append(String(message.dropFirst(kind.count)))
            }
            if message.hasPrefix("LOG:  execute "), let colon = message.range(of: ": ", range: message.index(message.startIndex, offsetBy: 6)..<message.endIndex) {
                sessions[pid, default: []].append(String(message[colon.upperBound...]))
            }
        }
        return sessions
    }

    /// The length of the cluster's log now: where a test's own statements begin.
    private func logSize(_ cluster: PGTestCluster) throws -> Int {
        try Data(contentsOf: URL(fileURLWithPath: cluster.directory + "/server.log")).count
    }
}
