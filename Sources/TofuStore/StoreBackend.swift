import TofuCore

/// Where the pins are kept: a database and its transactions, and nothing of what they mean.
///
/// Every decision (trust on first use, promotion, renewal, what a delete may delete, what the
/// history says) is `PinStore`'s, written once; a backend only stores and reads, inside the
/// transactions it is asked for. It is owned by one `PinStore` and used only inside that
/// actor's isolation, one call at a time, so it needs no lock of its own and is not `Sendable`.
///
/// Every method throws only `TofuError`, in the operator's words: a row that cannot be read
/// is `.damagedRow`, a database that cannot be used `.storeUnavailable` with the reason; a
/// `TofuError` thrown by `body` passes through as it is.
protocol StoreBackend: AnyObject {
    /// Runs `body` as one transaction that sees every commit made before it, of this process and
    /// of others, and commits before returning: either all of its changes are durable when it
    /// returns, or none is made (`body` threw, or the database failed). `host`, when given, is
    /// the one host key the transaction decides about; a backend shared by many machines may
    /// lock it for the transaction (it always serialises writers of the same host).
    func write<T>(locking host: HostKey?, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T

    /// `write`, deciding about every host of `hosts` (an import of many): all of them are locked
    /// as `write(locking:)` locks one, for the whole transaction.
    func write<T>(lockingAll hosts: [HostKey], _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T

    /// Runs `body`, which only reads committed state: a body of one primitive (every read
    /// `PinStore` makes) reads one consistent snapshot. Opens no more than reading needs.
    func read<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T

    /// Runs `body`, which only reads, on one consistent snapshot of committed state however many
    /// primitives it calls (a page of an export). Writes nothing, opens no more than reading needs.
    func snapshot<T>(_ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T

    /// `read`, for one of a run of point reads that arrived together (one read of a client's
    /// pipelined requests): it may share the snapshot of the run's first read, kept open between
    /// them, when `run` is the same number. Any other call ends that snapshot first, and so does
    /// `endSharedSnapshot`: it never outlives the run, nor hides a commit of this process.
    func read<T>(sharingSnapshotOf run: UInt64, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T

    /// Whether `read(sharingSnapshotOf:_:)` keeps a snapshot open now.
    var holdsSharedSnapshot: Bool { get }

    /// Ends the snapshot `read(sharingSnapshotOf:_:)` kept open, if any.
    func endSharedSnapshot()

    /// True once a failure has left the backend unusable (e.g. a lost connection): the store
    /// then closes it and opens a new one on its next call.
    var needsReopening: Bool { get }

    /// Closes every connection. Nothing is in progress when it is called.
    func close()

    /// Writes a consistent copy of the whole store, as of one moment, to the new file `path`
    /// (which must not exist), while other connections and processes go on writing; what the
    /// copy holds. Only a store that is one file can do this.
    func backup(to path: String) throws(TofuError) -> BackupSummary
}

extension StoreBackend {
    /// A backend whose snapshots cost nothing to begin (or a round trip each, as PostgreSQL's)
    /// gains nothing by sharing one: every read takes its own.
    func read<T>(sharingSnapshotOf run: UInt64, _ body: (any StoreTransaction) throws -> T) throws(TofuError) -> T {
        try read(body)
    }

    var holdsSharedSnapshot: Bool { false }

    func endSharedSnapshot() {}
}

/// What a backup holds: counted in the copy itself, once written and checked.
public struct BackupSummary: Sendable, Equatable {
    /// The copy's path, as given.
    public let path: String
    public let pins: Int
    public let servers: Int
    public let events: Int
    /// The copy's size in bytes.
    public let bytes: Int
}

/// The primitives a transaction offers `PinStore`: valid only inside the `write` or `read` body
/// they were given to. Reads throw `RowDamage` for a row that is not what tofu writes there.
protocol StoreTransaction {
    // MARK: Pins

    /// The pin of `host`, or nil if none.
    func pin(_ host: HostKey) throws -> Pin?
    /// The fingerprint stored in the pin row of `host`, as far as it can still be read: for a
    /// row `pin(_:)` reported damaged. Nil when there is no such row or the value is unreadable.
    func storedFingerprint(_ host: HostKey) throws -> Fingerprint?
    /// Adds the pin of `pin.host`, which has none.
    func insert(_ pin: Pin) throws
    /// Writes every field of the pin of `pin.host`, which exists.
    func update(_ pin: Pin) throws
    /// Deletes the pin row of `host`, damaged or not.
    func deletePin(_ host: HostKey) throws
    /// Sets only `lastVerifiedAt` of the pin of `host`.
    func touch(_ host: HostKey, verifiedAt: String) throws
    /// Up to `limit` pins in host-key order, each with a key after `after` (the text of a host
    /// key), of `host` only if given, with a certificate ending before `expiringBefore` if given,
    /// with a staged next certificate if `stagedOnly`; `more` says whether another one follows.
    func pins(after: String?, limit: Int, host: HostKey?, expiringBefore: String?, stagedOnly: Bool) throws -> (pins: [Pin], more: Bool)
    /// Every pinned host key, in order, each row read in full (a damaged one throws).
    func hostKeys() throws -> [HostKey]
    /// The pin of `host` when its row is plain and sound, checked in place (`PlainPin`); else
    /// `.notPlain`, and `pins` reads it. A backend that checks no row in place says `.notPlain`.
    func plainPin(_ host: HostKey) throws -> PlainPinLookup

    // MARK: History

    /// Appends `event` to the history.
    func record(_ event: HistoryEvent) throws
    /// Appends `event`, brought by an import (a decision made elsewhere, at its own time).
    func recordImported(_ event: HistoryEvent) throws
    /// The most recent `limit` events, oldest first: of `host` if given, of `kinds` unless it is
    /// empty, at or after `since` if given.
    func history(host: HostKey?, kinds: [HistoryEvent.Kind], since: String?, limit: Int) throws -> [HistoryEvent]
    /// The most recent event of `host` among `kinds`, or nil if none.
    func lastEvent(of host: HostKey, kinds: [HistoryEvent.Kind]) throws -> HistoryEvent?
    /// Deletes every event before `before` (of `host` only, if given); how many.
    func deleteEvents(before: String, host: HostKey?) throws -> Int

    // MARK: DNA Center servers

    /// The server of `host`, or nil if none.
    func server(_ host: HostKey) throws -> DnacServer?
    /// Every server, in host-key order.
    func servers() throws -> [DnacServer]
    /// Adds `server`, or updates the record of its host: everything but `addedAt`, which is kept.
    func save(_ server: DnacServer) throws
    /// Deletes the server row of `host`, damaged or not.
    func deleteServer(_ host: HostKey) throws

    // MARK: Moving a store

    /// Up to `limit` events in (host, id) order, each after (`after.host`, `after.id`) if given,
    /// with its id: the history host by host, as an export pages through it.
    func events(after: (host: String, id: Int64)?, limit: Int) throws -> [(id: Int64, event: HistoryEvent)]
    /// Up to `limit` servers in host-key order, each with a key from `from` on (itself included).
    func servers(from: String?, limit: Int) throws -> [DnacServer]
}

/// A row that cannot be read, as the store reports it (`TofuError.damagedRow`).
struct RowDamage: Error, Sendable {
    let row: DamagedRow
}

extension StoreTransaction {
    /// A backend keeps an imported event as any other.
    func recordImported(_ event: HistoryEvent) throws { try record(event) }

    /// Checks no row in place: each is read as a `Pin`.
    func plainPin(_ host: HostKey) throws -> PlainPinLookup { .notPlain }
}
