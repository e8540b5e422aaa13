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

    /// The endings of SQLite's side files: a backup named so beside a database would be taken
    /// for that database's journal, WAL or shared memory, and lost.
    static let sideFileSuffixes = ["-journal", "-wal", "-shm"]

    func backupStore(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let path: String = try params.named(allowing: ["path"]).required("path")
        guard !path.isEmpty, !path.utf8.contains(0), path.utf8.count <= 4096 else {
            throw ResponseError.invalidParams(field: "path", "must be a file path of 1 to 4096 bytes, without NUL")
        }
        if let suffix = Self.sideFileSuffixes.first(where: { path.hasSuffix($0) }) {
            throw ResponseError.invalidParams(
                field: "path",
                "ends in '\(suffix)': SQLite takes a file named like a database plus -journal, -wal or -shm for that database's own, and deletes or overwrites it when the database is next opened (a copy named after the store's journal would be gone at the next start); choose a name without that ending")
        }
        if let refusal = store.backupRefusal {
            throw ResponseError(
                code: ErrorCode(.storeUnavailable), kind: "backupNotSupported",
                message: "Cannot back up this store with backupStore: \(refusal).", details: ["reason": .string(refusal)])
        }
        // Written and synced before the answer; a cancel that comes once it has begun does not tear it.
        let summary = try await committing(context) { try await store.backup(to: path) }
        return [
            "path": .string(summary.path), "pins": .int(Int64(summary.pins)), "servers": .int(Int64(summary.servers)),
            "events": .int(Int64(summary.events)), "bytes": .int(Int64(summary.bytes)),
        ]
    }
}
