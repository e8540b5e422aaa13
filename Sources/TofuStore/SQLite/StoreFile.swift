import Foundation
import GRDB
import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// Opening the store file: creating it safely, refusing what is not ours, migrating.
/// Runs on the store's own thread, never on Swift's cooperative pool.
enum StoreFile {
    /// An open store: `writer` is nil when the file can only be read (`readOnlyReason` says why).
    struct Handle {
        let writer: DatabasePool?
        let readOnlyReason: String?
        /// Every read outside a write: one query-only connection (the read-only store's own when
        /// it cannot be written), used as is, without the per-read schema check of GRDB's pool
        /// readers (a second statement and read transaction on every call).
        let reader: DatabaseQueue

        /// Closes every connection, the writer last: the last connection to close folds the WAL
        /// back into the file, which a read-only one cannot do. GRDB's `DatabasePool.close`
        /// closes its writer before its readers, so the readers are closed first here
        /// (`releaseMemory` closes a pool's readers).
        func close() {
            try? reader.close()
            writer?.releaseMemory()
            try? writer?.close()
        }
    }

    /// Opens the whole store, creating and migrating it as needed; `existing` is a reader opened
    /// alone before (`openReader`), kept as the reader of a store that can be written.
    static func open(path: String, busyTimeout: TimeInterval, reader existing: DatabaseQueue? = nil) throws -> Handle {
        try prepare(path)
        var configuration = Configuration()
        configuration.busyMode = busyMode(busyTimeout)
        if access(path, W_OK) != 0 {
            return try openReadOnly(path, reason: Errno.current.description, configuration: configuration)
        }
        try inspect(path)
        let pool = try retryingWhileBusy(busyTimeout) { try DatabasePool(path: path, configuration: configuration) }
        // An answer is sent only after its write is on disk: every commit syncs the WAL. Set on
        // the writer here, not in `prepareDatabase`: GRDB's WAL set-up runs after that and sets
        // `synchronous = NORMAL`, under which a commit is not synced and a power cut can lose it.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try migrate(pool)
        let reader = try existing ?? queryOnlyConnection(path, busyTimeout: busyTimeout)
        return Handle(writer: pool, readOnlyReason: nil, reader: reader)
    }

    /// The reader alone, for a process whose first call reads (a cold `tofu listcerts --host`):
    /// one connection, and no write. Opening the whole store costs
    /// four connections and, when no other process has it open, a synced write (GRDB re-creates
    /// the WAL file). Nil when the store needs more than reading: missing, empty, not writable
    /// by us, or not fully migrated; the caller then opens it whole. What is not a tofu store,
    /// or is from a newer tofu, is refused as `open` refuses it.
    static func openReader(path: String, busyTimeout: TimeInterval) throws -> DatabaseQueue? {
        guard let size = try inspectFile(path), size > 0, access(path, W_OK) == 0 else { return nil }
        let queue = try queryOnlyConnection(path, busyTimeout: busyTimeout)
        // `inDatabase`, not `read`: GRDB's `read` ends with `PRAGMA query_only = 0`.
        guard try queue.inDatabase({ try schema($0, path: path) }) == .current else {
            try queue.close()
            return nil
        }
        return queue
    }

    /// Opened read-write but query-only: a SQLITE_OPEN_READONLY connection cannot recover or
    /// checkpoint the WAL, so it answers "busy" while another process creates the store and,
    /// closing last, can leave the pins in a WAL that a read-only reader never sees.
    private static func queryOnlyConnection(_ path: String, busyTimeout: TimeInterval) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = busyMode(busyTimeout)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA query_only = 1") }
        // A run of point reads shares one snapshot, left open between calls (`SQLiteBackend`).
        configuration.allowsUnsafeTransactions = true
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Applies missing migrations. Two processes opening a new store at once may both find a
    /// migration missing; the slower one then fails ("table already exists") and retries, and
    /// the migrator skips what the other applied.
    private static func migrate(_ pool: DatabasePool) throws {
        var attempts = 0
        while true {
            do {
                try Schema.migrator.migrate(pool)
                return
            } catch {
                attempts += 1
                if (try? pool.read({ try Schema.migrator.hasCompletedMigrations($0) })) == true { return }
                if attempts >= 50 { throw error }
                usleep(10_000)
            }
        }
    }

    /// Reads work on a store we may not write. A WAL store also needs its `-shm` file; when
    /// that cannot be created either, the file is read as an immutable snapshot.
    private static func openReadOnly(_ path: String, reason: String, configuration: Configuration) throws -> Handle {
        var configuration = configuration
        configuration.readonly = true
        // As the query-only reader: a run of point reads shares one snapshot.
        configuration.allowsUnsafeTransactions = true
        let because = "the store \(path) is read-only (\(reason)); reads work, changes need write access to it"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try requireSchema(queue, path: path)
            return Handle(writer: nil, readOnlyReason: because, reader: queue)
        } catch let error as DatabaseError where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) {
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
            let queue = try DatabaseQueue(path: "file:\(escaped)?immutable=1", configuration: configuration)
            try requireSchema(queue, path: path)
            return Handle(writer: nil, readOnlyReason: because + " (read as a snapshot taken when it was opened)", reader: queue)
        }
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, for about `timeout`. SQLite answers
    /// busy at once, without calling the busy handler, where waiting could deadlock: a
    /// connection that switches a new store to WAL while another process holds its write lock
    /// (several processes creating one store at the same moment) gets busy, not a wait.
    private static func retryingWhileBusy<T>(_ timeout: TimeInterval, _ body: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + .milliseconds(Int(max(0, timeout) * 1000))
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                usleep(1000)
            }
        }
    }

    /// Waits for another process's lock, retrying every millisecond, for about `timeout`.
    /// SQLite's own timeout backs off to 100 ms sleeps, so a process that commits in quick
    /// succession can starve another one past its timeout; 1 ms sleeps take each gap.
    static func busyMode(_ timeout: TimeInterval) -> Database.BusyMode {
        let tries = Int(max(0, timeout) * 1000)
        return .callback { attempt in
            guard attempt < tries else { return false }
            usleep(1000)
            return true
        }
    }

    /// Checks an existing store is a regular file, or a symlink of our own; its size (of the
    /// file a symlink names), or nil when there is no such file.
    private static func inspectFile(_ path: String) throws -> Int? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else {
                throw TofuError.storeUnavailable(reason: "cannot inspect the store \(path): \(Errno.current.description)")
            }
            return nil
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK && info.st_uid != geteuid() {
            throw TofuError.storeUnavailable(reason: "the store \(path) is a symbolic link owned by another user (uid \(info.st_uid)); tofu will not follow it. Point --store at the real file")
        }
        if type != S_IFLNK && type != S_IFREG {
            throw TofuError.storeUnavailable(reason: "the store \(path) is not a regular file")
        }
        if type == S_IFLNK && stat(path, &info) != 0 { return nil }
        return Int(info.st_size)
    }

    /// Creates a missing store (0600 in a 0700 directory); checks an existing one is a
    /// regular file, or a symlink of our own.
    private static func prepare(_ path: String) throws {
        if try inspectFile(path) != nil { return }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw TofuError.storeUnavailable(reason: "cannot create the store's directory \(directory): \(error.localizedDescription)")
            }
        }
        let fd = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 && errno != EEXIST {
            throw TofuError.storeUnavailable(reason: "cannot create the store \(path): \(Errno.current.description)")
        }
        if fd >= 0 { close(fd) }
    }

    /// Refuses, without changing a byte, a file that is not a tofu store or was written by a
    /// newer tofu.
    private static func inspect(_ path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = busyMode(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try requireSchema(queue, path: path, allowEmpty: true)
        try queue.close()
    }

    private static func requireSchema(_ reader: any DatabaseReader, path: String, allowEmpty: Bool = false) throws {
        switch try reader.read({ try schema($0, path: path) }) {
        case .current: return
        case .empty where allowEmpty, .behind where allowEmpty: return
        case .empty:
            throw TofuError.storeUnavailable(reason: notATofuStore(path))
        case .behind:
            throw TofuError.storeUnavailable(reason: "the store \(path) needs a schema upgrade, which a read-only store cannot get")
        }
    }

    private enum SchemaState { case empty, behind, current }

    /// Where the store's schema stands; throws for a database that is not a tofu store, or
    /// that a newer tofu wrote.
    private static func schema(_ db: Database, path: String) throws -> SchemaState {
        let tables = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if tables.isEmpty { return .empty }
        guard tables.contains("grdb_migrations") else { throw TofuError.storeUnavailable(reason: notATofuStore(path)) }
        let applied = try Schema.migrator.appliedIdentifiers(db)
        let known = Set(Schema.migrator.migrations)
        if let unknown = applied.subtracting(known).sorted().first {
            throw TofuError.storeUnavailable(reason: "the store \(path) was written by a newer tofu (schema '\(unknown)'); upgrade tofu, this build will not change it")
        }
        return applied == known ? .current : .behind
    }

    private static func notATofuStore(_ path: String) -> String {
        "\(path) is an SQLite database but not a tofu store; tofu will not touch it. Give another --store path"
    }

    /// The operator's words for a database failure.
    /// The process's file-descriptor limit when (nearly) every descriptor under it is open: SQLite
    /// then says only "unable to open database file", which reads like a problem with the store.
    static func outOfDescriptors() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        guard let directory = opendir("/proc/self/fd") else { return errno == EMFILE || errno == ENFILE ? UInt64(limit.rlim_cur) : nil }
        defer { closedir(directory) }
        var open: UInt64 = 0
        while readdir(directory) != nil { open += 1 }
        // Less ".", ".." and the descriptor opendir holds; opening a store takes up to four
        // (the database, its WAL, its shared memory, a journal), so within four counts as out.
        let held = open >= 3 ? open - 3 : 0
        return held + 4 >= UInt64(limit.rlim_cur) ? UInt64(limit.rlim_cur) : nil
    }

    static func unavailable(_ error: any Error, path: String) -> TofuError {
        if let error = error as? TofuError { return error }
        if let damage = error as? RowDamage { return .damagedRow(damage.row, store: path) }
        guard let error = error as? DatabaseError else {
            return .storeUnavailable(reason: "the store \(path) failed: \(error)")
        }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .storeUnavailable(reason: "the store \(path) is locked by another process; retry, or find the holder with 'fuser \(path)'")
        case .SQLITE_READONLY:
            return .storeUnavailable(reason: "the store \(path) is read-only (\(detail)); changes need write access to the file and its directory")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .storeUnavailable(reason: "the store \(path) is damaged or not an SQLite database (\(detail)); tofu will not overwrite it: move it aside and restore a backup")
        case .SQLITE_FULL:
            return .storeUnavailable(reason: "the disk holding the store \(path) is full; nothing was written")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            if let limit = outOfDescriptors() {
                return .storeUnavailable(
                    reason: "cannot open the store \(path): tofu-rpc has run out of file descriptors (ulimit -n \(limit)); the store itself may be fine: raise the limit, or lower --max-probes")
            }
            return .storeUnavailable(reason: "cannot open the store \(path) (\(detail)); check the file and its directory")
        default:
            return .storeUnavailable(reason: "the store \(path) failed (\(detail))")
        }
    }
}
