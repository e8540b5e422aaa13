import TofuCore

/// What a host presented on a completed handshake.
public struct ProbeResult: Sendable {
    /// The leaf certificate: what gets pinned and compared.
    public let leaf: CertificateSummary
    /// OpenSSL's own verdict on the chain against the system's CAs ("ok", "self-signed
    /// certificate", …): information only, since under TOFU the pin is the trust decision.
    public let verification: String
    /// The negotiated protocol, e.g. "TLSv1.3".
    public let tlsVersion: String
    /// The address connected to, e.g. "127.0.0.1" or "::1".
    public let address: String
}
