import Dispatch
import Foundation
import GRDB
import Posix
import TofuCore
import TofuTLS

/// The pin store of one process: pins, their history, over one SQLite file that several
/// processes may share.
///
/// Every write is one IMMEDIATE transaction committed with `synchronous=FULL` before the
/// method returns, so an answer never reports a change that is not on disk, and
/// check-and-set (pin if absent, compare if present) holds across processes too.
/// The file is opened on first use; if that fails, the next call tries again.
public actor PinStore {
    public let path: String
    private let busyTimeout: TimeInterval
    /// The open store, shared with the synchronous reads of `listBlocking` (other threads).
    private let handle = Locked<StoreFile.Handle?>(nil)
    /// The point reader opened alone, before the whole store was needed (see `listBlocking`).
    private let pointReader = Locked<DatabaseQueue?>(nil)
    private static let openQueue = DispatchQueue(label: "tofu.store.open")

    private let unusable: TofuError?

    public init(path: String, busyTimeout: TimeInterval = 5) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.unusable = nil
    }

    /// A store that answers every call with `error` (e.g. no location could be found).
    public init(unusable error: TofuError) {
        self.path = ""
        self.busyTimeout = 0
        self.unusable = error
    }

    // MARK: - Pins

    /// Pins `certificate` for `host` if nothing is pinned, under `policy` (default: certificate);
    /// `.matched` if the same certificate is (and `policy`, when given, becomes its policy); a
    /// different pin throws `.certificateMismatch` and changes nothing.
    public func pin(_ certificate: CertificateSummary, for host: HostKey, policy: PinPolicy? = nil) async throws(TofuError) -> (Pin, PinStatus) {
        try await write { db in
            if var existing = try Self.fetchPin(host, db) {
                guard existing.certificate.sha256Fingerprint == certificate.sha256Fingerprint else {
                    throw TofuError.certificateMismatch(host: host, pinned: existing, presented: certificate, expectedFingerprint: nil)
                }
                if let policy, policy != existing.policy { existing = try Self.change(existing, to: policy, db) }
                return (existing, .matched)
            }
            let pin = Pin(host: host, certificate: certificate, pinnedAt: Timestamp.now(), policy: policy ?? .certificate)
            try Rows.insert(pin, into: db)
            try Rows.record(
                HistoryEvent(at: pin.pinnedAt, host: host, kind: .pinned, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + Self.policyWords(pin.policy)), into: db)
            return (pin, .pinned)
        }
    }

    /// Stages `certificate` as the next one of the pin of `host`, replacing what was staged:
    /// the certificate the host will present after a planned rotation. Nothing is promoted
    /// here; a live handshake that presents it does that (`recordVerification`,
    /// `trustOnFirstUse`). No pin throws `.certNotFound`; the pinned certificate itself throws
    /// `.invalidParameter` (field pem).
    public func stage(_ certificate: CertificateSummary, for host: HostKey) async throws(TofuError) -> Pin {
        try await write { db in
            guard var pin = try Self.fetchPin(host, db) else { throw TofuError.certNotFound(host: host) }
            if pin.certificate.sha256Fingerprint == certificate.sha256Fingerprint {
                throw TofuError.invalidParameter(
                    field: "pem", reason: "is the certificate already pinned for \(host) (\(certificate.sha256Fingerprint)): stage the certificate the host will present after the rotation")
            }
            if pin.next?.certificate.sha256Fingerprint == certificate.sha256Fingerprint { return pin }
            let now = Timestamp.now()
            let replaced = pin.next.map { "; replaces the staged \($0.certificate.sha256Fingerprint)" } ?? ""
            pin.next = StagedCertificate(certificate: certificate, stagedAt: now)
            try Rows.update(pin, in: db)
            try Rows.record(
                HistoryEvent(at: now, host: host, kind: .staged, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + "; pinned \(pin.certificate.sha256Fingerprint)" + replaced), into: db)
            return pin
        }
    }

    /// Removes the staged next certificate of `host`, leaving its pin; with `expected`, only if
    /// the staged certificate is that one. Returns the pin as it was (with `next`).
    public func unstage(_ host: HostKey, expected: Fingerprint?) async throws(TofuError) -> Pin {
        try await write { db in
            guard let pin = try Self.fetchPin(host, db) else { throw TofuError.certNotFound(host: host) }
            guard let next = pin.next else { throw TofuError.nothingStaged(host: host) }
            if let expected, expected != next.certificate.sha256Fingerprint {
                throw TofuError.stagedMismatch(host: host, pin: pin, expectedFingerprint: expected)
            }
            var unstaged = pin
            unstaged.next = nil
            try Rows.update(unstaged, in: db)
            try Rows.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .unstaged, sha256Fingerprint: next.certificate.sha256Fingerprint,
                             detail: Self.describe(next.certificate) + "; the pin \(pin.certificate.sha256Fingerprint) stays"), into: db)
            return pin
        }
    }

    /// Sets the policy of the pin of `host`; no pin throws `.certNotFound`.
    public func setPolicy(_ policy: PinPolicy, for host: HostKey) async throws(TofuError) -> Pin {
        try await write { db in
            guard let pin = try Self.fetchPin(host, db) else { throw TofuError.certNotFound(host: host) }
            return pin.policy == policy ? pin : try Self.change(pin, to: policy, db)
        }
    }

    private static func change(_ pin: Pin, to policy: PinPolicy, _ db: Database) throws -> Pin {
        var changed = pin
        changed.policy = policy
        try Rows.update(changed, in: db)
        try Rows.record(
            HistoryEvent(at: Timestamp.now(), host: pin.host, kind: .policyChanged, sha256Fingerprint: pin.certificate.sha256Fingerprint,
                         detail: "policy \(pin.policy.rawValue) -> \(policy.rawValue)"), into: db)
        return changed
    }

    /// What a completed handshake that presented `presented` does to `pin`, inside the caller's
    /// transaction: the staged certificate is promoted, a same-key renewal (policy publicKey)
    /// replaces the certificate; nil for anything else (a match or a mismatch changes no pin).
    private static func advance(_ pin: Pin, presenting presented: CertificateSummary, at now: String, _ db: Database) throws -> (Pin, PinStatus)? {
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
        try Rows.update(advanced, in: db)
        let words = status == .rotated ? "promoted the staged certificate" : "renewed with the same public key"
        try Rows.record(
            HistoryEvent(at: now, host: pin.host, kind: kind, sha256Fingerprint: presented.sha256Fingerprint,
                         detail: "\(words): now " + describe(presented) + "; was \(pin.certificate.sha256Fingerprint) serial=\(pin.certificate.serialNumber)"), into: db)
        return (advanced, status)
    }

    /// Deletes the pin of `host`; with `expected`, only if the pin is that certificate.
    /// A damaged pin row is deleted too (that is how an operator repairs it): without
    /// `expected`, or when its fingerprint column holds exactly `expected`.
    public func delete(_ host: HostKey, expected: Fingerprint?) async throws(TofuError) -> Deletion {
        try await write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Rows.pinColumns) FROM pin WHERE host = ?"), arguments: [host.description]) else {
                throw TofuError.certNotFound(host: host)
            }
            let deletion: Deletion
            let fingerprint: Fingerprint
            let detail: String
            switch Result(catching: { () throws(RowDamage) in try Rows.pin(row) }) {
            case .success(let existing):
                if let expected, expected != existing.certificate.sha256Fingerprint {
                    throw TofuError.certificateMismatch(host: host, pinned: existing, presented: nil, expectedFingerprint: expected)
                }
                (deletion, fingerprint, detail) = (.pin(existing), existing.certificate.sha256Fingerprint, Self.describe(existing.certificate))
            case .failure(let damage):
                let stored = try? RowReader(row, table: "pin", names: Rows.pinNames).fingerprint(5)
                // A damaged row cannot be shown to differ from `expected`: deleted only if it holds exactly that.
                if let expected, stored != expected { throw damage }
                // The audit trail keeps the deletion; all zeros stand for a fingerprint that could not be read.
                fingerprint = stored ?? Fingerprint(digest: [UInt8](repeating: 0, count: 32))
                deletion = .damaged(damage.row)
                detail = "deleted a damaged row (id \(damage.row.rowid)): \(damage.row.problem)"
            }
            try db.cachedStatement(sql: "DELETE FROM pin WHERE host = ?").execute(arguments: [host.description])
            try Rows.record(HistoryEvent(at: Timestamp.now(), host: host, kind: .deleted, sha256Fingerprint: fingerprint, detail: detail), into: db)
            return deletion
        }
    }

    /// Compares what `host` presented in a completed handshake with its pin, in one
    /// transaction, and records it: a match sets `lastVerifiedAt` and logs `matched`; the staged
    /// certificate is promoted (`rotated`), a same-key renewal under policy publicKey replaces the
    /// stored certificate (`renewed`); a mismatch logs `mismatch`; no pin changes nothing. Never
    /// pins a host that has no pin, never deletes. `beforeChanging` is asked inside the
    /// transaction before a promotion or renewal: false (the caller was cancelled) throws
    /// `.cancelled` and nothing is written.
    public func recordVerification(
        of presented: CertificateSummary, for host: HostKey, beforeChanging: @escaping @Sendable () -> Bool = { true }
    ) async throws(TofuError) -> Verification {
        try await write { db in
            guard var pin = try Self.fetchPin(host, db) else { return .unpinned }
            let now = Timestamp.now()
            if pin.certificate.sha256Fingerprint == presented.sha256Fingerprint {
                try db.cachedStatement(sql: "UPDATE pin SET lastVerifiedAt = ? WHERE host = ?").execute(arguments: [now, host.description])
                pin.lastVerifiedAt = now
                try Rows.record(
                    HistoryEvent(at: now, host: host, kind: .matched, sha256Fingerprint: presented.sha256Fingerprint,
                                 detail: Self.describe(presented)), into: db)
                return .match(pin)
            }
            switch Self.judge(pin, presented) {
            case .next, .renewal:
                guard beforeChanging() else { throw TofuError.cancelled }
                if let (advanced, status) = try Self.advance(pin, presenting: presented, at: now, db) {
                    return status == .rotated ? .rotated(advanced, previous: pin.certificate) : .renewed(advanced, previous: pin.certificate)
                }
            case .sameKey:
                try db.cachedStatement(sql: "UPDATE pin SET lastVerifiedAt = ? WHERE host = ?").execute(arguments: [now, host.description])
                pin.lastVerifiedAt = now
                try Rows.record(
                    HistoryEvent(at: now, host: host, kind: .matched, sha256Fingerprint: presented.sha256Fingerprint,
                                 detail: "presented " + Self.describe(presented) + "; an older certificate with the pinned public key (policy publicKey): the pin \(pin.certificate.sha256Fingerprint) stays"), into: db)
                return .matchedByKey(pin)
            case .pinned, .different:
                break
            }
            try Rows.record(
                HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                             detail: "presented " + Self.describe(presented) + "; " + Self.pinWords(pin)), into: db)
            return .mismatch(pin)
        }
    }

    /// Trust on first use, in one IMMEDIATE transaction (so across processes too): pins
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
    ) async throws(TofuError) -> TofuDecision {
        try await write { db in
            let now = Timestamp.now()
            let pinned = try Self.fetchPin(host, db)
            if let accepting, accepting != presented.sha256Fingerprint {
                if let pinned, pinned.certificate.sha256Fingerprint != presented.sha256Fingerprint {
                    try Rows.record(
                        HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                                     detail: "presented " + Self.describe(presented) + "; " + Self.pinWords(pinned) + "; accepted \(accepting)"), into: db)
                }
                return .notAccepted(current: pinned)
            }
            guard let current = pinned else {
                guard beforePinning() else { throw TofuError.cancelled }
                let pin = Pin(host: host, certificate: presented, pinnedAt: now, policy: policy ?? .certificate)
                try Rows.insert(pin, into: db)
                try Rows.record(
                    HistoryEvent(at: now, host: host, kind: .pinned, sha256Fingerprint: presented.sha256Fingerprint,
                                 detail: Self.describe(presented) + Self.policyWords(pin.policy)), into: db)
                return .pinned(pin)
            }
            // A policy change is a change like any other: only once the caller may no longer cancel.
            func withPolicy(_ pin: Pin) throws -> (Pin, changed: Bool) {
                guard let policy, policy != pin.policy else { return (pin, false) }
                guard beforePinning() else { throw TofuError.cancelled }
                return (try Self.change(pin, to: policy, db), true)
            }
            switch Self.judge(current, presented) {
            case .pinned, .sameKey:
                let (pin, changed) = try withPolicy(current)
                return .matched(pin, policyChanged: changed)
            case .next, .renewal:
                // The handshake proved the host holds the staged (or the pinned) key: the pin
                // moves on before a byte is sent, so the credentials go to the checked pin.
                guard beforePinning() else { throw TofuError.cancelled }
                if let (advanced, status) = try Self.advance(current, presenting: presented, at: now, db) {
                    let pin = try withPolicy(advanced).0
                    return status == .rotated ? .rotated(pin, previous: current.certificate) : .renewed(pin, previous: current.certificate)
                }
            case .different:
                break
            }
            if accepting == presented.sha256Fingerprint { return .replacementAccepted(current: current) }
            try Rows.record(
                HistoryEvent(at: now, host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                             detail: "presented " + Self.describe(presented) + "; " + Self.pinWords(current)), into: db)
            return .mismatch(current: current)
        }
    }

    /// Records in the history that `host` presented `presented` where another certificate was
    /// expected (e.g. a reconnection of the token request), whatever is pinned: `why` says where.
    public func recordMismatch(_ presented: CertificateSummary, for host: HostKey, why: String) async throws(TofuError) {
        try await write { db in
            try Rows.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .mismatch, sha256Fingerprint: presented.sha256Fingerprint,
                             detail: "presented " + Self.describe(presented) + "; " + why), into: db)
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
    public func replace(_ host: HostKey, expected: Fingerprint, with certificate: CertificateSummary, policy: PinPolicy? = nil) async throws(TofuError) -> (Pin, PinStatus) {
        try await write { db in
            let now = Timestamp.now()
            let pin = Pin(host: host, certificate: certificate, pinnedAt: now, policy: policy ?? .certificate)
            guard let current = try Self.fetchPin(host, db) else {
                try Rows.insert(pin, into: db)
                try Rows.record(
                    HistoryEvent(at: now, host: host, kind: .pinned, sha256Fingerprint: certificate.sha256Fingerprint,
                                 detail: Self.describe(certificate) + "; accepted to replace \(expected), which had been deleted meanwhile"), into: db)
                return (pin, .pinned)
            }
            if current.certificate.sha256Fingerprint == certificate.sha256Fingerprint {
                guard let policy, policy != current.policy else { return (current, .matched) }
                return (try Self.change(current, to: policy, db), .matched)
            }
            guard current.certificate.sha256Fingerprint == expected else {
                throw TofuError.certificateMismatch(host: host, pinned: current, presented: certificate, expectedFingerprint: expected)
            }
            // The policy stays; so does a staged certificate, unless it is the one now pinned.
            var replacement = pin
            replacement.policy = policy ?? current.policy
            replacement.next = current.next?.certificate.sha256Fingerprint == certificate.sha256Fingerprint ? nil : current.next
            try Rows.update(replacement, in: db)
            try Rows.record(
                HistoryEvent(at: now, host: host, kind: .replaced, sha256Fingerprint: certificate.sha256Fingerprint,
                             detail: Self.describe(certificate) + "; replaced \(expected)"), into: db)
            if replacement.policy != current.policy {
                try Rows.record(
                    HistoryEvent(at: now, host: host, kind: .policyChanged, sha256Fingerprint: certificate.sha256Fingerprint,
                                 detail: "policy \(current.policy.rawValue) -> \(replacement.policy.rawValue)"), into: db)
            }
            return (replacement, .replaced)
        }
    }

    // MARK: - DNA Center servers

    /// Records (or updates) an added server; `addedAt` is kept from the first add. A damaged
    /// record of it throws `.damagedRow` and changes nothing (remove it first).
    public func recordServer(_ host: HostKey, username: String, fingerprint: Fingerprint, authenticated: Bool?) async throws(TofuError) -> DnacServer {
        try await write { db in
            let now = Timestamp.now()
            let addedAt = try Self.fetchServer(host, db)?.addedAt ?? now
            try db.cachedStatement(sql: """
                    INSERT INTO dnac_server (host, address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(host) DO UPDATE SET username = excluded.username, pinnedFingerprint = excluded.pinnedFingerprint,
                        lastCheckedAt = excluded.lastCheckedAt, authenticated = excluded.authenticated
                    """).execute(arguments: [host.description, host.host, host.port, username, fingerprint.description, addedAt, now, authenticated])
            return DnacServer(host: host, username: username, pinnedFingerprint: fingerprint, addedAt: addedAt, lastCheckedAt: now, authenticated: authenticated)
        }
    }

    public func servers() async throws(TofuError) -> [DnacServer] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server ORDER BY host")).map { row throws(RowDamage) in try Rows.server(row) }
        }
    }

    /// The recorded server of `host`, if any.
    public func server(for host: HostKey) async throws(TofuError) -> DnacServer? {
        try await read { db in try Self.fetchServer(host, db) }
    }

    /// Forgets a server; its pin stays (delete it with `delete` if wanted). A damaged record
    /// is removed too: that is how an operator repairs it.
    public func removeServer(_ host: HostKey) async throws(TofuError) -> Removal {
        try await write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server WHERE host = ?"), arguments: [host.description]) else {
                throw TofuError.serverNotFound(host: host)
            }
            try db.cachedStatement(sql: "DELETE FROM dnac_server WHERE host = ?").execute(arguments: [host.description])
            do throws(RowDamage) {
                return .server(try Rows.server(row))
            } catch {
                return .damaged(error.row)
            }
        }
    }

    /// The pin of `host`, if any.
    public func pin(for host: HostKey) async throws(TofuError) -> Pin? {
        try await read { db in try Self.fetchPin(host, db) }
    }

    /// A page of pins in host-key order, starting after the key `after`; `expiringBefore`
    /// keeps pins whose certificate ends before that RFC 3339 time. `more` says whether
    /// another page follows.
    /// `stagedOnly` keeps pins with a staged next certificate.
    public func list(after: String?, limit: Int, host: HostKey? = nil, expiringBefore: String? = nil, stagedOnly: Bool = false) async throws(TofuError) -> (pins: [Pin], more: Bool) {
        try await read { db in try Self.page(db, after: after, limit: limit, host: host, expiringBefore: expiringBefore, stagedOnly: stagedOnly) }
    }

    /// `list` done at once on the calling thread, for a caller that is on a thread of its own
    /// and cannot afford a hop to the store's. Meant for point reads (`host` given): it blocks
    /// the caller while the query runs, and while the store is opened if this is the first call.
    /// A first call opens only what reading needs, so a one-shot lookup writes nothing.
    public nonisolated func listBlocking(
        after: String?, limit: Int, host: HostKey? = nil, expiringBefore: String? = nil, stagedOnly: Bool = false
    ) throws(TofuError) -> (pins: [Pin], more: Bool) {
        let reader = try pointReaderBlocking()
        do {
            return try reader.inDatabase { db in
                try Self.page(db, after: after, limit: limit, host: host, expiringBefore: expiringBefore, stagedOnly: stagedOnly)
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    private static func page(
        _ db: Database, after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool
    ) throws -> (pins: [Pin], more: Bool) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let after {
            conditions.append("host > ?")
            arguments += [after]
        }
        if let host {
            conditions.append("host = ?")
            arguments += [host.description]
        }
        if let expiringBefore {
            conditions.append("notAfter < ?")
            arguments += [expiringBefore]
        }
        if stagedOnly { conditions.append("nextSha256Fingerprint IS NOT NULL") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit + 1]
        // Each row is decoded as it is stepped, without first copying it into a `Row` of its own.
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT \(Rows.pinColumns) FROM pin \(filter) ORDER BY host LIMIT ?"), arguments: arguments)
        var pins: [Pin] = []
        var more = false
        while let row = try rows.next() {
            guard pins.count < limit else {
                more = true
                break
            }
            pins.append(try Rows.pin(row))
        }
        return (pins, more)
    }

    /// Every pinned host key, in order: what verifying all pins needs. Every row is read in
    /// full, so a damaged one is reported before any host is contacted.
    public func hostKeys() async throws(TofuError) -> [HostKey] {
        try await read { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT \(Rows.pinColumns) FROM pin ORDER BY host"))
            var keys: [HostKey] = []
            while let row = try rows.next() { keys.append(try Rows.pin(row).host) }
            return keys
        }
    }

    /// The most recent `limit` events (of `host`, if given), oldest first.
    public func history(host: HostKey?, limit: Int) async throws(TofuError) -> [HistoryEvent] {
        try await read { db in
            let filter = host == nil ? "" : "WHERE host = ?"
            var arguments: StatementArguments = host.map { [$0.description] } ?? []
            arguments += [limit]
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(Rows.eventColumns) FROM (SELECT * FROM event \(filter) ORDER BY id DESC LIMIT ?) ORDER BY id ASC"),
                arguments: arguments
            ).map { row throws(RowDamage) in try Rows.event(row) }
        }
    }

    // MARK: - Plumbing

    private static func fetchPin(_ host: HostKey, _ db: Database) throws -> Pin? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Rows.pinColumns) FROM pin WHERE host = ?"), arguments: [host.description])
            .map { row throws(RowDamage) in try Rows.pin(row) }
    }

    private static func fetchServer(_ host: HostKey, _ db: Database) throws -> DnacServer? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Rows.serverColumns) FROM dnac_server WHERE host = ?"), arguments: [host.description])
            .map { row throws(RowDamage) in try Rows.server(row) }
    }

    static func describe(_ certificate: CertificateSummary) -> String {
        "subject=\(certificate.subject); serial=\(certificate.serialNumber); notAfter=\(certificate.notAfter)"
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

    /// The pin a mismatch was against, and what was staged, for the history.
    private static func pinWords(_ pin: Pin) -> String {
        "pinned \(pin.certificate.sha256Fingerprint)" + (pin.next.map { "; staged \($0.certificate.sha256Fingerprint)" } ?? "")
    }

    private static func policyWords(_ policy: PinPolicy) -> String {
        policy == .certificate ? "" : "; policy \(policy.rawValue)"
    }

    private func open() async throws(TofuError) -> StoreFile.Handle {
        if let opened = handle.withLock({ $0 }) { return opened }
        let result: Result<StoreFile.Handle, TofuError> = await withCheckedContinuation { continuation in
            Self.openQueue.async { continuation.resume(returning: Result { () throws(TofuError) in try self.openBlocking() }) }
        }
        return try result.get()
    }

    /// Closes the store. The last process to close folds the WAL back into the store file, so
    /// after a clean exit the file alone holds every pin: a plain copy is a whole backup, and a
    /// reader that may not create SQLite's side files still sees everything. Called when no
    /// call is running; a later call opens the store again.
    public func close() async {
        let handle = handle.withLock { current in defer { current = nil }; return current }
        let pointReader = pointReader.withLock { current in defer { current = nil }; return current }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Self.openQueue.async {
                // The lone point reader may be the handle's too; closing twice does nothing.
                try? pointReader?.close()
                handle?.close()
                continuation.resume()
            }
        }
    }

    /// The point reader: the whole store's if it is open, else one opened alone; the whole
    /// store when reading needs more (a new store to create, migrations to apply).
    private nonisolated func pointReaderBlocking() throws(TofuError) -> DatabaseQueue {
        if let opened = handle.withLock({ $0 }) { return opened.pointReader }
        if let reader = pointReader.withLock({ $0 }) { return reader }
        if let unusable { throw unusable }
        let opened: DatabaseQueue?
        do {
            opened = try StoreFile.openPointReader(path: path, busyTimeout: busyTimeout)
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
        guard let opened else { return try openBlocking().pointReader }
        return Self.keepFirst(opened, in: pointReader)
    }

    /// Opens the store on the calling thread if it is not open yet; a failure is not kept (the
    /// next call tries again). Two threads opening at once both succeed; the first handle stays.
    private nonisolated func openBlocking() throws(TofuError) -> StoreFile.Handle {
        if let opened = handle.withLock({ $0 }) { return opened }
        if let unusable { throw unusable }
        let opened: StoreFile.Handle
        do {
            opened = try StoreFile.open(path: path, busyTimeout: busyTimeout, pointReader: pointReader.withLock { $0 })
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
        return Self.keepFirst(opened, in: handle)
    }

    /// `opened`, kept in `slot`; or what another thread's open put there first.
    private static func keepFirst<T: Sendable>(_ opened: T, in slot: borrowing Locked<T?>) -> T {
        slot.withLock { current in
            if let current { return current }
            current = opened
            return opened
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(TofuError) -> T {
        let handle = try await open()
        do {
            // Every read here is one SELECT, which SQLite already runs on one consistent WAL
            // snapshot; GRDB's wrapping transaction (BEGIN … COMMIT) cost ~100 µs a call.
            return try await handle.reader.unsafeRead(body)
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(TofuError) -> T {
        let handle = try await open()
        guard let writer = handle.writer else {
            throw .storeUnavailable(reason: handle.readOnlyReason ?? "the store \(path) is read-only")
        }
        do {
            return try await writer.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw TofuError.storeUnavailable(reason: "a store transaction returned nothing") }
                return result
            }
        } catch {
            throw StoreFile.unavailable(error, path: path)
        }
    }
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
