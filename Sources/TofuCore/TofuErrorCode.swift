/// The JSON-RPC codes of tofu's own errors, beside the standard ones (-32700 … -32603, and
/// -32800 for a cancelled request). One list for every side of the wire: tofu-rpc answers with
/// them, and the CLI turns each into its exit status (clients/tofu.sh too, checked by a test).
public enum TofuErrorCode: Int, Sendable, CaseIterable {
    /// No pin for the host, or no DNA Center server recorded for it.
    case certNotFound = -32001
    /// The host presents, or the caller gave, another certificate than the one pinned.
    case certificateMismatch = -32002
    /// The host could not be reached over TLS.
    case hostUnreachable = -32003
    /// The DNA Center refused the credentials.
    case authenticationFailed = -32004
    /// The pin store cannot be used, or a row it needs cannot be read.
    case storeUnavailable = -32005
    /// The host answered TLS but is not a DNA Center.
    case notDnac = -32006
}
