import Testing
import TofuCore

@testable import TofuStore

/// Paging, history and the DNA Center servers: on every backend.
@Suite struct PinStoreListingTests {
    /// Pages keyed by host stay exact while pins are added and deleted between them: every pin
    /// present throughout is listed once, nothing twice, and each page is in host-key order.
    @Test(arguments: StoreKind.all)
    func pagingByHostIsExactUnderInsertsAndDeletes(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let other = underTest.another()
        let keys = try (0..<40).map { try hostKey(String(format: "h%03d.example", $0 * 2)) }
        for key in keys { _ = try await store.pin(certificates.a, for: key) }

        var listed: [HostKey] = []
        var cursor: String?
        var deletedAhead: Set<HostKey> = []
        var deletedBehind: Set<HostKey> = []
        var added: Set<HostKey> = []
        var page = 0
        repeat {
            let (pins, more) = try await store.list(after: cursor, limit: 7)
            #expect(pins.count == 7 || !more, "page \(page) is short but says another follows")
            #expect(pins.map(\.host.description) == pins.map(\.host.description).sorted())
            listed += pins.map(\.host)
            cursor = more ? pins.last?.host.description : nil
            // Another process meanwhile: a pin behind the cursor and one ahead of it are deleted,
            // and one is added ahead of it (odd numbers sit between the existing keys).
            if let cursor, page < 3 {
                let position = try #require(keys.firstIndex { $0.description == cursor })
                let behind = keys[position / 2]
                let ahead = keys[position + 3]
                if !deletedBehind.contains(behind) {
                    _ = try await other.delete(behind, expected: nil)
                    deletedBehind.insert(behind)
                }
                _ = try await other.delete(ahead, expected: nil)
                deletedAhead.insert(ahead)
                let new = try hostKey(String(format: "h%03d.example", (position + 4) * 2 + 1))
                _ = try await other.pin(certificates.b, for: new)
                added.insert(new)
            }
            page += 1
        } while cursor != nil
        #expect(page == 6, "\(listed.count) pins in \(page) pages")
        #expect(Set(listed).count == listed.count, "a pin was listed twice: \(listed)")
        #expect(listed.map(\.description) == listed.map(\.description).sorted())
        #expect(Set(listed) == Set(keys).subtracting(deletedAhead).union(added), "listed \(listed)")
        #expect(deletedAhead.count == 3 && added.count == 3 && !deletedBehind.isEmpty)
        await other.close()
    }

    @Test(arguments: StoreKind.all)
    func aPageSaysWhetherAnotherFollows(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        #expect(try await store.list(after: nil, limit: 5).pins.isEmpty)
        #expect(try await store.list(after: nil, limit: 5).more == false)
        let keys = try (0..<5).map { try hostKey("h\($0).example") }
        for key in keys { _ = try await store.pin(certificates.a, for: key) }
        let exact = try await store.list(after: nil, limit: 5)
        #expect(exact.pins.map(\.host) == keys)
        #expect(!exact.more, "a full last page said another follows")
        let first = try await store.list(after: nil, limit: 4)
        #expect(first.more)
        let rest = try await store.list(after: first.pins.last?.host.description, limit: 4)
        #expect(rest.pins.map(\.host) == [keys[4]])
        #expect(!rest.more)
        // A point read is the listing's entry for that host.
        let point = try await store.list(after: nil, limit: 1000, host: keys[2])
        #expect(point.pins == [exact.pins[2]])
        #expect(!point.more)
        #expect(try await store.list(after: nil, limit: 1000, host: try hostKey("unpinned.example")).pins.isEmpty)
    }

    @Test(arguments: StoreKind.all)
    func listingsFilterByExpiryAndStaging(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let soon = try hostKey("soon.example")
        let later = try hostKey("later.example")
        _ = try await store.pin(certificates.a, for: soon)
        _ = try await store.pin(certificates.aRenewed, for: later)
        _ = try await store.stage(certificates.b, for: later)
        // a ends in 30 days, aRenewed in 365.
        let expiring = try await store.list(after: nil, limit: 10, expiringBefore: Timestamp.now(plusDays: 60))
        #expect(expiring.pins.map(\.host) == [soon])
        #expect(try await store.list(after: nil, limit: 10, expiringBefore: Timestamp.now(plusDays: 400)).pins.count == 2)
        #expect(try await store.list(after: nil, limit: 10, stagedOnly: true).pins.map(\.host) == [later])
        #expect(try await store.hostKeys() == [later, soon])
    }

    @Test(arguments: StoreKind.all)
    func aDamagedPinIsReportedByEveryReadOfItAndNoOther(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let damaged = try hostKey("damaged.example")
        let sound = try hostKey("sound.example")
        _ = try await store.pin(certificates.a, for: damaged)
        _ = try await store.pin(certificates.a, for: sound)
        try underTest.damage(.pinCertificate, of: damaged)
        for read in [
            { try await store.hostKeys() as Any },
            { try await store.list(after: nil, limit: 10) as Any },
            { try await store.pin(certificates.a, for: damaged) as Any },
            { try await store.recordVerification(of: certificates.a, for: damaged) as Any },
        ] as [@Sendable () async throws -> Any] {
            let error = await tofuError(read)
            guard case .damagedRow(let row, _)? = error else {
                Issue.record("a read of the damaged pin answered \(String(describing: error))")
                continue
            }
            #expect(row.host == damaged.description)
        }
        #expect(try await store.pin(for: sound)?.certificate == certificates.a)
        #expect(try await store.list(after: nil, limit: 10, host: sound).pins.count == 1)
    }

    @Test(arguments: StoreKind.all)
    func historyIsTheMostRecentEventsOldestFirst(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let kong = try hostKey("kong.example")
        let other = try hostKey("other.example")
        _ = try await store.pin(certificates.a, for: kong)
        _ = try await store.pin(certificates.a, for: other)
        // A mismatch, then the match after it: both changes (see PinStoreVerificationTests).
        _ = try await store.recordVerification(of: certificates.b, for: kong)
        _ = try await store.recordVerification(of: certificates.a, for: kong)
        _ = try await store.delete(other, expected: nil)
        _ = try await store.delete(kong, expected: nil)

        let all = try await store.history(host: nil, limit: 100)
        #expect(all.map(\.kind) == [.pinned, .pinned, .mismatch, .matched, .deleted, .deleted])
        #expect(all.map(\.host) == [kong, other, kong, kong, other, kong])
        #expect(all.map(\.at) == all.map(\.at).sorted())
        #expect(try await store.history(host: nil, limit: 2).map(\.kind) == [.deleted, .deleted])
        #expect(try await store.history(host: nil, limit: 2).map(\.host) == [other, kong])
        #expect(try await store.history(host: kong, limit: 2).map(\.kind) == [.matched, .deleted])
        #expect(try await store.history(host: kong, limit: 100).map(\.kind) == [.pinned, .mismatch, .matched, .deleted])
        #expect(try await store.history(host: try hostKey("never.example"), limit: 100).isEmpty)
    }

    @Test(arguments: StoreKind.all)
    func aServerIsRecordedUpdatedListedAndRemoved(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let dnac = try hostKey("dnac.example")
        let second = try hostKey("another-dnac.example")
        #expect(try await store.server(for: dnac) == nil)
        #expect(try await store.servers().isEmpty)

        let first = try await store.recordServer(dnac, username: "admin", fingerprint: certificates.a.sha256Fingerprint, authenticated: true)
        #expect(first.host == dnac)
        #expect(first.addedAt == first.lastCheckedAt)
        #expect(try await store.server(for: dnac) == first)
        try await Task.sleep(for: .milliseconds(1100))
        let updated = try await store.recordServer(dnac, username: "operator", fingerprint: certificates.b.sha256Fingerprint, authenticated: nil)
        #expect(updated.addedAt == first.addedAt, "the first add's time was not kept")
        #expect(updated.lastCheckedAt > first.lastCheckedAt)
        #expect(updated.username == "operator")
        #expect(updated.authenticated == nil)
        #expect(try await store.server(for: dnac) == updated)
        let added = try await store.recordServer(second, username: "admin", fingerprint: certificates.c.sha256Fingerprint, authenticated: false)
        #expect(try await store.servers() == [added, updated], "servers are listed in host-key order")

        guard case .server(let removed) = try await store.removeServer(dnac) else {
            Issue.record("the server was not removed as one")
            return
        }
        #expect(removed == updated)
        #expect(try await store.servers() == [added])
        await #expect(throws: TofuError.serverNotFound(host: dnac)) { try await store.removeServer(dnac) }
    }

    @Test(arguments: StoreKind.all)
    func aDamagedServerIsReportedAndRemovable(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let dnac = try hostKey("dnac.example")
        _ = try await store.recordServer(dnac, username: "admin", fingerprint: certificates.a.sha256Fingerprint, authenticated: true)
        try underTest.damage(.serverPort, of: dnac)
        guard case .damagedRow(let row, _)? = await tofuError({ try await store.server(for: dnac) }) else {
            Issue.record("a damaged server was read")
            return
        }
        #expect(row.table == "dnac_server")
        #expect(row.column == "port")
        guard case .damagedRow? = await tofuError({ try await store.servers() }) else {
            Issue.record("a damaged server was listed")
            return
        }
        // Recording over it is refused: remove it first.
        guard case .damagedRow? = await tofuError({ try await store.recordServer(dnac, username: "a", fingerprint: certificates.a.sha256Fingerprint, authenticated: nil) }) else {
            Issue.record("a damaged server was overwritten")
            return
        }
        guard case .damaged(let removed) = try await store.removeServer(dnac) else {
            Issue.record("the damaged server was not removed as damaged")
            return
        }
        #expect(removed == row)
        #expect(try await store.servers().isEmpty)
    }
}
