import Foundation
import TestSupport
import Testing

/// A store of the previous schema (v3, committed as Tests/Fixtures/store-v3.sqlite, written by
/// the release before it) is upgraded to v4 in place by tofu-rpc: every pin, server and event
/// kept, the history's time index made, and the history's new filters and events work on it.
@Suite struct HistoryMigrationTests {
    @Test func aStoreOfSchemaV3UpgradesInPlace() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/store-v3.sqlite").path
        let store = newStorePath("tofu-migration-v3")
        try FileManager.default.copyItem(atPath: fixture, toPath: store)
        let server = try StoreServer(storePath: store)
        let pins = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(pins.compactMap { $0["host"] as? String } == ["127.0.0.1_37211", "kong.example_443"])
        let kong = pins.last ?? [:]
        #expect(kong["policy"] as? String == "publicKey" && (kong["next"] as? [String: Any])?["sha256Fingerprint"] is String, "\(kong)")
        let events = try await server.result("certHistory")["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["event"] as? String } == ["pinned", "staged", "pinned", "deleted", "pinned", "matched"])
        // The filters of v4 on v3's rows.
        let deleted = try await server.result("certHistory", ["event": "deleted", "since": "2026-01-01"])["events"] as? [[String: Any]] ?? []
        #expect(deleted.compactMap { $0["host"] as? String } == ["old.example_8443"])
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.first?["username"] as? String == "admin")
        // An event v3 never wrote.
        _ = try await server.result("removeDnacServer", ["server": "127.0.0.1_37211"])
        let removed = try await server.result("certHistory", ["event": ["serverRemoved"]])["events"] as? [[String: Any]] ?? []
        #expect(removed.count == 1 && (removed.first?["detail"] as? String)?.hasPrefix("username: admin") == true, "\(removed)")
        #expect(try await server.stop() == 0)
        let migrations = try await runProgram("/usr/bin/sqlite3", ["-readonly", store, "SELECT identifier FROM grdb_migrations ORDER BY rowid"])
        #expect(migrations.stdout.hasSuffix("v3: pin policy and staged next certificate\nv4: history by time\n"), "\(migrations.stdout)")
        let index = try await runProgram("/usr/bin/sqlite3", ["-readonly", store, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'event_by_at'"])
        #expect(index.stdout == "event_by_at\n")
    }
}
