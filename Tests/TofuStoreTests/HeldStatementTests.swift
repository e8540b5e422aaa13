import Foundation
import Testing
import TofuCore

@testable import TofuStore

/// The reader keeps the point read's statement prepared for its life: closing the store must
/// still finalize it, or SQLite leaves the reader open (GRDB's close fails with SQLITE_BUSY and
/// the store's close ignores that), and it would go on answering.
@Suite struct HeldStatementTests {
    static func newStore() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tofu-held-\(UUID().uuidString)").path + "/store.sqlite"
    }

    static func pointRead(_ backend: SQLiteBackend) throws -> Int {
        let host = try HostKey(parsing: "held.example_443")
        return try backend.read { try $0.pins(after: nil, limit: 1, host: host, expiringBefore: nil, stagedOnly: false).pins.count }
    }

    /// A new store (the whole store opened) and a cold one (its reader alone).
    @Test(arguments: [false, true]) func closingTheStoreClosesTheReaderThatHeldAStatement(cold: Bool) throws {
        let path = Self.newStore()
        if cold {
            let creating = try SQLiteBackend(path: path, busyTimeout: 1)
            creating.close()
        }
        let backend = try SQLiteBackend(path: path, busyTimeout: 1)
        #expect(try Self.pointRead(backend) == 0)
        #expect(try Self.pointRead(backend) == 0)
        backend.close()
        #expect(throws: TofuError.self, "the reader still answers after the store closed") { try Self.pointRead(backend) }
    }
}
