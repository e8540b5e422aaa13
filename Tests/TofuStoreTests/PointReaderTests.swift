import Foundation
import GRDB
import Testing
import TofuCore

@testable import TofuStore

/// `PinStore.pointRead`: the input thread's own connection to an SQLite store. It reads what is
/// committed, beside a writer, without waiting; a run of reads shares one snapshot until
/// `endReadRun`; and whatever it cannot read at once it declines (nil), so the store reads it.
@Suite struct PointReaderTests {
    /// Another connection to the store's file, as another process would hold one.
    static func connection(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    static func isPlain(_ found: PlainPinLookup?, _ host: HostKey) -> Bool {
        if case .plain(let pin)? = found { return pin.host == host }
        return false
    }

    static func isNoPin(_ found: PlainPinLookup?) -> Bool {
        if case .noPin? = found { return true }
        return false
    }

    /// A store of its own with kong.example pinned by it, its run of reads ended.
    static func pinned() async throws -> (underTest: SQLiteStoreUnderTest, store: PinStore, host: HostKey) {
        let certificates = try await Certificates.get()
        let underTest = SQLiteStoreUnderTest()
        let host = try hostKey("kong.example")
        _ = try await underTest.store.pin(certificates.a, for: host)
        underTest.store.endReadRun()
        return (underTest, underTest.store, host)
    }

    @Test func itReadsOnlyOnceTheStoreHasOpenedTheFile() async throws {
        let certificates = try await Certificates.get()
        let underTest = SQLiteStoreUnderTest()
        let host = try hostKey("kong.example")
        _ = try await underTest.another().pin(certificates.a, for: host)
        let store = underTest.store
        #expect(store.pointRead(host) == nil, "read before the store opened and checked the file")
        _ = try await store.list(after: nil, limit: 1)
        store.endReadRun()
        #expect(Self.isPlain(store.pointRead(host), host))
        #expect(Self.isNoPin(store.pointRead(try hostKey("other.example"))))
        // A staged pin is left to the store, which reads it as a `Pin`.
        _ = try await store.stage(certificates.b, for: host)
        store.endReadRun()
        guard case .notPlain? = store.pointRead(host) else {
            Issue.record("a staged pin was read in place")
            return
        }
    }

    @Test func aRunSharesOneSnapshotUntilItEnds() async throws {
        let (underTest, store, host) = try await Self.pinned()
        #expect(Self.isPlain(store.pointRead(host), host))
        #expect(Self.isPlain(store.pointRead(host), host))
        // Deleted by another process in the middle of the run: the run still sees the pin...
        let other = try Self.connection(underTest.path)
        try await other.write { db in try db.execute(sql: "DELETE FROM pin WHERE host = ?", arguments: [host.description]) }
        #expect(Self.isPlain(store.pointRead(host), host), "the run's snapshot moved")
        // ...and the next run sees the delete.
        store.endReadRun()
        #expect(Self.isNoPin(store.pointRead(host)))
        store.endReadRun()
        try other.close()
    }

    @Test func itReadsWhatIsCommittedBesideAWriterWithoutWaiting() async throws {
        let (underTest, store, host) = try await Self.pinned()
        let other = try Self.connection(underTest.path)
        try await other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "DELETE FROM pin WHERE host = ?", arguments: [host.description])
            // The write lock is held and the delete not committed.
            let started = Date()
            #expect(Self.isPlain(store.pointRead(host), host))
            store.endReadRun()
            #expect(Date().timeIntervalSince(started) < 1)
            try db.execute(sql: "ROLLBACK")
        }
        try other.close()
    }

    @Test func whatItCannotReadItDeclinesAndTheStoreReports() async throws {
        let (underTest, store, host) = try await Self.pinned()
        #expect(Self.isPlain(store.pointRead(host), host))
        store.endReadRun()
        // The table goes (an operator's mistake): the prepared read cannot run again.
        let other = try Self.connection(underTest.path)
        try await other.write { db in try db.execute(sql: "ALTER TABLE pin RENAME TO gone") }
        try other.close()
        #expect(store.pointRead(host) == nil)
        store.endReadRun()
        // Declined for a while after a failure, at no cost.
        for _ in 0..<PointReader.retryAfter { #expect(store.pointRead(host) == nil) }
        // The store itself says what is wrong.
        await #expect(throws: TofuError.self) { _ = try await store.list(after: nil, limit: 1, host: host) }
    }
}
