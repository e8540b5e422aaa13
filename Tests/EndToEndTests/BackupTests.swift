import Foundation
import Posix
import TestSupport
import Testing

/// `tofu backup DEST` (and tofu.sh's): a consistent copy of a live store while another process
/// writes to it, which opens, passes SQLite's integrity check and holds every pin acknowledged
/// before the backup began.
@Suite struct BackupTests {
    /// Pins hosts one after another on `server` until stopped; the hosts acknowledged so far.
    final class Writer: Sendable {
        let acknowledged = Locked<[String]>([])
        let stopped = Locked(false)
        let failures = Locked<[String]>([])

        func run(_ server: StoreServer, pem: String) async {
            var index = 0
            while !stopped.withLock({ $0 }) {
                let host = "w\(index).example"
                do {
                    let answer = try await server.call("pinCert", ["host": host, "pem": pem])
                    if answer.object["error"] != nil {
                        failures.withLock { $0.append("\(host): \(answer)") }
                    } else {
                        acknowledged.withLock { $0.append(host + "_443") }
                    }
                } catch {
                    failures.withLock { $0.append("\(host): \(error)") }
                    return
                }
                index += 1
            }
        }

        var count: Int { acknowledged.withLock { $0.count } }
    }

    /// The host keys the copy holds, read by sqlite3 itself after its integrity check.
    static func check(_ copy: String) async throws -> Set<String> {
        let integrity = try await runProgram("/usr/bin/sqlite3", ["-readonly", copy, "PRAGMA integrity_check"])
        #expect(integrity.stdout == "ok\n", "the copy failed its integrity check: \(integrity.stdout)\(integrity.stderr)")
        let hosts = try await runProgram("/usr/bin/sqlite3", ["-readonly", copy, "SELECT host FROM pin"])
        #expect(hosts.status == 0, "\(hosts.stderr)")
        return Set(hosts.stdout.split(separator: "\n").map(String.init))
    }

    @Test func aBackupDuringWritesIsConsistentAndComplete() async throws {
        let certificate = try await CertificateFactory.make()
        let directory = temporaryDirectory("tofu-backup")
        let store = directory + "/store.sqlite"
        let server = try StoreServer(storePath: store)
        let writer = Writer()
        let writing = Task { await writer.run(server, pem: certificate.pem) }
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(60))
        while writer.count < 20 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }

        var copies: [(CLITests.Client, String, Set<String>)] = []
        var atLastBackup = 0
        for client in CLITests.Client.allCases {
            let copy = directory + "/copy-\(client).sqlite"
            // Every pin acknowledged before the backup began must be in the copy.
            let before = Set(writer.acknowledged.withLock { $0 })
            atLastBackup = before.count
            let result = try await CLITests.run(client, ["backup", copy], store: store)
            #expect(result.status == 0, "\(client): \(result.stderr)")
            let hosts = try await Self.check(copy)
            #expect(before.isSubset(of: hosts), "\(client): pins acknowledged before the backup are missing: \(before.subtracting(hosts).sorted())")
            #expect(result.stdout.hasPrefix("backup=\(copy);  pins=\(hosts.count);  servers=0;  events=\(hosts.count);  bytes="), "\(client): \(result.stdout)")
            copies.append((client, copy, hosts))
        }
        // The writer goes on past the backups (it never waited for them, nor failed).
        let after = ContinuousClock.now + TestTime.bound(.seconds(60))
        while writer.count <= atLastBackup && ContinuousClock.now < after { try await Task.sleep(for: .milliseconds(10)) }
        let writtenMeanwhile = writer.count
        writer.stopped.withLock { $0 = true }
        await writing.value
        #expect(writer.failures.withLock { $0 }.isEmpty, "\(writer.failures.withLock { $0 })")
        #expect(try await server.stop() == 0)
        #expect(writtenMeanwhile > atLastBackup && atLastBackup > 0, "the writer did not write around the backups: \(atLastBackup), then \(writtenMeanwhile)")

        for (client, copy, hosts) in copies {
            // One self-contained file, 0600, that tofu opens as a store of its own.
            #expect(!FileManager.default.fileExists(atPath: copy + "-wal"), "\(client)")
            #expect(permissions(copy) == 0o600, "\(client): \(String(permissions(copy), radix: 8))")
            let listed = try await CLITests.run(client, ["listcerts"], store: copy)
            #expect(listed.status == 0 && Set(listed.stdout.split(separator: "\n").compactMap { $0.split(separator: ";").first?.dropFirst("host=".count) }.map(String.init)) == hosts, "\(client)")
            // A backup never overwrites a file.
            let bytes = fileBytes(copy)
            let again = try await CLITests.run(client, ["backup", copy], store: store)
            #expect(again.status == 2 && again.stderr.contains("never overwrites"), "\(client): \(again.status) \(again.stderr)")
            #expect(fileBytes(copy) == bytes)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".tofu-backup-") }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
    }

    /// A PostgreSQL store is refused, saying what to use instead (pg_dump of the schema).
    @Test(.enabled(if: PostgreSQLDatabase.configured))
    func aPostgreSQLStoreIsRefusedWithWhatToUseInstead() async throws {
        let database = try await PostgreSQLDatabase.create()
        let copy = temporaryDirectory("tofu-backup-pg") + "/copy.sqlite"
        for client in CLITests.Client.allCases {
            let (executable, prefix) = client.command
            let result = try await runProgram(
                executable, prefix + ["backup", copy, "--store", database.uri], environment: CLITests.environment.merging(database.environment) { _, new in new })
            #expect(result.status == 7, "\(client): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("pg_dump --schema=tofu"), "\(client): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: copy))
        }
    }
}
