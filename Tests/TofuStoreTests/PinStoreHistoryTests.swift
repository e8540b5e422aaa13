import Foundation
import GRDB
import Posix
import TestSupport
import Testing
import TofuCore

@testable import TofuStore

/// The history: filtered by event and time, pruned, the DNA Center servers' events, details
/// that cannot be read as PI's fields, and the observer that hears of each committed change;
/// and the store's backup. On every backend.
@Suite struct PinStoreHistoryTests {
    /// A history of three hosts: pinned, mismatched, deleted, a server added and removed.
    static func seed(_ store: PinStore, _ certificates: Certificates) async throws -> (HostKey, HostKey, HostKey) {
        let (a, b, c) = (try hostKey("a.example"), try hostKey("b.example"), try hostKey("c.example"))
        _ = try await store.pin(certificates.a, for: a)
        _ = try await store.pin(certificates.b, for: b)
        _ = try await store.recordVerification(of: certificates.c, for: a)
        _ = try await store.delete(b, expected: nil)
        _ = try await store.recordServer(c, username: "admin", fingerprint: certificates.c.sha256Fingerprint, authenticated: true)
        _ = try await store.removeServer(c)
        return (a, b, c)
    }

    @Test(arguments: StoreKind.all)
    func theHistoryIsFilteredByEventAndTime(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let (a, b, _) = try await Self.seed(store, certificates)
        let all = try await store.history(host: nil, limit: 100)
        #expect(all.map(\.kind) == [.pinned, .pinned, .mismatch, .deleted, .serverAdded, .serverRemoved])

        #expect(try await store.history(host: nil, kinds: [.pinned], limit: 100).map(\.host) == [a, b])
        #expect(try await store.history(host: nil, kinds: [.mismatch, .deleted], limit: 100).map(\.kind) == [.mismatch, .deleted])
        #expect(try await store.history(host: b, kinds: [.pinned, .deleted], limit: 100).map(\.kind) == [.pinned, .deleted])
        // The most recent N of those that match, oldest first.
        #expect(try await store.history(host: nil, kinds: [.pinned, .deleted], limit: 2).map(\.kind) == [.pinned, .deleted])

        // Since: at or after a time. Every event so far is at or before now; none is after tomorrow.
        let now = Timestamp.now()
        #expect(try await store.history(host: nil, since: Timestamp.now(plusDays: 1), limit: 100).isEmpty)
        #expect(try await store.history(host: nil, since: Timestamp.now(plusDays: -1), limit: 100).count == all.count)
        let first = try #require(all.first)
        #expect(try await store.history(host: nil, since: first.at, limit: 100).count == all.count, "since is inclusive")
        #expect(try await store.history(host: a, kinds: [.mismatch], since: first.at, limit: 100).map(\.kind) == [.mismatch])
        #expect(all.allSatisfy { $0.at <= now })
    }

    @Test(arguments: StoreKind.all)
    func pruningDeletesOnlyWhatIsOlderAndIsCommittedAtOnce(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let (a, b, c) = try await Self.seed(store, certificates)
        let total = try await store.history(host: nil, limit: 100).count
        // Nothing is older than yesterday.
        #expect(try await store.pruneHistory(before: Timestamp.now(plusDays: -1), host: nil) == 0)
        // One host's events before tomorrow: all of its own, no other host's.
        #expect(try await store.pruneHistory(before: Timestamp.now(plusDays: 1), host: b) == 2)
        #expect(try await store.history(host: b, limit: 100).isEmpty)
        #expect(try await store.history(host: nil, limit: 100).count == total - 2)
        // Everything before tomorrow; another process sees it gone at once. Pins stay.
        #expect(try await store.pruneHistory(before: Timestamp.now(plusDays: 1), host: nil) == total - 2)
        let other = underTest.another()
        #expect(try await other.history(host: nil, limit: 100).isEmpty)
        #expect(try await other.pin(for: a)?.certificate == certificates.a)
        #expect(try await other.pin(for: c) == nil)
        await other.close()
        // Pruning is not itself an event: the history is empty, not one line long.
        #expect(try await store.history(host: nil, limit: 100).isEmpty)
    }

    @Test(arguments: StoreKind.all)
    func serversAddedAndRemovedAndRefusedCredentialsAreRecorded(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("dnac.example")
        let fingerprint = certificates.a.sha256Fingerprint
        _ = try await store.recordServer(host, username: "admin", fingerprint: fingerprint, authenticated: nil)
        try await store.recordRefusedCredentials(for: host, fingerprint: fingerprint, username: "operator", why: "HTTP 401 on /dna/system/api/v1/auth/token")
        let again = try await store.recordServer(host, username: "operator", fingerprint: fingerprint, authenticated: true)
        _ = try await store.removeServer(host)
        let events = try await store.history(host: host, limit: 100)
        #expect(events.map(\.kind) == [.serverAdded, .credentialsRefused, .serverAdded, .serverRemoved])
        #expect(events.allSatisfy { $0.sha256Fingerprint == fingerprint })
        #expect(events[0].detail == "username: admin | credentials: not checked")
        #expect(events[1].detail == "username: operator | HTTP 401 on /dna/system/api/v1/auth/token")
        #expect(events[2].detail == "username: operator | credentials: accepted | added again, first added \(again.addedAt)")
        #expect(events[3].detail.hasPrefix("username: operator | first added \(again.addedAt)"))
    }

    /// A detail is printed inside a PI-format line (`tofu history`: `…;  detail=<detail>`): its
    /// parts are joined by " | " and labelled "name: value", never "; " or "name=value".
    @Test(arguments: StoreKind.all)
    func detailsCannotBeReadAsPIFields(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        _ = try await Self.seed(store, certificates)
        _ = try await store.pin(certificates.a, for: host, policy: .publicKey)
        _ = try await store.stage(certificates.b, for: host)
        _ = try await store.stage(certificates.c, for: host)
        _ = try await store.unstage(host, expected: nil)
        _ = try await store.recordVerification(of: certificates.aRenewed, for: host)
        _ = try await store.trustOnFirstUse(certificates.b, for: host, accepting: certificates.c.sha256Fingerprint)
        let events = try await store.history(host: nil, limit: 100)
        #expect(events.count >= 10)
        for event in events {
            #expect(!event.detail.contains(";"), "\(event.kind): \(event.detail)")
            #expect(event.detail.firstMatch(of: /[A-Za-z0-9]=/) == nil, "\(event.kind): \(event.detail)")
        }
        let renewal = try #require(events.first { $0.kind == .renewed })
        #expect(renewal.detail.contains(" | was: \(certificates.a.sha256Fingerprint) | was serial: \(certificates.a.serialNumber)"), "\(renewal.detail)")
    }

    /// The observer hears of each event once it is committed, in order, and of nothing that
    /// was not committed.
    @Test(arguments: StoreKind.all)
    func theObserverHearsOfEveryCommittedChange(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let heard = Heard()
        store.observe { notice in
            let line: String = switch notice {
            case .recorded(let event): "\(event.kind.rawValue) \(event.host)"
            case .imported(let event): "imported \(event.kind.rawValue) \(event.host)"
            case .pruned(let count, _, let host): "pruned \(count) \(host.map(\.description) ?? "all")"
            case .backedUp(let summary): "backup \(summary.pins)"
            }
            heard.lines.withLock { $0.append(line) }
        }
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        // A refusal commits nothing, and nothing is heard.
        await #expect(throws: TofuError.self) { try await store.pin(certificates.b, for: host) }
        _ = try await store.recordVerification(of: certificates.b, for: host)
        _ = try await store.delete(host, expected: nil)
        _ = try await store.pruneHistory(before: Timestamp.now(plusDays: 1), host: host)
        #expect(heard.lines.withLock { $0 } == ["pinned kong.example_443", "mismatch kong.example_443", "deleted kong.example_443", "pruned 3 kong.example_443"])
    }

    @Test(arguments: StoreKind.all)
    func aBackupIsAConsistentCopyOrARefusal(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        _ = try await Self.seed(store, certificates)
        let destination = temporaryDirectory("tofu-backup-suite") + "/copy.sqlite"
        guard kind.name == "SQLite" else {
            // A PostgreSQL store says what to use instead, and writes nothing.
            guard case .storeUnavailable(let reason)? = await tofuError({ try await store.backup(to: destination) }) else { return }
            #expect(reason.contains("pg_dump --schema="), "\(reason)")
            #expect(!FileManager.default.fileExists(atPath: destination))
            return
        }
        let summary = try await store.backup(to: destination)
        #expect(summary.pins == 1 && summary.servers == 0 && summary.events == 6, "\(summary)")
        #expect(summary.bytes > 0)
        var info = stat()
        #expect(stat(destination, &info) == 0 && info.st_mode & 0o777 == 0o600, "the copy is readable by others")
        // The copy is a tofu store of its own: one file, whole, with the same pins and history.
        let copy = PinStore(path: destination)
        #expect(try await copy.pin(for: try hostKey("a.example"))?.certificate == certificates.a)
        #expect(try await copy.history(host: nil, limit: 100).count == 6)
        await copy.close()
        let entries = try FileManager.default.contentsOfDirectory(atPath: (destination as NSString).deletingLastPathComponent)
        #expect(entries.filter { $0.hasPrefix(".tofu-backup-") }.isEmpty, "a temporary file was left: \(entries)")
        // A backup never overwrites: the copy stays as it was.
        let before = FileManager.default.contents(atPath: destination)
        guard case .invalidParameter(let field, _)? = await tofuError({ try await store.backup(to: destination) }) else { return }
        #expect(field == "path")
        #expect(FileManager.default.contents(atPath: destination) == before)
    }
}

/// What an observer heard, from the store's thread.
final class Heard: Sendable {
    let lines = Locked<[String]>([])
}
