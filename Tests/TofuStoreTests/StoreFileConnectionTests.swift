import Foundation
import GRDB
import Testing
import TofuCore

@testable import TofuStore

/// How the store's connections are set up: what makes an answered write durable, and what
/// keeps the reader from ever writing.
@Suite struct StoreFileConnectionTests {
    static func newStore() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tofu-store-\(UUID().uuidString)").path
        return directory + "/store.sqlite"
    }

    /// GRDB's WAL set-up sets `synchronous = NORMAL` after the connection's own set-up: then a
    /// commit is not synced before the answer goes out. Checked on a new store and on reopening
    /// it (when the WAL file is gone again, GRDB's set-up runs again).
    @Test func theWriterSyncsEveryCommit() throws {
        let path = Self.newStore()
        for _ in 0..<2 {
            let handle = try StoreFile.open(path: path, busyTimeout: 1)
            let writer = try #require(handle.writer)
            let mode = try writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(mode == 2, "synchronous is \(String(describing: mode)), not FULL (2)")
            let journal = try writer.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
            try writer.close()
            try handle.reader.close()
        }
    }

    @Test func theReaderCannotWrite() throws {
        let handle = try StoreFile.open(path: Self.newStore(), busyTimeout: 1)
        let queryOnly = try handle.reader.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA query_only") }
        #expect(queryOnly == 1)
        #expect(throws: DatabaseError.self) {
            try handle.reader.inDatabase { db in try db.execute(sql: "DELETE FROM pin") }
        }
    }

    /// The reader opened alone: only for a store that reading alone can serve, and
    /// then query-only too.
    @Test func aReaderAloneOnlyWhereReadingIsEnough() throws {
        let path = Self.newStore()
        #expect(try StoreFile.openReader(path: path, busyTimeout: 1) == nil, "a missing store must be created by the whole open")
        #expect(!FileManager.default.fileExists(atPath: path))
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]))
        #expect(try StoreFile.openReader(path: path, busyTimeout: 1) == nil, "an empty file is a new store")

        let handle = try StoreFile.open(path: path, busyTimeout: 1)
        let reader = try #require(try StoreFile.openReader(path: path, busyTimeout: 1))
        #expect(try reader.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA query_only") } == 1)
        #expect(throws: DatabaseError.self) { try reader.inDatabase { db in try db.execute(sql: "DELETE FROM pin") } }
        try reader.close()

        // A store behind this build's schema needs the migrations of the whole open.
        let last = try #require(Schema.migrator.migrations.last)
        try handle.writer?.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [last]) }
        #expect(try StoreFile.openReader(path: path, busyTimeout: 1) == nil)
        // One from a newer tofu is refused, as the whole open refuses it.
        try handle.writer?.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?), ('v999-from-the-future')", arguments: [last]) }
        #expect(throws: TofuError.self) { try StoreFile.openReader(path: path, busyTimeout: 1) }
        try handle.writer?.close()
        try handle.reader.close()
    }
}
