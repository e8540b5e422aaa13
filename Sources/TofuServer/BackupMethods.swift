import JSONRPC
import TofuCore
import TofuStore

/// backupStore: a consistent copy of the live store, written by SQLite's online backup API
/// while other processes go on writing.
struct BackupMethods: Sendable {
    let store: PinStore

    func register(in table: inout MethodTable) {
        table.register("backupStore") { params, context in try await backupStore(params, context) }
    }

    /// The endings a backup's name must have. The copy holds text a peer chose (certificate
    /// subjects, imported history), and a copy under any name could be read by another program
    /// as its own: one written as ~/.ssh/authorized_keys2 with an imported event whose detail
    /// is a line `ssh-ed25519 AAAA…` let that key log in. Those files, and SQLite's own
    /// -journal, -wal and -shm beside a database, never end so.
    static let databaseNameEndings = [".sqlite", ".sqlite3", ".db"]

    func backupStore(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let path: String = try params.named(allowing: ["path"]).required("path")
        guard !path.isEmpty, !path.utf8.contains(0), path.utf8.count <= 4096 else {
            throw ResponseError.invalidParams(field: "path", "must be a file path of 1 to 4096 bytes, without NUL")
        }
        if let refusal = store.backupRefusal {
            throw ResponseError(
                code: ErrorCode(.storeUnavailable), kind: "backupNotSupported",
                message: "Cannot back up this store with backupStore: \(refusal).", details: ["reason": .string(refusal)])
        }
        guard Self.databaseNameEndings.contains(where: { path.hasSuffix($0) && path.count > $0.count && !path.hasSuffix("/" + $0) }) else {
            throw ResponseError.invalidParams(
                field: "path",
                "must name a file ending in .sqlite, .sqlite3 or .db: the copy is an SQLite database, and a file of another name may be one that another program reads as its own (~/.ssh/authorized_keys2, a profile, a journal SQLite deletes); give a name such as store-backup.sqlite")
        }
        // Written and synced before the answer; a cancel that comes once it has begun does not tear it.
        let summary = try await committing(context) { try await store.backup(to: path) }
        return [
            "path": .string(summary.path), "pins": .int(Int64(summary.pins)), "servers": .int(Int64(summary.servers)),
            "events": .int(Int64(summary.events)), "bytes": .int(Int64(summary.bytes)),
        ]
    }
}
