/// A row of the store that tofu cannot read: hand-edited, or written by something that is
/// not tofu. Named by table and rowid (and host, where the row has a readable one), so an
/// operator can find it with sqlite3 and repair or delete it.
public struct DamagedRow: Sendable, Equatable {
    /// `pin`, `dnac_server` or `event`.
    public let table: String
    /// The row's `id` (its SQLite rowid).
    public let rowid: Int64
    /// The row's host key as stored, escaped and clipped; nil when the row has none that is text.
    public let host: String?
    /// The first column that cannot be read.
    public let column: String
    /// What is wrong with it, in an operator's words (never more than a short, escaped excerpt).
    public let problem: String

    public init(table: String, rowid: Int64, host: String?, column: String, problem: String) {
        self.table = table
        self.rowid = rowid
        self.host = host
        self.column = column
        self.problem = problem
    }

    /// Whether `host` names this row by a canonical key that methods accept (so `deleteCert`
    /// or `removeDnacServer` can reach it), rather than only by rowid.
    public var reachableHost: HostKey? {
        guard let host, let key = try? HostKey(parsing: host), key.description == host else { return nil }
        return key
    }

    /// "row 3 of table pin (host 192.0.2.10_443)".
    public var name: String {
        "row \(rowid) of table \(table)" + (host.map { " (host \($0))" } ?? "")
    }
}
