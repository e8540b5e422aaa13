import Foundation
import Testing
import TofuCore

@testable import TofuStore

/// What only the PostgreSQL backend has: many connections at once (the machines of a fleet),
/// its migrations, and its words when the server refuses it.
@Suite(.enabled(if: PostgreSQLStoreUnderTest.configured))
struct PostgreSQLBackendTests {
    /// Eight stores (eight machines), each connected already, racing first uses of many hosts:
    /// the per-host lock makes each decision once; without it, two inserts of one host meet.
    @Test func racingFirstUsesOnManyConnectionsLeaveOnePinPerHost() async throws {
        let certificates = try await Certificates.get()
        let underTest = try PostgreSQLStoreUnderTest()
        let stores = [underTest.store] + (1..<8).map { _ in underTest.another() }
        for store in stores { _ = try await store.hostKeys() }
        let hosts = try (0..<40).map { try hostKey("kong\($0).example") }
        let candidates = [certificates.a, certificates.b, certificates.c]
        let outcomes = await withTaskGroup(of: (HostKey, CertificateSummary, Result<PinStatus, TofuError>).self) { group in
            for host in hosts {
                for (index, store) in stores.enumerated() {
                    let certificate = candidates[index % 3]
                    group.addTask {
                        do throws(TofuError) {
                            return (host, certificate, .success(try await store.pin(certificate, for: host).1))
                        } catch {
                            return (host, certificate, .failure(error))
                        }
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for host in hosts {
            let mine = outcomes.filter { $0.0 == host }
            let winners = mine.filter { if case .success(.pinned) = $0.2 { true } else { false } }
            #expect(winners.count == 1, "\(host): \(mine.map(\.2))")
            let pinned = try #require(try await stores[0].pin(for: host))
            for (_, certificate, outcome) in mine {
                switch outcome {
                case .success(.pinned), .success(.matched): #expect(certificate == pinned.certificate)
                case .failure(.certificateMismatch): #expect(certificate != pinned.certificate)
                default: Issue.record("\(host): unexpected \(outcome)")
                }
            }
            #expect(try await stores[0].kinds(of: host) == [.pinned])
        }
        for store in stores { await store.close() }
    }

    /// Ten backends writing first to one new schema together: each migration runs once, and
    /// every write is made.
    @Test func tenProcessesStartingTogetherMigrateOnce() async throws {
        let cluster = try TestCluster.get()
        let schema = TestCluster.freshSchema()
        let certificate = try await Certificates.get().a
        let opened = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<10 {
                group.addTask {
                    let store = PostgreSQLStoreUnderTest.store(cluster, schema: schema)
                    defer { Task { await store.close() } }
                    return (try? await store.pin(certificate, for: hostKey("start\(index).example")).1) == .pinned
                }
            }
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(opened == 10)
        let connection = try PGConnection(uri: cluster.uri, timeoutMilliseconds: 10_000)
        let result = try connection.execute("SELECT count(*), max(version) FROM \(schema).migration")
        #expect(result.text(0, 0) == String(PGSchema.migrations.count))
        #expect(result.text(0, 1) == String(PGSchema.migrations.count))
    }

    /// A schema of the previous version (1: before the history's time index) is upgraded in
    /// place when this build opens it: every pin, server and event kept, the index made, and
    /// the events this version adds recorded at once.
    @Test func aSchemaOfThePreviousVersionUpgradesInPlace() async throws {
        let certificates = try await Certificates.get()
        let cluster = try TestCluster.get()
        let schema = TestCluster.freshSchema()
        let host = try hostKey("kong.example")
        let dnac = try hostKey("dnac.example")
        let store = PostgreSQLStoreUnderTest.store(cluster, schema: schema)
        _ = try await store.pin(certificates.a, for: host)
        _ = try await store.stage(certificates.b, for: host)
        _ = try await store.recordServer(dnac, username: "admin", fingerprint: certificates.c.sha256Fingerprint, authenticated: true)
        await store.close()
        // What version 1 left: migration 2 not applied, its index absent, and no event of a kind
        // version 1 did not write (version 1 recorded no serverAdded).
        let connection = try PGConnection(uri: cluster.uri, timeoutMilliseconds: 10_000)
        try connection.execute("DROP INDEX \(schema).event_by_at")
        try connection.execute("DELETE FROM \(schema).migration WHERE version > 1")
        try connection.execute("DELETE FROM \(schema).event WHERE event = 'serverAdded'")
        #expect(PGSchema.migrations.count == 2, "update this test for the next migration")

        let upgraded = PostgreSQLStoreUnderTest.store(cluster, schema: schema)
        let pin = try #require(try await upgraded.pin(for: host))
        #expect(pin.certificate == certificates.a && pin.next?.certificate == certificates.b)
        #expect(try await upgraded.servers().map(\.username) == ["admin"])
        #expect(try await upgraded.kinds(of: host) == [.pinned, .staged])
        let versions = try connection.execute("SELECT count(*), max(version) FROM \(schema).migration")
        #expect(versions.text(0, 0) == "2" && versions.text(0, 1) == "2")
        let index = try connection.execute("SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'event_by_at'", [.text(schema)])
        #expect(index.rowCount == 1, "the migration did not make the history's time index")
        _ = try await upgraded.removeServer(dnac)
        #expect(try await upgraded.history(host: dnac, kinds: [.serverRemoved], since: "2000-01-01T00:00:00Z", limit: 10).count == 1)
        await upgraded.close()
    }

    /// A schema a newer tofu wrote is refused with -32005, and left as it is.
    @Test func aNewerSchemaIsRefused() async throws {
        let cluster = try TestCluster.get()
        let schema = TestCluster.freshSchema()
        _ = try await PostgreSQLStoreUnderTest.store(cluster, schema: schema).pin(try await Certificates.get().a, for: hostKey("kong.example"))
        let connection = try PGConnection(uri: cluster.uri, timeoutMilliseconds: 10_000)
        let newer = PGSchema.migrations.count + 1
        try connection.execute("INSERT INTO \(schema).migration VALUES ($1, 'from the future', '2030-01-01T00:00:00Z')", [.text(String(newer))])
        let error = await tofuError { try await PostgreSQLStoreUnderTest.store(cluster, schema: schema).hostKeys() }
        guard case .storeUnavailable(let reason) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(reason.contains("newer tofu") && reason.contains("schema version \(newer)"), "\(reason)")
    }

    /// A refused password is reported in libpq's words, with the URI's password nowhere in it.
    @Test func aRefusedPasswordIsNeverEchoed() async throws {
        let cluster = try TestCluster.get()
        let secret = "Sekr3tWord" + UUID().uuidString.prefix(8)
        let uri = cluster.uri.replacingOccurrences(of: "password=" + cluster.password, with: "password=" + secret)
        let store = PinStore(location: uri, timeoutMilliseconds: 5000)
        let error = await tofuError { try await store.hostKeys() }
        let words = "\(String(describing: error)) \(await store.path)"
        #expect(words.contains("password authentication failed"), "\(words)")
        #expect(!words.contains(secret))
        #expect(!words.contains(cluster.password))
    }
}
