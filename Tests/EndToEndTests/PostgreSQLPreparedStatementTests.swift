import Foundation
import TestSupport
import Testing

/// On PostgreSQL, the statements a store makes at every call are prepared once per connection
/// (named, parsed and planned by the server once) and BEGIN and COMMIT go in one message of the
/// simple protocol; a connection the server lost is replaced on the next call, which prepares
/// them again. Taken from the server's own statement log (log_statement = all, on the test's
/// database only).
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLPreparedStatementTests {
    @Test func eachStatementIsPreparedOncePerConnectionAndAgainAfterALostOne() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machine = try FleetMachine(cluster, database: database)
        let pinned = try await machine.call("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect((pinned.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned", "\(pinned)")
        try await cluster.superuser("ALTER DATABASE \(database) SET log_statement = 'all'")
        // A new session takes the database's setting: the next call's session, after this one is lost.
        let killed = try await cluster.superuser(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND application_name = 'tofu'")
        #expect(killed == ["t"], "\(killed)")
        let logged = try Self.logSize(cluster)

        let lost = try await machine.call("listCerts", ["host": "kong.example"])
        #expect((lost.object["error"] as? [String: Any])?["code"] as? Int == -32005, "the lost connection is answered: \(lost)")
        for _ in 0..<3 {
            let listed = try await machine.call("listCerts", ["host": "kong.example"])
            #expect(((listed.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(listed)")
        }
        let deleted = try await machine.call("deleteCert", ["host": "kong.example"])
        #expect((deleted.object["result"] as? [String: Any])?["deleted"] is [String: Any], "\(deleted)")
        #expect(try await machine.stop() == 0)

        let lines = try Self.statementLines(cluster, database: database, since: logged)
        let listings = lines.filter { $0.contains(" FROM pin WHERE host = $1 ORDER BY host LIMIT $2") }
        #expect(listings.count == 3, "three listings, each an execution: \(lines)")
        let names = Set(listings.compactMap { $0.split(separator: ":").first.map(String.init) })
        #expect(names.count == 1 && names.first?.hasPrefix("execute tofu_") == true, "one statement, prepared once, executed by name: \(listings)")
        #expect(lines.contains("statement: BEGIN") && lines.contains("statement: COMMIT"), "\(lines)")
        // The schema's version is looked at once per connection, as it is sent: nothing else is.
        let unnamed = lines.filter { $0.hasPrefix("execute <unnamed>") }
        #expect(unnamed == ["execute <unnamed>: SELECT max(version) FROM migration"], "\(lines)")
    }

    /// The log lines of tofu's sessions in `database` after `offset`: `statement: SQL` for the
    /// simple protocol, `execute NAME: SQL` for an execution of the extended one.
    static func statementLines(_ cluster: PGTestCluster, database: String, since offset: Int) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: cluster.directory + "/server.log"))
        let log = String(decoding: data.dropFirst(offset), as: UTF8.self)
        return log.split(separator: "\n").compactMap { line in
            guard let prefix = line.range(of: " \(database) tofu: LOG:  ") else { return nil }
            let message = String(line[prefix.upperBound...])
            return message.hasPrefix("statement: ") || message.hasPrefix("execute ") ? message : nil
        }
    }

    static func logSize(_ cluster: PGTestCluster) throws -> Int {
        try Data(contentsOf: URL(fileURLWithPath: cluster.directory + "/server.log")).count
    }
}
