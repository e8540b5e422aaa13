import Foundation
import GRDB
import Posix
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// A consistent copy of a live SQLite store, by SQLite's online backup API: the pages of one
/// snapshot, taken in one step under a read lock, which in WAL mode never stops other
/// processes from writing. What they commit after the snapshot is not in the copy.
///
/// The copy is written beside its destination under a temporary name, checked
/// (`PRAGMA integrity_check`), synced, and only then linked to its name, which must not exist:
/// a backup never overwrites a file, and a failure or a kill leaves no half copy under it.
enum StoreBackup {
    /// Copies the store `source` reads to the new file `path`; what the copy holds.
    static func write(from source: DatabaseQueue, to path: String) throws -> BackupSummary {
        try refuseExisting(path)
        let temporary = try makeTemporaryFile(beside: path)
        var linked = false
        defer { if !linked { unlink(temporary) } }
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        let copy = try DatabaseQueue(path: temporary, configuration: configuration)
        let summary: BackupSummary
        do {
            // One step (all pages at once) copies one snapshot of the source.
            try source.inDatabase { from in
                try copy.writeWithoutTransaction { to in try from.backup(to: to, pagesPerStep: -1) }
            }
            summary = try copy.writeWithoutTransaction { db in
                // A copy is one self-contained file: no WAL beside it.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else {
                    throw TofuError.storeUnavailable(reason: "the copy failed SQLite's integrity check (\(check.prefix(3).joined(separator: "; "))); nothing was written to \(path)")
                }
                return BackupSummary(
                    path: path,
                    pins: try Int.fetchOne(db, sql: "SELECT count(*) FROM pin") ?? 0,
                    servers: try Int.fetchOne(db, sql: "SELECT count(*) FROM dnac_server") ?? 0,
                    events: try Int.fetchOne(db, sql: "SELECT count(*) FROM event") ?? 0,
                    bytes: 0)
            }
            try copy.close()
        } catch {
            try? copy.close()
            throw error
        }
        try sync(temporary)
        // link, not rename: it refuses a file someone made at `path` meanwhile instead of replacing it.
        guard link(temporary, path) == 0 else {
            let failure = Errno.current
            if failure == Errno(EEXIST) { try refuseExisting(path) }
            throw TofuError.storeUnavailable(reason: "cannot create the backup \(path): \(failure.description)")
        }
        linked = true
        unlink(temporary)
        try sync(directory(of: path))
        var info = stat()
        let bytes = stat(path, &info) == 0 ? Int(info.st_size) : 0
        return BackupSummary(path: summary.path, pins: summary.pins, servers: summary.servers, events: summary.events, bytes: bytes)
    }

    private static func refuseExisting(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            throw TofuError.invalidParameter(
                field: "path", reason: "names an existing file (\(path)); a backup never overwrites one: give a new path, or move the old file aside first")
        }
    }

    private static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    /// A new file, 0600, in the directory of `path`, with a name of its own.
    private static func makeTemporaryFile(beside path: String) throws -> String {
        let directory = directory(of: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TofuError.invalidParameter(field: "path", reason: "is in a directory that does not exist (\(directory)): create it first")
        }
        var template = Array((directory + "/.tofu-backup-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw TofuError.storeUnavailable(reason: "cannot create a file in \(directory) for the backup: \(Errno.current.description)")
        }
        close(fd)
        // mkstemp wrote the name over the Xs; the terminating NUL stays last.
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Flushes a file or directory to disk.
    private static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TofuError.storeUnavailable(reason: "cannot open \(path) to sync it: \(Errno.current.description)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw TofuError.storeUnavailable(reason: "cannot sync \(path) to disk: \(Errno.current.description)") }
    }

    /// The operator's words for a backup that failed: a refusal of the destination as it is,
    /// a failure of the store in the store's words.
    static func failure(_ error: any Error, store: String, destination: String) -> TofuError {
        if let error = error as? TofuError { return error }
        if let error = error as? DatabaseError, [.SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_FULL, .SQLITE_IOERR].contains(error.resultCode) {
            return .storeUnavailable(reason: "cannot write the backup \(destination) (\(error.message ?? "\(error.resultCode)")); the store \(store) is unchanged")
        }
        return StoreFile.unavailable(error, path: store)
    }
}
