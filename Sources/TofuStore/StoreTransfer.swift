import TofuCore

/// One record of a store as it moves to another (exportPins, importPins): a pin with its
/// certificate and staged next one, one event of the history, or a DNA Center server.
public enum TransferRecord: Sendable, Hashable {
    case pin(Pin)
    case event(HistoryEvent)
    case server(DnacServer)

    public var host: HostKey {
        switch self {
        case .pin(let pin): pin.host
        case .event(let event): event.host
        case .server(let server): server.host
        }
    }
}

/// Where a page of an export ended: the next page starts right after it.
public struct ExportPosition: Sendable, Hashable {
    /// The host of the last record given.
    public var host: HostKey
    /// The id of the last event of `host` given; 0 when none was.
    public var afterEvent: Int64
    /// Whether every record of `host` was given (its server record, which comes last).
    public var hostDone: Bool

    public init(host: HostKey, afterEvent: Int64, hostDone: Bool) {
        self.host = host
        self.afterEvent = max(afterEvent, 0)
        self.hostDone = hostDone
    }
}

/// One page of an export: records host by host in host-key order (bytewise), each host's pin
/// first, then its events oldest first, then its server; `next` is nil on the last page.
public struct ExportPage: Sendable {
    public var records: [TransferRecord]
    public var next: ExportPosition?
}

/// Everything an import brings for one host, taken in one transaction.
public struct HostTransfer: Sendable, Hashable {
    public var host: HostKey
    public var pin: Pin?
    /// Oldest first.
    public var events: [HistoryEvent]
    public var server: DnacServer?

    public init(host: HostKey, pin: Pin? = nil, events: [HistoryEvent] = [], server: DnacServer? = nil) {
        self.host = host
        self.pin = pin
        self.events = events
        self.server = server
    }
}

/// What importing one host did.
public struct ImportOutcome: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        /// Something was added: the pin (the store had none), events, or the server record.
        case imported
        /// The store already pins the host the same way (or, for a host without a pin, holds its
        /// every event and a server record): nothing changed.
        case identical
        /// The store pins the host differently, or pins it and the import brings events of it
        /// without its pin (`history`): refused, nothing changed.
        case conflict
        /// The store pinned the host differently and `replace` was given: the imported pin replaced it.
        case replaced
    }

    public var host: HostKey
    public var status: Status
    /// The imported pin's certificate; nil when the import had no pin for the host.
    public var importedFingerprint: Fingerprint?
    /// The store's pin before the import; nil when it had none.
    public var pinnedFingerprint: Fingerprint?
    /// How the two pins differ (conflict, replaced): `certificate`, `policy`, `next`; or
    /// `history` (conflict): events for a host the store pins, without its pin.
    public var differences: [String]
    public var eventsAdded: Int
    public var serverAdded: Bool
}

extension PinStore {
    /// A page of the whole store for an export, read on one snapshot: up to `limit` records
    /// after `position` (from the start when nil). Every row is read as strictly as any other
    /// read, so a damaged one stops the export with `.damagedRow` rather than being left out.
    /// Memory stays bounded by `limit`, however large the store or a host's history.
    public func exportPage(after position: ExportPosition?, limit: Int) throws(TofuError) -> ExportPage {
        let limit = max(limit, 1)
        return try snapshot { tx in
            let after = position?.host.description
            let pins = try tx.pins(after: after, limit: limit, host: nil, expiringBefore: nil, stagedOnly: false).pins
            let events = try tx.events(after: position.map { (host: $0.host.description, id: $0.hostDone ? Int64.max : $0.afterEvent) }, limit: limit)
            var servers = try tx.servers(from: after, limit: limit + 1)
            if let position, position.hostDone, servers.first?.host == position.host { servers.removeFirst() }
            return Self.merge(pins: pins, events: events, servers: servers, after: position, limit: limit)
        }
    }

    /// The three streams, each in host order, as one: per host its pin, its events, its server.
    /// No stream runs out of what was fetched before the page is full: each fetched `limit`
    /// rows (or all there are), and a page holds at most `limit`.
    private static func merge(
        pins: [Pin], events: [(id: Int64, event: HistoryEvent)], servers: [DnacServer], after position: ExportPosition?, limit: Int
    ) -> ExportPage {
        var records: [TransferRecord] = []
        var last = position
        var (pin, event, server) = (0, 0, 0)
        while records.count < limit {
            let heads = [pins[safe: pin]?.host, events[safe: event]?.event.host, servers[safe: server]?.host].compactMap { $0 }
            guard let host = heads.min(by: { $0.description.utf8.lexicographicallyPrecedes($1.description.utf8) }) else { break }
            if let next = pins[safe: pin], next.host == host {
                records.append(.pin(next))
                pin += 1
                last = ExportPosition(host: host, afterEvent: 0, hostDone: false)
            } else if let next = events[safe: event], next.event.host == host {
                records.append(.event(next.event))
                event += 1
                last = ExportPosition(host: host, afterEvent: next.id, hostDone: false)
            } else if let next = servers[safe: server], next.host == host {
                records.append(.server(next))
                server += 1
                last = ExportPosition(host: host, afterEvent: Int64.max, hostDone: true)
            }
        }
        // A page that is not full took everything there was.
        return ExportPage(records: records, next: records.count == limit ? last : nil)
    }

    /// Imports hosts, in order, in one transaction that locks every one of them against every
    /// other writer of the store (so each host's pin and history are written together, and a
    /// failure leaves none of these hosts changed); one commit for many hosts, where a commit
    /// each would cost a disk sync each.
    ///
    /// Per host: a store that already pins it the same way (the same certificate, policy and
    /// staged certificate) keeps everything of it as it is: `.identical`. Else: the pin when
    /// the store has none; the events the store's history of the host does not already hold
    /// (counted, so importing twice adds nothing); the server record when the store has none.
    /// A store that pins the host differently is a `.conflict` and nothing of it changes, and so
    /// is one that pins the host when the import brings events of it but not its pin (they would
    /// become the latest word on a pin they are not about), unless `replace`: then the imported pin and server record take the place of the store's,
    /// and the history records the replacement. Never deletes a pin. The records must have been
    /// checked as the store checks its rows (the caller's job: importPins does it before any
    /// host is written). A host given twice is imported twice, the second time as what the
    /// first left.
    public func importHosts(_ transfers: [HostTransfer], replace: Bool) throws(TofuError) -> [ImportOutcome] {
        guard !transfers.isEmpty else { return [] }
        return try write(lockingAll: transfers.map(\.host)) { tx in
            try transfers.map { transfer in try Self.importHost(transfer, replace: replace, tx) }
        }
    }

    /// `importHosts` of one host.
    public func importHost(_ transfer: HostTransfer, replace: Bool) throws(TofuError) -> ImportOutcome {
        try write(locking: transfer.host) { tx in try Self.importHost(transfer, replace: replace, tx) }
    }

    private static func importHost(_ transfer: HostTransfer, replace: Bool, _ tx: any StoreTransaction) throws -> ImportOutcome {
        let host = transfer.host
        let current = try tx.pin(host)
        var outcome = ImportOutcome(
            host: host, status: .identical, importedFingerprint: transfer.pin?.certificate.sha256Fingerprint,
            pinnedFingerprint: current?.certificate.sha256Fingerprint, differences: [], eventsAdded: 0, serverAdded: false)
        var replacing: (old: Pin, new: Pin)?
        if let incoming = transfer.pin, let current {
            outcome.differences = differences(current, incoming)
            // The same trust: the store's record of the host stands as it is.
            guard !outcome.differences.isEmpty else { return outcome }
            guard replace else {
                outcome.status = .conflict
                return outcome
            }
            replacing = (current, incoming)
        }
        // Events of a host the store pins while the import brings no pin for it would be
        // appended after the store's own, as the latest word on a pin they are not about: a
        // forged `mismatch` would keep verifyCert from recording the real one (it records a
        // mismatch once), a `matched` would hide an open one. Such history is a conflict, as a
        // different pin is, unless `replace`.
        let added = try Self.eventsToAdd(transfer, tx)
        if transfer.pin == nil, current != nil, !added.isEmpty, !replace {
            outcome.status = .conflict
            outcome.differences = ["history"]
            return outcome
        }
        var changed = false
        if let incoming = transfer.pin {
            if current == nil {
                try tx.insert(incoming)
                changed = true
            } else if replacing != nil {
                try tx.update(incoming)
            }
        }
        for event in added {
            try tx.recordImported(event)
            outcome.eventsAdded += 1
        }
        if let (old, new) = replacing {
            try tx.record(
                HistoryEvent(at: Timestamp.now(), host: host, kind: .replaced, sha256Fingerprint: new.certificate.sha256Fingerprint,
                             detail: describe(new.certificate) + "; replaced \(old.certificate.sha256Fingerprint) (policy \(old.policy.rawValue)) by an import with replace"))
        }
        if let server = transfer.server {
            let existing = try tx.server(host)
            if existing == nil || (replacing != nil && existing != server) {
                if existing != nil { try tx.deleteServer(host) }
                try tx.save(server)
                outcome.serverAdded = true
            }
        }
        if replacing != nil {
            outcome.status = .replaced
        } else if changed || outcome.eventsAdded > 0 || outcome.serverAdded {
            outcome.status = .imported
        }
        return outcome
    }

    /// The events of `transfer` the store's history of its host does not already hold, in order
    /// (each held event counts once, so importing twice adds nothing).
    private static func eventsToAdd(_ transfer: HostTransfer, _ tx: any StoreTransaction) throws -> [HistoryEvent] {
        guard !transfer.events.isEmpty else { return [] }
        var held: [HistoryEvent: Int] = [:]
        for event in try tx.history(host: transfer.host, kinds: [], since: nil, limit: Int.max) { held[event, default: 0] += 1 }
        var added: [HistoryEvent] = []
        for event in transfer.events {
            if let count = held[event], count > 0 {
                held[event] = count - 1
            } else {
                added.append(event)
            }
        }
        return added
    }

    /// How the store's pin and an imported one differ, in what a live handshake would accept:
    /// the certificate, the policy, the staged certificate. Times (pinnedAt, lastVerifiedAt,
    /// stagedAt) are not a difference.
    static func differences(_ current: Pin, _ incoming: Pin) -> [String] {
        var differences: [String] = []
        if current.certificate.sha256Fingerprint != incoming.certificate.sha256Fingerprint { differences.append("certificate") }
        if current.policy != incoming.policy { differences.append("policy") }
        if current.next?.certificate.sha256Fingerprint != incoming.next?.certificate.sha256Fingerprint { differences.append("next") }
        return differences
    }

    /// Whether `text` is a time as the store holds one: RFC 3339 UTC to the second, and a real
    /// time (`2026-11-29T04:00:00Z`). What a record of an import is checked against.
    public static func isStoredTimestamp(_ text: String) -> Bool {
        RowReader.isTimestamp(text)
    }
}

extension RowDecoding {
    /// An event row with its id (column 0), the order an export pages by.
    static func numberedEvent(_ reader: RowReader) throws(RowDamage) -> (id: Int64, event: HistoryEvent) {
        guard case .integer(let id) = try reader.value(0) else { throw reader.damage(0, "is not an integer row id") }
        return (id, try event(reader))
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
