import Foundation
import Posix
import Synchronization
import TofuCore
import TofuTLS

/// The pin store of one process: pins, their history and the DNA Center servers, over a
/// backend that several processes may share (an SQLite file).
///
/// The actor owns its backend and runs on a thread of its own (`StoreExecutor`), so the
/// blocking database calls of its methods run inside its isolation, never on Swift's
/// cooperative pool, and that isolation is what serialises the use of its connections. Every
/// decision is made here, once, over the backend's primitives; every change is one backend
/// transaction, committed before the method returns, so an answer never reports a change that
/// is not durable, and check-and-set (pin if absent, compare if present) holds across
/// processes too. The backend is opened on first use; if that fails, the next call tries again.
///
/// A thread of its own that must wait for the store (a TLS probe deciding between handshake
/// and first byte, the input thread answering a point read) calls it with `blocking` or
/// `ifIdle`, which run the call on that thread inside the store's isolation: no task, no hop.
public actor PinStore {
    public let path: String
    private let executor = StoreExecutor(name: "tofu store")
    private let opener: @Sendable () throws(TofuError) -> any StoreBackend
    /// Nil until the first call, and again after `close` or a failure that left it unusable.
    private var backend: (any StoreBackend)?
    /// Told of every committed change (see `observe`). Boxed in a class: a closure kept in
    /// `Locked` itself came back from each access wrapped in two more reabstraction thunks, so
    /// each notice cost more than the last, and a process stopped with a stack overflow after
    /// about 32,000 writes.
    private nonisolated let observer = Locked<Observer?>(nil)
    /// Which run of point reads `list(…, sharingSnapshot: true)` reads in: one more at each
    /// `endReadRun`.
    private nonisolated let readRun = Atomic<UInt64>(0)
    /// Whether a shared snapshot may be open: set by each read in one, cleared once it is ended.
    private nonisolated let mayShareSnapshot = Atomic<Bool>(false)
    /// An SQLite store's point reads on the calling thread's own connection (`pointRead`).
    private nonisolated let pointReader: PointReader?
    /// Why `backup` cannot copy this store, when it cannot (a PostgreSQL store).
    public nonisolated let backupRefusal: String?
    /// Whether a read may wait on the network (a PostgreSQL store): then no thread that must
    /// never wait for a peer (the input thread) may read it, even when the store is idle.
    public nonisolated let readsOverNetwork: Bool

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The SQLite store at `path`; `busyTimeout` bounds the wait for another process's lock.
    public init(path: String, busyTimeout: TimeInterval = 5) {
        self.init(path: path, pointReader: PointReader(path: path)) { () throws(TofuError) in try SQLiteBackend(path: path, busyTimeout: busyTimeout) }
    }

    /// The store at `location`: a PostgreSQL URI (`postgresql://…`, `postgres://…`) or else an
    /// SQLite file. `timeoutMilliseconds` bounds every wait for the database: another process's
    /// lock, and for PostgreSQL connecting and each statement too. `path` shows a URI without
    /// its user and password.
    public init(location: String, timeoutMilliseconds: Int) {
        if StoreLocation.isPostgreSQL(location) {
            let redacted = StoreLocation.redacted(location)
            self.init(path: redacted, backupRefusal: PGSchema.backupAdvice(location: redacted), readsOverNetwork: true) { () throws(TofuError) in
                try PostgreSQLBackend(uri: location, timeoutMilliseconds: timeoutMilliseconds)
            }
        } else {
            self.init(path: location, busyTimeout: Double(timeoutMilliseconds) / 1000)
        }
    }

    /// A store that answers every call with `error` (e.g. no location could be found).
    public init(unusable error: TofuError) {
        self.init(path: "") { () throws(TofuError) in throw error }
    }

    /// A store over the backend `open` opens, on the store's thread, at the first call.
    init(
        path: String, backupRefusal: String? = nil, readsOverNetwork: Bool = false, pointReader: PointReader? = nil,
        opening open: @escaping @Sendable () throws(TofuError) -> any StoreBackend
    ) {
        self.path = path
        self.pointReader = pointReader
        self.backupRefusal = backupRefusal
        self.readsOverNetwork = readsOverNetwork
        self.opener = open
    }

    /// Calls `body` with every change once it is committed (on the store's thread, inside its
    /// isolation, in commit order): each history event, a pruning, a backup. How tofu-rpc logs
    /// its trust decisions. Replaces an earlier observer.
    public nonisolated func observe(_ body: @escaping @Sendable (StoreNotice) -> Void) {
        let boxed = Observer(body)
        observer.withLock { $0 = boxed }
    }

    private final class Observer: Sendable {
        let body: @Sendable (StoreNotice) -> Void
        init(_ body: @escaping @Sendable (StoreNotice) -> Void) { self.body = body }
    }

    deinit {
        executor.stop()
    }

    // MARK: - Pins

    /// Pins `certificate` for `host` if nothing is pinned, under `policy` (default: certificate);
    /// `.matched` if the same certificate is (and `policy`, when given, becomes its policy); a
    /// different pin throws `.certificateMismatch` and changes nothing.
    public func pin(_ certificate: CertificateSummary, for host: HostKey, policy: PinPolicy? = nil) throws(TofuError) -> (Pin, PinStatus) {
        try write(locking: host) { tx in
            if var existing = try tx.pin(host) {
                guard existing.certificate.sha256Fingerprint == certificate.sha256Fingerprint else {
                    throw TofuError.certificateMismatch(host: host, pinned: existing, presented: certificate, expectedFingerprint: nil)
                }
                if let policy, policy != existing.policy { existing = try Self.change(existing, to: policy, tx) }
                return (existing, .matched)
            }
            let pin = Pin(host: host, certificate: certificate, pinnedAt: Timestamp.now(), policy: policy ?? .certificate)
            try tx.insert(pin)
            try tx.record(
                HistoryEvent(at: pin.pinnedAt, host: host, kind: .pinned, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + Self.policyWords(pin.policy)))
            return (pin, .pinned)
        }
    }

    /// Stages `certificate` as the next one of the pin of `host`, replacing what was staged:
    /// the certificate the host will present after a planned rotation. Nothing is promoted
    /// here; a live handshake that presents it does that (`recordVerification`,
    /// `trustOnFirstUse`). No pin throws `.certNotFound`; the pinned certificate itself throws
    /// `.invalidParameter` (field pem).
    public func stage(_ certificate: CertificateSummary, for host: HostKey) throws(TofuError) -> Pin {
        try write(locking: host) { tx in
            guard var pin = try tx.pin(host) else { throw TofuError.certNotFound(host: host) }
            if pin.certificate.sha256Fingerprint == certificate.sha256Fingerprint {
                throw TofuError.invalidParameter(
                    field: "pem", reason: "is the certificate already pinned for \(host) (\(certificate.sha256Fingerprint)): stage the certificate the host will present after the rotation")
            }
            if pin.next?.certificate.sha256Fingerprint == certificate.sha256Fingerprint { return pin }
            let now = Timestamp.now()
            let replaced = pin.next.map { " | replaces staged: \($0.certificate.sha256Fingerprint)" } ?? ""
            pin.next = StagedCertificate(certificate: certificate, stagedAt: now)
            try tx.update(pin)
            try tx.record(
                HistoryEvent(at: now, host: host, kind: .staged, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + " | pinned: \(pin.certificate.sha256Fingerprint)" + replaced))
            return pin
        }
    }

    /// Removes the staged next certificate of `host`, leaving its pin; with `expected`, only if
    /// the staged certificate is that one. Returns the pin as it was (with `next`).
    public func unstage(_ host: HostKey, expected: Fingerprint?) throws(TofuError) -> Pin {
        try write(locking: host) { tx in
            guard let pin = try tx.pin(host) else { throw TofuError.certNotFound(host: host) }
            guard let next = pin.next else { throw TofuError.nothingStaged(host: host) }
            if let expected, expected != next.certificate.sha256Fingerprint {
                throw TofuError.stagedMismatch(host: host, pin: pin, expectedFingerprint: expected)
            }
            var unstaged = pin
            unstaged.next = nil
            try tx.update(unstaged)
            try tx.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .unstaged, sha256Fingerprint: next.certificate.sha256Fingerprint,
                             detail: Self.describe(next.certificate) + " | the pin \(pin.certificate.sha256Fingerprint) stays"))
            return pin
        }
    }

    /// Sets the policy of the pin of `host`; no pin throws `.certNotFound`.
    public func setPolicy(_ policy: PinPolicy, for host: HostKey) throws(TofuError) -> Pin {
        try write(locking: host) { tx in
            guard let pin = try tx.pin(host) else { throw TofuError.certNotFound(host: host) }
            return pin.policy == policy ? pin : try Self.change(pin, to: policy, tx)
        }
    }

    private static func change(_ pin: Pin, to policy: PinPolicy, _ tx: any StoreTransaction) throws -> Pin {
        var changed = pin
        changed.policy = policy
        try tx.update(changed)
        try tx.record(
            HistoryEvent(at: Timestamp.now(), host: pin.host, kind: .policyChanged, sha256Fingerprint: pin.certificate.sha256Fingerprint,
                         detail: "policy \(pin.policy.rawValue) -> \(policy.rawValue)"))
        return changed
    }

    /// What a completed handshake that presented `presented` does to `pin`, inside the caller's
    /// transaction: the staged certificate is promoted, a same-key renewal (policy publicKey)
    /// replaces the certificate; nil for anything else (a match or a mismatch changes no pin).
    private static func advance(_ pin: Pin, presenting presented: CertificateSummary, at now: String, _ tx: any StoreTransaction) throws -> (Pin, PinStatus)? {
        let kind: HistoryEvent.Kind
        let status: PinStatus
        switch judge(pin, presented) {
        case .pinned, .sameKey, .different: return nil
        case .next: (kind, status) = (.rotated, .rotated)
        case .renewal: (kind, status) = (.renewed, .renewed)
        }
        var advanced = pin
        advanced.certificate = presented
        advanced.pinnedAt = now
        advanced.lastVerifiedAt = now
        // A renewal keeps what is staged, unless it is what was just presented.
        if status == .rotated || advanced.next?.certificate.sha256Fingerprint == presented.sha256Fingerprint { advanced.next = nil }
        try tx.update(advanced)
        let words = status == .rotated ? "promoted the staged certificate" : "renewed with the same public key"
        try tx.record(
            HistoryEvent(at: now, host: pin.host, kind: kind, sha256Fingerprint: presented.sha256Fingerprint,
                         detail: "\(words) | now " + describe(presented) + " | was: \(pin.certificate.sha256Fingerprint) | was serial: \(pin.certificate.serialNumber)"))
        return (advanced, status)
    }

    /// Deletes the pin of `host`; with `expected`, only if the pin is that certificate.
    /// A damaged pin row is deleted too (that is how an operator repairs it): without
    /// `expected`, or when its fingerprint column holds exactly `expected`.
    public func delete(_ host: HostKey, expected: Fingerprint?) throws(TofuError) -> Deletion {
        try write(locking: host) { tx in
            let deletion: Deletion
            let fingerprint: Fingerprint
            let detail: String
            do {
                guard let existing = try tx.pin(host) else { throw TofuError.certNotFound(host: host) }
                if let expected, expected != existing.certificate.sha256Fingerprint {
                    throw TofuError.certificateMismatch(host: host, pinned: existing, presented: nil, expectedFingerprint: expected)
                }
                (deletion, fingerprint, detail) = (.pin(existing), existing.certificate.sha256Fingerprint, Self.describe(existing.certificate))
            } catch let damage as RowDamage {
                let stored = try tx.storedFingerprint(host)
                // A damaged row cannot be shown to differ from `expected`: deleted only if it holds exactly that.
                if let expected, stored != expected { throw damage }
                // The audit trail keeps the deletion; all zeros stand for a fingerprint that could not be read.
                fingerprint = stored ?? Fingerprint(digest: [UInt8](repeating: 0, count: 32))
                deletion = .damaged(damage.row)
                detail = "deleted a damaged row (id \(damage.row.rowid)): \(damage.row.problem)"
            }
            try tx.deletePin(host)
            try tx.record(HistoryEvent(at: Timestamp.now(), host: host, kind: .deleted, sha256Fingerprint: fingerprint, detail: detail))
            return deletion
        }
    }

    /// Compares what `host` presented in a completed handshake with its pin, in one
    /// transaction: a match sets `lastVerifiedAt`; the staged certificate is promoted
    /// (`rotated`), a same-key renewal under policy publicKey replaces the stored certificate
    /// (`renewed`); no pin changes nothing. Never pins a host that has no pin, never deletes.
    /// The history records a change, not every look (a `verifyCert {all}` every hour would
    /// otherwise bury the pins' story): a mismatch is recorded unless the host's last verdict
    /// is already this very mismatch, a match only when it follows a mismatch.
    /// `beforeChanging` is asked inside the transaction before a promotion or renewal: false
    /// (the caller was cancelled) throws `.cancelled` and nothing is written.
    public func recordVerification(
        of presented: CertificateSummary, for host: HostKey, beforeChanging: @escaping @Sendable () -> Bool = { true }
    ) throws(TofuError) -> Verification {
        try write(locking: host) { tx in
            guard var pin = try tx.pin(host) else { return .unpinned }
            let now = Timestamp.now()
            let last = try Self.lastVerdict(of: host, tx)
            // Set when the last verdict is a mismatch: a match now is a change worth recording.
            let afterMismatch = last.flatMap { $0.kind == .mismatch ? " | matches again after the mismatch of \($0.at) (presented \($0.sha256Fingerprint))" : nil }
            if pin.certificate.sha256Fingerprint == presented.sha256Fingerprint {
                try tx.touch(host, verifiedAt: now)
                pin.lastVerifiedAt = now
                if let afterMismatch {
                    try tx.record(
                        HistoryEvent(at: now, host: host, kind: .matched, sha256Fingerprint: presented.sha256Fingerprint,
                                     detail: Self.describe(presented) + afterMismatch))
                }
                return .match(pin)
            }
            switch Self.judge(pin, presented) {
            case .next, .renewal:
                guard beforeChanging() else { throw TofuError.cancelled }
                if let (advanced, status) = try Self.advance(pin, presenting: presented, at: now, tx) {
                    return status == .rotated ? .rotated(advanced, previous: pin.certificate) : .renewed(advanced, previous: pin.certificate)
                }
            case .sameKey:
                try tx.touch(host, verifiedAt: now)
                pin.lastVerifiedAt = now
                if let afterMismatch {
                    try tx.record(
                        HistoryEvent(at: now, host: host, kind: .matched, sha256Fingerprint: presented.sha256Fingerprint,
                                     detail: "presented " + Self.describe(presented) + " | an older certificate with the pinned public key (policy publicKey): the pin \(pin.certificate.sha256Fingerprint) stays" + afterMismatch))
                }
                return .matchedByKey(pin)
            case .pinned, .different:
                break
            }
            // The same mismatch seen again is not news; another certificate, or one after a match, is.
            if !(last?.kind == .mismatch && last?.sha256Fingerprint == presented.sha256Fingerprint) {
                try tx.record(
                    HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                                 detail: "presented " + Self.describe(presented) + " | " + Self.pinWords(pin)))
            }
            return .mismatch(pin)
        }
    }

    /// Trust on first use, in one transaction (so across processes too): pins
    /// `presented` if nothing is pinned, else compares. `accepting` means "this certificate
    /// and no other": when it is not the presented one, nothing is pinned (`.notAccepted`),
    /// pinned or not; when it is, a different pin is accepted for replacement but not
    /// replaced yet. Mismatches with a pin are recorded in the history.
    /// A staged certificate presented is promoted, and a same-key renewal under policy
    /// publicKey accepted, here (`.rotated`, `.renewed`). `beforePinning` is asked inside the
    /// transaction, just before a first-use pin, a promotion or a renewal is written: false (the
    /// caller was cancelled) throws `.cancelled` and nothing is written.
    /// `policy`, when given, is the policy of a first-use pin, and becomes that of a pin that
    /// matched, rotated or renewed (history `policyChanged`).
    public func trustOnFirstUse(
        _ presented: CertificateSummary, for host: HostKey, accepting: Fingerprint?, policy: PinPolicy? = nil,
        beforePinning: @escaping @Sendable () -> Bool = { true }
    ) throws(TofuError) -> TofuDecision {
        try write(locking: host) { tx in
            let now = Timestamp.now()
            let pinned = try tx.pin(host)
            if let accepting, accepting != presented.sha256Fingerprint {
                if let pinned, pinned.certificate.sha256Fingerprint != presented.sha256Fingerprint {
                    try tx.record(
                        HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                                     detail: "presented " + Self.describe(presented) + " | " + Self.pinWords(pinned) + " | accepted: \(accepting)"))
                }
                return .notAccepted(current: pinned)
            }
            guard let current = pinned else {
                guard beforePinning() else { throw TofuError.cancelled }
                let pin = Pin(host: host, certificate: presented, pinnedAt: now, policy: policy ?? .certificate)
                try tx.insert(pin)
                try tx.record(
                    HistoryEvent(at: now, host: host, kind: .pinned, sha256Fingerprint: presented.sha256Fingerprint,
                                 detail: Self.describe(presented) + Self.policyWords(pin.policy)))
                return .pinned(pin)
            }
            // A policy change is a change like any other: only once the caller may no longer cancel.
            func withPolicy(_ pin: Pin) throws -> (Pin, changed: Bool) {
                guard let policy, policy != pin.policy else { return (pin, false) }
                guard beforePinning() else { throw TofuError.cancelled }
                return (try Self.change(pin, to: policy, tx), true)
            }
            switch Self.judge(current, presented) {
            case .pinned, .sameKey:
                let (pin, changed) = try withPolicy(current)
                return .matched(pin, policyChanged: changed)
            case .next, .renewal:
                // The handshake proved the host holds the staged (or the pinned) key: the pin
                // moves on before a byte is sent, so the credentials go to the checked pin.
                guard beforePinning() else { throw TofuError.cancelled }
                if let (advanced, status) = try Self.advance(current, presenting: presented, at: now, tx) {
                    let pin = try withPolicy(advanced).0
                    return status == .rotated ? .rotated(pin, previous: current.certificate) : .renewed(pin, previous: current.certificate)
                }
            case .different:
                break
            }
            if accepting == presented.sha256Fingerprint { return .replacementAccepted(current: current) }
            try tx.record(
                HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                             detail: "presented " + Self.describe(presented) + " | " + Self.pinWords(current)))
            return .mismatch(current: current)
        }
    }

    /// Records in the history that `host` presented `presented` where another certificate was
    /// expected (e.g. a reconnection of the token request), whatever is pinned: `why` says where.
    public func recordMismatch(_ presented: CertificateSummary, for host: HostKey, why: String) throws(TofuError) {
        try write(locking: host) { tx in
            try tx.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                             detail: "presented " + Self.describe(presented) + " | " + why))
        }
    }

    /// Replaces the pin of `host`, which must still be `expected`, with `certificate`: the old
    /// row's deletion and the new one's insertion are one transaction, so the host is never
    /// without a pin. Called once the certificate was accepted
    /// and the credentials with it, so what another process did meanwhile is settled honestly:
    /// a pin deleted meanwhile gives way to `certificate` (`.pinned`); a pin already replaced
    /// by `certificate` is `.matched`; a pin changed to a third certificate throws
    /// `.certificateMismatch` and nothing changes.
    /// The replacement keeps the pin's policy, or takes `policy` when given.
    public func replace(_ host: HostKey, expected: Fingerprint, with certificate: CertificateSummary, policy: PinPolicy? = nil) throws(TofuError) -> (Pin, PinStatus) {
        try write(locking: host) { tx in
            let now = Timestamp.now()
            let pin = Pin(host: host, certificate: certificate, pinnedAt: now, policy: policy ?? .certificate)
            guard let current = try tx.pin(host) else {
                try tx.insert(pin)
                try tx.record(
                    HistoryEvent(at: now, host: host, kind: .pinned, sha256Fingerprint: certificate.sha256Fingerprint,
                                 detail: Self.describe(certificate) + " | accepted to replace \(expected), which had been deleted meanwhile"))
                return (pin, .pinned)
            }
            if current.certificate.sha256Fingerprint == certificate.sha256Fingerprint {
                guard let policy, policy != current.policy else { return (current, .matched) }
                return (try Self.change(current, to: policy, tx), .matched)
            }
            guard current.certificate.sha256Fingerprint == expected else {
                throw TofuError.certificateMismatch(host: host, pinned: current, presented: certificate, expectedFingerprint: expected)
            }
            // The policy stays; so does a staged certificate, unless it is the one now pinned.
            var replacement = pin
            replacement.policy = policy ?? current.policy
            replacement.next = current.next?.certificate.sha256Fingerprint == certificate.sha256Fingerprint ? nil : current.next
            try tx.update(replacement)
            try tx.record(
                HistoryEvent(at: now, host: host, kind: .replaced, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + " | replaced: \(expected)"))
            if replacement.policy != current.policy {
                try tx.record(
                    HistoryEvent(at: now, host: host, kind: .policyChanged, sha256Fingerprint: certificate.sha256Fingerprint,
                                 detail: "policy \(current.policy.rawValue) -> \(replacement.policy.rawValue)"))
            }
            return (replacement, .replaced)
        }
    }

    // MARK: - DNA Center servers

    /// Records (or updates) an added server, and the addition in the history (`serverAdded`);
    /// `addedAt` is kept from the first add. A damaged record of it throws `.damagedRow` and
    /// changes nothing (remove it first).
    public func recordServer(_ host: HostKey, username: String, fingerprint: Fingerprint, authenticated: Bool?) throws(TofuError) -> DnacServer {
        try write(locking: host) { tx in
            let now = Timestamp.now()
            let earlier = try tx.server(host)
            let server = DnacServer(
                host: host, username: username, pinnedFingerprint: fingerprint, addedAt: earlier?.addedAt ?? now, lastCheckedAt: now,
                authenticated: authenticated)
            try tx.save(server)
            let credentials = authenticated == true ? "accepted" : "not checked"
            try tx.record(
                HistoryEvent(at: now, host: host, kind: .serverAdded, sha256Fingerprint: fingerprint,
                             detail: "username: \(username) | credentials: \(credentials)" + (earlier.map { " | added again, first added \($0.addedAt)" } ?? "")))
            return server
        }
    }

    /// Records in the history that the DNA Center at `host`, whose certificate `fingerprint` was
    /// checked, refused the credentials of `username` (`credentialsRefused`); `why` says how
    /// (the HTTP status and path). Never the password.
    public func recordRefusedCredentials(for host: HostKey, fingerprint: Fingerprint, username: String, why: String) throws(TofuError) {
        try write(locking: host) { tx in
            try tx.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .credentialsRefused, sha256Fingerprint: fingerprint,
                             detail: "username: \(username) | \(why)"))
        }
    }

    /// Every recorded server, in host-key order.
    public func servers() throws(TofuError) -> [DnacServer] {
        try read { tx in try tx.servers() }
    }

    /// The recorded server of `host`, if any.
    public func server(for host: HostKey) throws(TofuError) -> DnacServer? {
        try read { tx in try tx.server(host) }
    }

    /// Forgets a server; its pin stays (delete it with `delete` if wanted). A damaged record
    /// is removed too: that is how an operator repairs it.
    public func removeServer(_ host: HostKey) throws(TofuError) -> Removal {
        try write(locking: host) { tx in
            let removal: Removal
            let event: HistoryEvent
            do {
                guard let server = try tx.server(host) else { throw TofuError.serverNotFound(host: host) }
                removal = .server(server)
                event = HistoryEvent(
                    at: Timestamp.now(), host: host, kind: .serverRemoved, sha256Fingerprint: server.pinnedFingerprint,
                    detail: "username: \(server.username) | first added \(server.addedAt) | the pin stays")
            } catch let damage as RowDamage {
                removal = .damaged(damage.row)
                // All zeros stand for a fingerprint that could not be read, as for a damaged pin.
                event = HistoryEvent(
                    at: Timestamp.now(), host: host, kind: .serverRemoved, sha256Fingerprint: Fingerprint(digest: [UInt8](repeating: 0, count: 32)),
                    detail: "removed a damaged record (id \(damage.row.rowid)): \(damage.row.problem)")
            }
            try tx.deleteServer(host)
            try tx.record(event)
            return removal
        }
    }

    // MARK: - Reads

    /// The pin of `host`, if any.
    public func pin(for host: HostKey) throws(TofuError) -> Pin? {
        try read { tx in try tx.pin(host) }
    }

    /// A page of pins in host-key order, starting after the key `after`; `expiringBefore`
    /// keeps pins whose certificate ends before that RFC 3339 time. `more` says whether
    /// another page follows.
    /// `stagedOnly` keeps pins with a staged next certificate.
    ///
    /// `sharingSnapshot`: the read is one of a run that arrived together (a pipelined client's
    /// lookups, answered on the input thread), which share one database snapshot until
    /// `endReadRun` instead of each taking its own. For the one thread that calls `endReadRun`.
    public func list(
        after: String?, limit: Int, host: HostKey? = nil, expiringBefore: String? = nil, stagedOnly: Bool = false, sharingSnapshot: Bool = false
    ) throws(TofuError) -> (pins: [Pin], more: Bool) {
        let read = { (tx: any StoreTransaction) in try tx.pins(after: after, limit: limit, host: host, expiringBefore: expiringBefore, stagedOnly: stagedOnly) }
        guard sharingSnapshot else { return try self.read(read) }
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        let pins = try backend.read(sharingSnapshotOf: readRun.load(ordering: .relaxed), read)
        if backend.holdsSharedSnapshot { mayShareSnapshot.store(true, ordering: .relaxed) }
        return pins
    }

    /// The pin of `host` read at once on the calling thread's own connection to an SQLite store,
    /// beside whatever the store is doing: nil when it cannot be (not SQLite, not opened yet, busy,
    /// failing: see `PointReader`), and the caller reads through the store. A run of them shares a
    /// snapshot as `list(…, sharingSnapshot: true)` reads do, until `endReadRun`. For the one
    /// thread that calls `endReadRun`.
    public nonisolated func pointRead(_ host: HostKey) -> PlainPinLookup? {
        pointReader?.plainPin(host)
    }

    /// The pin of `host` when its row is plain and sound (`PlainPin`), read as
    /// `list(…, host:, sharingSnapshot: true)` reads it (in the run's shared snapshot, on a
    /// backend that shares one: then for the one thread that calls `endReadRun`); `.notPlain`
    /// for any other row, which `list` then reads and judges.
    public func plainPin(_ host: HostKey) throws(TofuError) -> PlainPinLookup {
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        let found = try backend.read(sharingSnapshotOf: readRun.load(ordering: .relaxed)) { tx in try tx.plainPin(host) }
        if backend.holdsSharedSnapshot { mayShareSnapshot.store(true, ordering: .relaxed) }
        return found
    }

    /// Ends the run of reads that share a snapshot (`list(…, sharingSnapshot: true)`): the next
    /// such read takes a new one. Called by the thread making those reads before it waits (for
    /// more requests), so a snapshot is neither kept while nobody reads nor seen by a request
    /// that arrived after it was taken. Never waits: while the store is busy, whoever holds it
    /// has ended the snapshot already (any other use of the store does), or a job does just after.
    public nonisolated func endReadRun() {
        pointReader?.endRun()
        readRun.wrappingAdd(1, ordering: .relaxed)
        guard mayShareSnapshot.load(ordering: .relaxed) else { return }
        let ended: Void? = try? executor.runIfIdle { () throws(TofuError) in try isolated { $0.endSharedSnapshot() } }
        if ended == nil { Task { await self.endSharedSnapshot() } }
    }

    private func endSharedSnapshot() {
        mayShareSnapshot.store(false, ordering: .relaxed)
        backend?.endSharedSnapshot()
    }

    /// Every pinned host key, in order: what verifying all pins needs. Every row is read in
    /// full, so a damaged one is reported before any host is contacted.
    public func hostKeys() throws(TofuError) -> [HostKey] {
        try read { tx in try tx.hostKeys() }
    }

    /// The most recent `limit` events, oldest first: of `host` if given, of `kinds` unless it is
    /// empty, at or after `since` (an RFC 3339 time) if given.
    public func history(host: HostKey?, kinds: [HistoryEvent.Kind] = [], since: String? = nil, limit: Int) throws(TofuError) -> [HistoryEvent] {
        try read { tx in try tx.history(host: host, kinds: kinds, since: since, limit: limit) }
    }

    /// Deletes every event before `before` (an RFC 3339 time), of `host` only if given, in one
    /// transaction committed before it returns; how many. Pins and servers are untouched, and
    /// the pruning itself is no event (the history is per host; the observer hears of it).
    public func pruneHistory(before: String, host: HostKey?) throws(TofuError) -> Int {
        let count = try write(locking: host) { tx in try tx.deleteEvents(before: before, host: host) }
        notify(.pruned(count: count, before: before, host: host))
        return count
    }

    // MARK: - Backup

    /// Writes a consistent copy of the store, as of one moment, to the new file `path`, while
    /// other processes go on writing; what the copy holds. SQLite only (see `backupRefusal`).
    public func backup(to path: String) throws(TofuError) -> BackupSummary {
        if let backupRefusal { throw .storeUnavailable(reason: backupRefusal) }
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        let summary = try backend.backup(to: path)
        notify(.backedUp(summary))
        return summary
    }

    // MARK: - Threads of their own

    /// Runs `body` inside the store's isolation on the calling thread, once the store has
    /// finished what it is doing (waiting for it as long as that takes): how code on a thread
    /// of its own (a TLS probe between handshake and first byte) calls the store, with no task
    /// and no hop. Never call it from a task, nor from inside the store: it blocks.
    public nonisolated func blocking<T: Sendable>(_ body: @Sendable (isolated PinStore) throws(TofuError) -> T) throws(TofuError) -> T {
        precondition(withUnsafeCurrentTask { $0 == nil }, "PinStore.blocking called from a task: use await")
        return try executor.runBlocking { () throws(TofuError) in try isolated(body) }
    }

    /// Runs `body` inside the store's isolation on the calling thread if the store is idle
    /// right now; nil, at once, if it is busy. For a caller that must never wait behind a
    /// write (the input thread answering a point read: while it waits, nothing is read).
    public nonisolated func ifIdle<T: Sendable>(_ body: @Sendable (isolated PinStore) throws(TofuError) -> T) throws(TofuError) -> T? {
        precondition(withUnsafeCurrentTask { $0 == nil }, "PinStore.ifIdle called from a task: use await")
        return try executor.runIfIdle { () throws(TofuError) in try isolated(body) }
    }

    /// `body` with the store's isolation, which the executor has just given this thread.
    private nonisolated func isolated<T: Sendable>(_ body: @Sendable (isolated PinStore) throws(TofuError) -> T) throws(TofuError) -> T {
        try assumeIsolated { store in Result { () throws(TofuError) in try body(store) } }.get()
    }

    // MARK: - Plumbing

    /// The parts of an event's detail are joined by " | ", labelled "name: value": never PI's
    /// "; " and "name=value", so a detail printed inside a PI-format line (tofu history) cannot
    /// be read as more fields of that line.
    static func describe(_ certificate: CertificateSummary) -> String {
        "subject: \(certificate.subject) | serial: \(certificate.serialNumber) | notAfter: \(certificate.notAfter)"
    }

    /// How `presented` stands against `pin`, with the pin's public key read from its certificate
    /// (DER, which the row's fingerprint vouches for), not from the spkiSha256 column, which a
    /// hand edit could point at another key.
    public static func judge(_ pin: Pin, _ presented: CertificateSummary) -> PinJudgement {
        guard pin.policy == .publicKey, presented.spkiSha256 == pin.certificate.spkiSha256 else { return pin.judge(presented) }
        var checked = pin
        checked.certificate.spkiSha256 = (try? X509Certificate(der: pin.certificate.der).summary().spkiSha256) ?? ""
        return checked.judge(presented)
    }

    /// The last event of `host` that says where its pin stands (`HistoryEvent.Kind.verdicts`).
    /// A history row that cannot be read is no verdict: the history then records one more
    /// event rather than fail a verification.
    private static func lastVerdict(of host: HostKey, _ tx: any StoreTransaction) throws -> HistoryEvent? {
        do {
            return try tx.lastEvent(of: host, kinds: HistoryEvent.Kind.verdicts)
        } catch is RowDamage {
            return nil
        }
    }

    /// The pin a mismatch was against, and what was staged, for the history.
    private static func pinWords(_ pin: Pin) -> String {
        "pinned: \(pin.certificate.sha256Fingerprint)" + (pin.next.map { " | staged: \($0.certificate.sha256Fingerprint)" } ?? "")
    }

    private static func policyWords(_ policy: PinPolicy) -> String {
        policy == .certificate ? "" : " | policy: \(policy.rawValue)"
    }

    /// Closes the store. A later call opens it again.
    public func close() {
        pointReader?.close()
        backend?.close()
        backend = nil
    }

    /// The backend, opened now if it is not open; a failure to open is not kept (the next call
    /// tries again).
    private func openBackend() throws(TofuError) -> any StoreBackend {
        if let backend { return backend }
        let opened = try opener()
        backend = opened
        pointReader?.enable()
        return opened
    }

    /// Forgets a backend a failure left unusable: the next call opens a new one.
    private func dropIfUnusable(_ used: any StoreBackend) {
        guard used.needsReopening, backend === used else { return }
        used.close()
        backend = nil
    }

    private func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        return try backend.read(body)
    }

    /// Reads that see one snapshot, however many primitives `body` calls.
    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        return try backend.snapshot(body)
    }

    /// One transaction deciding about every host of `hosts`. Once it has committed, the
    /// observer hears of each event it recorded.
    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        var recorded: [StoreNotice] = []
        let result = try backend.write(lockingAll: hosts) { tx in
            let journal = JournaledTransaction(tx)
            defer { recorded = journal.recorded }
            return try body(journal)
        }
        for notice in recorded { notify(notice) }
        return result
    }

    /// One transaction deciding about `host` (nil: about no host in particular). Once it has
    /// committed, the observer hears of each event it recorded.
    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        let backend = try openBackend()
        defer { dropIfUnusable(backend) }
        var recorded: [StoreNotice] = []
        let result = try backend.write(locking: host) { tx in
            let journal = JournaledTransaction(tx)
            defer { recorded = journal.recorded }
            return try body(journal)
        }
        for notice in recorded { notify(notice) }
        return result
    }

    private func notify(_ notice: StoreNotice) {
        guard let observer = observer.withLock({ $0 }) else { return }
        observer.body(notice)
    }
}

/// A committed change, as the store's observer hears of it (see `PinStore.observe`).
public enum StoreNotice: Sendable {
    /// An event of the history, committed.
    case recorded(HistoryEvent)
    /// An event brought by an import, committed: a decision made elsewhere, at its own time.
    case imported(HistoryEvent)
    /// `count` events before `before` (of `host`, if given) were deleted.
    case pruned(count: Int, before: String, host: HostKey?)
    /// A backup was written.
    case backedUp(BackupSummary)
}

/// A transaction that remembers the events recorded through it, for the observer.
private final class JournaledTransaction: StoreTransaction {
    private let base: any StoreTransaction
    private(set) var recorded: [StoreNotice] = []

    init(_ base: any StoreTransaction) { self.base = base }

    func record(_ event: HistoryEvent) throws {
        try base.record(event)
        recorded.append(.recorded(event))
    }

    func recordImported(_ event: HistoryEvent) throws {
        try base.recordImported(event)
        recorded.append(.imported(event))
    }

    func pin(_ host: HostKey) throws -> Pin? { try base.pin(host) }
    func storedFingerprint(_ host: HostKey) throws -> Fingerprint? { try base.storedFingerprint(host) }
    func insert(_ pin: Pin) throws { try base.insert(pin) }
    func update(_ pin: Pin) throws { try base.update(pin) }
    func deletePin(_ host: HostKey) throws { try base.deletePin(host) }
    func touch(_ host: HostKey, verifiedAt: String) throws { try base.touch(host, verifiedAt: verifiedAt) }
    func pins(after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool) throws -> (pins: [Pin], more: Bool) {
        try base.pins(after: after, limit: limit, host: host, expiringBefore: expiringBefore, stagedOnly: stagedOnly)
    }
    func hostKeys() throws -> [HostKey] { try base.hostKeys() }
    func history(host: HostKey?, kinds: [HistoryEvent.Kind], since: String?, limit: Int) throws -> [HistoryEvent] {
        try base.history(host: host, kinds: kinds, since: since, limit: limit)
    }
    func lastEvent(of host: HostKey, kinds: [HistoryEvent.Kind]) throws -> HistoryEvent? { try base.lastEvent(of: host, kinds: kinds) }
    func deleteEvents(before: String, host: HostKey?) throws -> Int { try base.deleteEvents(before: before, host: host) }
    func server(_ host: HostKey) throws -> DnacServer? { try base.server(host) }
    func servers() throws -> [DnacServer] { try base.servers() }
    func events(after: (host: String, id: Int64)?, limit: Int) throws -> [(id: Int64, event: HistoryEvent)] { try base.events(after: after, limit: limit) }
    func servers(from: String?, limit: Int) throws -> [DnacServer] { try base.servers(from: from, limit: limit) }
    func save(_ server: DnacServer) throws { try base.save(server) }
    func deleteServer(_ host: HostKey) throws { try base.deleteServer(host) }
}

/// What `delete` deleted: a pin, or a row that could not be read as one.
public enum Deletion: Sendable {
    case pin(Pin)
    case damaged(DamagedRow)
}

/// What `removeServer` removed: a server's record, or a row that could not be read as one.
public enum Removal: Sendable {
    case server(DnacServer)
    case damaged(DamagedRow)
}

/// What a verification found, against the pin as it stood at that moment.
public enum Verification: Sendable {
    case unpinned
    case match(Pin)
    /// The staged certificate was presented and promoted: `Pin` is the new pin.
    case rotated(Pin, previous: CertificateSummary)
    /// A new certificate with the pinned key was presented and is now the pin (policy publicKey).
    case renewed(Pin, previous: CertificateSummary)
    /// An older certificate with the pinned key was presented (policy publicKey): a match by
    /// the key; the pin stays.
    case matchedByKey(Pin)
    case mismatch(Pin)
}
