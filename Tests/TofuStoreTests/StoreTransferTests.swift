import Testing
import TofuCore

@testable import TofuStore

/// Moving a store (exportPage, importHost): on every backend, and from every backend to every other.
@Suite struct StoreTransferTests {
    /// A store with every kind of record: a pin under policy publicKey with a staged next
    /// certificate, a verification, servers with and without a pin and with authenticated
    /// true and unchecked, a host whose pin was deleted (history only), a pin replaced by another.
    static func populated(_ store: PinStore) async throws -> [HostKey] {
        let certificates = try await Certificates.get()
        let keys = try ["192.0.2.10_443", "192.0.2.2_443", "dnac.example.com_443", "2001:db8::5_8443", "192.0.2.30_443"].map(hostKey)
        _ = try await store.pin(certificates.a, for: keys[0], policy: .publicKey)
        _ = try await store.stage(certificates.c, for: keys[0])
        _ = try await store.recordVerification(of: certificates.a, for: keys[0])
        _ = try await store.recordServer(keys[0], username: "admin", fingerprint: certificates.a.sha256Fingerprint, authenticated: true)
        _ = try await store.pin(certificates.b, for: keys[1])
        _ = try await store.delete(keys[1], expected: nil)
        _ = try await store.pin(certificates.c, for: keys[1])
        _ = try await store.pin(certificates.b, for: keys[2])
        _ = try await store.recordServer(keys[2], username: "ops", fingerprint: certificates.b.sha256Fingerprint, authenticated: nil)
        _ = try await store.pin(certificates.a, for: keys[3])
        _ = try await store.delete(keys[3], expected: nil)
        _ = try await store.recordServer(keys[4], username: "nobody", fingerprint: certificates.b.sha256Fingerprint, authenticated: false)
        return keys
    }

    static func exportAll(_ store: PinStore, limit: Int) async throws -> [TransferRecord] {
        var records: [TransferRecord] = []
        var position: ExportPosition?
        var pages = 0
        repeat {
            let page = try await store.exportPage(after: position, limit: limit)
            #expect(page.records.count <= limit)
            records += page.records
            position = page.next
            pages += 1
        } while position != nil && pages < 10_000
        return records
    }

    /// The records as importPins groups them: each run of one host's records is one transfer.
    static func transfers(_ records: [TransferRecord]) -> [HostTransfer] {
        var transfers: [HostTransfer] = []
        for record in records {
            if transfers.last?.host != record.host { transfers.append(HostTransfer(host: record.host)) }
            switch record {
            case .pin(let pin): transfers[transfers.count - 1].pin = pin
            case .event(let event): transfers[transfers.count - 1].events.append(event)
            case .server(let server): transfers[transfers.count - 1].server = server
            }
        }
        return transfers
    }

    /// Imports host by host, or several hosts a transaction (`together`), as importPins does.
    static func importAll(_ records: [TransferRecord], into store: PinStore, replace: Bool = false, together: Int = 1) async throws -> [ImportOutcome] {
        var outcomes: [ImportOutcome] = []
        var hosts = transfers(records)[...]
        while !hosts.isEmpty {
            if together == 1 {
                outcomes.append(try await store.importHost(hosts.removeFirst(), replace: replace))
            } else {
                outcomes += try await store.importHosts(Array(hosts.prefix(together)), replace: replace)
                hosts = hosts.dropFirst(together)
            }
        }
        return outcomes
    }

    @Test(arguments: StoreKind.all)
    func anExportHoldsEveryRecordHostByHostWhateverThePageSize(kind: StoreKind) async throws {
        let store = try kind.make().store
        let keys = try await Self.populated(store)
        let whole = try await Self.exportAll(store, limit: 10_000)
        for limit in [1, 2, 3, 7] {
            #expect(try await Self.exportAll(store, limit: limit) == whole, "pages of \(limit)")
        }
        // Host by host in bytewise order; per host its pin, its events oldest first, its server.
        let transfers = Self.transfers(whole)
        #expect(transfers.map(\.host.description) == keys.map(\.description).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Set(transfers.map(\.host)).count == transfers.count, "a host's records are not together")
        for transfer in transfers {
            #expect(transfer.pin == (try await store.pin(for: transfer.host)))
            #expect(transfer.events == (try await store.history(host: transfer.host, limit: 100_000)))
            #expect(transfer.server == (try await store.server(for: transfer.host)))
            let own = whole.filter { $0.host == transfer.host }
            var expected: [TransferRecord] = transfer.pin.map { [.pin($0)] } ?? []
            expected += transfer.events.map(TransferRecord.event)
            expected += transfer.server.map { [.server($0)] } ?? []
            #expect(own == expected)
        }
        #expect(whole.count == 3 + (try await store.history(host: nil, limit: 100_000)).count + 3)
        let staged = try #require(transfers.first { $0.host == keys[0] }?.pin)
        #expect(staged.policy == .publicKey && staged.next != nil && staged.lastVerifiedAt != nil)
    }

    /// Export, import into a store of any kind, export again: the same records, times, policy,
    /// staged certificate, history and servers.
    @Test(arguments: StoreKind.all, StoreKind.all)
    func aMoveIsLossless(from source: StoreKind, to target: StoreKind) async throws {
        let from = try source.make().store
        let into = try target.make().store
        _ = try await Self.populated(from)
        let exported = try await Self.exportAll(from, limit: 3)
        let outcomes = try await Self.importAll(exported, into: into, together: 2)
        #expect(outcomes.allSatisfy { $0.status == .imported }, "\(outcomes)")
        #expect(outcomes.map(\.eventsAdded).reduce(0, +) == exported.filter { if case .event = $0 { true } else { false } }.count)
        #expect(try await Self.exportAll(into, limit: 1000) == exported)
        // Again: nothing is added twice.
        let again = try await Self.importAll(exported, into: into)
        #expect(again.allSatisfy { $0.status == .identical && $0.eventsAdded == 0 && !$0.serverAdded }, "\(again)")
        #expect(try await Self.exportAll(into, limit: 1000) == exported)
    }

    @Test(arguments: StoreKind.all)
    func aDifferentPinIsRefusedUnlessReplaced(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let source = try StoreKind.sqlite.make().store
        let target = try kind.make().store
        let key = try hostKey("192.0.2.10_443")
        _ = try await source.pin(certificates.a, for: key)
        _ = try await source.recordServer(key, username: "exported", fingerprint: certificates.a.sha256Fingerprint, authenticated: true)
        let exported = try await Self.exportAll(source, limit: 100)
        _ = try await target.pin(certificates.b, for: key)
        _ = try await target.recordServer(key, username: "local", fingerprint: certificates.b.sha256Fingerprint, authenticated: nil)
        let before = try await Self.exportAll(target, limit: 100)

        let refused = try await Self.importAll(exported, into: target)
        #expect(refused.map(\.status) == [.conflict])
        #expect(refused.first?.differences == ["certificate"])
        #expect(refused.first?.pinnedFingerprint == certificates.b.sha256Fingerprint)
        #expect(refused.first?.importedFingerprint == certificates.a.sha256Fingerprint)
        #expect(try await Self.exportAll(target, limit: 100) == before, "a refused host changed")

        let replaced = try await Self.importAll(exported, into: target, replace: true)
        #expect(replaced.map(\.status) == [.replaced])
        let pin = try #require(try await target.pin(for: key))
        #expect(pin == Self.transfers(exported).first?.pin)
        #expect(try await target.server(for: key)?.username == "exported")
        // The store's own history, then the imported one, then the replacement.
        // (Server additions are recorded too: they are not the pin's story.)
        let kinds = try await target.kinds(of: key).filter { $0 != .serverAdded }
        #expect(kinds == [.pinned, .pinned, .replaced], "\(kinds)")
        let history = try await target.history(host: key, limit: 10).filter { $0.kind != .serverAdded }
        #expect(history.last?.detail.contains("replaced \(certificates.b.sha256Fingerprint)") == true)
        #expect(history[1] == Self.transfers(exported).first?.events.first)
        // Replaced once, it is the same pin: importing again changes nothing.
        #expect(try await Self.importAll(exported, into: target, replace: true).map(\.status) == [.identical])
    }

    /// The same certificate under another policy, or with another staged certificate, is a
    /// different pin too: what a live handshake accepts would change.
    @Test(arguments: StoreKind.all)
    func aDifferentPolicyOrStagedCertificateIsAConflict(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let source = try StoreKind.sqlite.make().store
        let target = try kind.make().store
        let key = try hostKey("dnac.example.com_443")
        _ = try await source.pin(certificates.a, for: key, policy: .publicKey)
        _ = try await source.stage(certificates.b, for: key)
        let exported = try await Self.exportAll(source, limit: 100)
        _ = try await target.pin(certificates.a, for: key)
        #expect(try await Self.importAll(exported, into: target).first?.differences == ["policy", "next"])
        _ = try await target.setPolicy(.publicKey, for: key)
        _ = try await target.stage(certificates.c, for: key)
        #expect(try await Self.importAll(exported, into: target).first?.differences == ["next"])
        _ = try await target.stage(certificates.b, for: key)
        // The same trust: the store's record of the host stands as it is.
        let before = try await Self.exportAll(target, limit: 100)
        let same = try #require(try await Self.importAll(exported, into: target).first)
        #expect(same.status == .identical && same.differences.isEmpty && same.eventsAdded == 0, "\(same)")
        #expect(try await Self.exportAll(target, limit: 100) == before)
        #expect(try await target.pin(for: key)?.policy == .publicKey)
    }

    /// A row that cannot be read stops the export, naming it: it is never left out silently.
    @Test(arguments: StoreKind.all)
    func aDamagedRowStopsTheExport(kind: StoreKind) async throws {
        let underTest = try kind.make()
        let keys = try await Self.populated(underTest.store)
        try underTest.damage(.pinCertificate, of: keys[2])
        let error = await tofuError { try await Self.exportAll(underTest.store, limit: 2) }
        guard case .damagedRow(let row, _)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(row.table == "pin" && row.host == keys[2].description)
    }

    /// Importing while other connections write the same hosts: each host ends with exactly one
    /// pin, the one of whoever came first, and the import's report says which.
    @Test(arguments: StoreKind.all)
    func anImportRacingAnotherWriterStaysConsistent(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let source = try StoreKind.sqlite.make().store
        let keys = try (0..<30).map { try hostKey("h\($0).example") }
        for key in keys { _ = try await source.pin(certificates.a, for: key) }
        let exported = try await Self.exportAll(source, limit: 1000)
        let underTest = try kind.make()
        let other = underTest.another()
        // Some hosts are the other writer's for sure; the rest are raced for.
        var othersPins: Set<HostKey> = []
        for key in keys.prefix(5) {
            _ = try await other.pin(certificates.b, for: key)
            othersPins.insert(key)
        }
        let store = underTest.store
        let imported = Task { try await Self.importAll(exported, into: store, together: 4) }
        for key in keys.dropFirst(5).reversed() {
            do {
                if try await other.pin(certificates.b, for: key).1 == .pinned { othersPins.insert(key) }
            } catch {
                guard case .certificateMismatch = error else { throw error }
            }
        }
        let outcomes = try await imported.value
        for outcome in outcomes {
            let pin = try #require(try await underTest.store.pin(for: outcome.host))
            if othersPins.contains(outcome.host) {
                #expect(outcome.status == .conflict && pin.certificate.sha256Fingerprint == certificates.b.sha256Fingerprint)
            } else {
                #expect(outcome.status == .imported && pin.certificate.sha256Fingerprint == certificates.a.sha256Fingerprint)
            }
            #expect(try await underTest.store.kinds(of: outcome.host) == [.pinned], "\(outcome.host)")
        }
        #expect(outcomes.count == keys.count)
        #expect(outcomes.filter { $0.status == .conflict }.count >= 5)
        await other.close()
    }
}
