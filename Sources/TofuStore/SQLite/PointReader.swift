import GRDBSQLite
import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// The input thread's own connection to an SQLite store, for the lookup asked most ("what is
/// pinned for this host?"): one prepared SELECT stepped straight with SQLite, no GRDB queue, no
/// store isolation, so the answer costs little more than the read itself, and it is given even
/// while the store's thread is busy with a write (a WAL file lets a reader read beside a writer).
///
/// It answers only what it can answer at once: it never waits for a lock (busy timeout 0), and it
/// declines (nil) whenever it cannot open, the store is busy, a step fails, or the row is not a
/// plain, sound pin (`PlainPin`); the caller then reads as before, through `PinStore`, which
/// waits, reports and judges. It opens only once the store has opened the file and found it
/// current (`enable`), only on that file, and only if this process may write it. A failure
/// closes the connection, and the next `retryAfter` reads are declined before it opens again:
/// a store in trouble costs a point read one attempt in many.
///
/// Like the store's reader, it is opened read-write but query-only (a read-only connection cannot
/// recover a WAL another process left), and it never creates a file. Used by one thread at a
/// time (the input thread); the lock only makes that safe to say.
final class PointReader: Sendable {
    private let path: String
    private let state = Locked<State>(State())

    /// Point reads declined after a failure before the connection is opened again.
    static let retryAfter = 1000

    private struct State: ~Copyable {
        var connection: Connection?
        /// The store has opened the file, and not closed it since.
        var enabled = false
        /// The store found the file read-only when it opened it: it may then read a snapshot
        /// taken at that moment (`immutable`), which a connection of ours would not see.
        var readOnly = false
        /// The file the store opened (the path may name another later: a link re-pointed, a
        /// file moved in); nil when it could not be told. A connection opens only on it.
        var file: FileIdentity?
        /// Point reads still to decline after a failure.
        var declining = 0
        /// Point reads since the last `endRun`; from the second on they share one snapshot.
        var readsInRun = 0
    }

    init(path: String) {
        self.path = path
    }

    /// Lets the reader open: the store has just opened the file and found it current. Not a
    /// file this process may not write: the store may read that as a snapshot of the moment it
    /// opened it, and a point read must answer what the store's own read would.
    func enable() {
        let readOnly = access(path, W_OK) != 0
        let file = FileIdentity(path)
        state.withLock { state in
            state.enabled = true
            state.readOnly = readOnly
            state.file = file
            state.declining = 0
        }
    }

    /// Closes the connection until `enable`.
    func close() {
        state.withLock { state in
            state.connection = nil
            state.enabled = false
            state.readsInRun = 0
        }
    }

    /// The pin of `host`, when it can be read at once: nil when not (see the type).
    func plainPin(_ host: HostKey) -> PlainPinLookup? {
        state.withLock { state -> PlainPinLookup? in
            guard state.enabled, !state.readOnly else { return nil }
            guard state.declining == 0 else {
                state.declining -= 1
                return nil
            }
            if state.connection == nil {
                // Only on the file the store reads: the path is looked at before and after it
                // is opened, as the store keeps what it opened, whatever the path names now.
                guard let file = state.file, FileIdentity(path) == file else {
                    failed(&state)
                    return nil
                }
                state.connection = Connection(path: path)
                guard state.connection != nil, FileIdentity(path) == file else {
                    failed(&state)
                    return nil
                }
            }
            state.readsInRun += 1
            let found = state.connection?.plainPin(host, sharing: state.readsInRun > 1)
            if found == nil { failed(&state) }
            return found
        }
    }

    /// Ends the run of reads that share a snapshot: the next read sees every commit made before it.
    func endRun() {
        state.withLock { state in
            guard state.readsInRun > 0 else { return }
            state.readsInRun = 0
            if state.connection?.endSnapshot() == false { failed(&state) }
        }
    }

    private func failed(_ state: inout State) {
        state.connection = nil
        state.declining = Self.retryAfter
        state.readsInRun = 0
    }

    /// Which file a path names (following links, as SQLite does).
    private struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64

        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
        }
    }

    /// One SQLite connection and the statements it holds prepared; closed when it goes.
    private struct Connection: ~Copyable {
        private let db: OpaquePointer
        private let select: OpaquePointer
        private let begin: OpaquePointer
        private let commit: OpaquePointer
        private var inSnapshot = false

        private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

        init?(path: String) {
            var opened: OpaquePointer?
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
            guard sqlite3_open_v2(path, &opened, flags, nil) == SQLITE_OK, let db = opened else {
                sqlite3_close_v2(opened)
                return nil
            }
            func prepare(_ sql: String) -> OpaquePointer? {
                var statement: OpaquePointer?
                guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK else {
                    sqlite3_finalize(statement)
                    return nil
                }
                return statement
            }
            guard sqlite3_exec(db, "PRAGMA query_only = 1", nil, nil, nil) == SQLITE_OK,
                let select = prepare("SELECT \(Rows.pinColumns) FROM pin WHERE host = ?")
            else {
                sqlite3_close_v2(db)
                return nil
            }
            guard let begin = prepare("BEGIN DEFERRED TRANSACTION") else {
                sqlite3_finalize(select)
                sqlite3_close_v2(db)
                return nil
            }
            guard let commit = prepare("COMMIT TRANSACTION") else {
                sqlite3_finalize(select)
                sqlite3_finalize(begin)
                sqlite3_close_v2(db)
                return nil
            }
            (self.db, self.select, self.begin, self.commit) = (db, select, begin, commit)
        }

        deinit {
            sqlite3_finalize(select)
            sqlite3_finalize(begin)
            sqlite3_finalize(commit)
            sqlite3_close_v2(db)
        }

        /// The pin of `host`, in the run's snapshot when `sharing`; nil when a step failed.
        mutating func plainPin(_ host: HostKey, sharing: Bool) -> PlainPinLookup? {
            if sharing, !inSnapshot {
                guard run(begin) else { return nil }
                inSnapshot = true
            }
            defer { sqlite3_reset(select) }
            let key = host.description
            guard sqlite3_bind_text(select, 1, key, -1, Self.transient) == SQLITE_OK else { return nil }
            switch sqlite3_step(select) {
            case SQLITE_DONE: return .noPin
            case SQLITE_ROW: break
            default: return nil
            }
            let plain = Rows.plainPin(select, host: host, key: key)
            // The key is unique: a second row is no plain pin.
            guard sqlite3_step(select) == SQLITE_DONE else { return nil }
            return plain.map(PlainPinLookup.plain) ?? .notPlain
        }

        /// Ends the run's snapshot, if one was begun; false when that failed.
        mutating func endSnapshot() -> Bool {
            guard inSnapshot else { return true }
            inSnapshot = false
            return run(commit) || sqlite3_get_autocommit(db) != 0
        }

        private func run(_ statement: OpaquePointer) -> Bool {
            defer { sqlite3_reset(statement) }
            return sqlite3_step(statement) == SQLITE_DONE
        }
    }
}
