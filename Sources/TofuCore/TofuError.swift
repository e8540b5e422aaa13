/// The failures tofu reports to its callers, each with what an operator needs to act.
/// The server answers each with its `TofuErrorCode`, or -32602 / -32800.
public enum TofuError: Error, Sendable, Equatable {
    /// A parameter's value is not acceptable in the store's current state (-32602); `field` names it.
    case invalidParameter(field: String, reason: String)
    /// No pin for this host key (-32001).
    case certNotFound(host: HostKey)
    /// The certificate is not the pinned one (-32002): `presented` is what the caller gave
    /// or the host presented, `expectedFingerprint` what the caller said it expected.
    case certificateMismatch(host: HostKey, pinned: Pin, presented: CertificateSummary?, expectedFingerprint: Fingerprint?)
    /// The pin of this host has no staged next certificate (-32001, kind nothingStaged).
    case nothingStaged(host: HostKey)
    /// The staged next certificate is not the one the caller expected (-32002); nothing changed.
    case stagedMismatch(host: HostKey, pin: Pin, expectedFingerprint: Fingerprint)
    /// The pin store cannot be used (-32005); `reason` says why and what to do.
    case storeUnavailable(reason: String)
    /// A row the call needed cannot be read (-32005); the rest of the store is usable.
    case damagedRow(DamagedRow, store: String)
    /// No DNA Center server recorded under this host key (-32001, kind dnacServerNotFound).
    case serverNotFound(host: HostKey)
    /// The caller cancelled before anything changed (-32800).
    case cancelled
}
