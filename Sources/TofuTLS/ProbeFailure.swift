import TofuCore

/// Why a TLS connection to a host could not be made: the `reason` verifyCert and
/// addDnacServer report, with a sentence for the operator in `detail`.
public struct ProbeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The name did not resolve.
        case dns
        /// Nothing listens there (connection refused), or no address could be reached.
        case refused
        /// No answer before the deadline (connect or handshake).
        case timeout
        /// The peer closed or reset the connection during the handshake.
        case reset
        /// The peer refused the handshake with a TLS alert (`alert` names it).
        case tlsAlert
        /// Something answered, but not TLS (e.g. plain HTTP).
        case notTLS
        /// The handshake failed otherwise (bad messages, an oversized certificate chain, …).
        case `protocol`
        /// The caller cancelled.
        case cancelled
    }

    public let reason: Reason
    public let detail: String
    /// The alert's name, for `.tlsAlert` (e.g. "unrecognized name").
    public let alert: String?

    public init(_ reason: Reason, _ detail: String, alert: String? = nil) {
        self.reason = reason
        self.detail = detail
        self.alert = alert
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// What a host presented on a completed handshake.
public struct ProbeResult: Sendable {
    /// The leaf certificate: what gets pinned and compared.
    public let leaf: CertificateSummary
    /// Every certificate the peer sent, leaf first.
    public let chain: [CertificateSummary]
    /// OpenSSL's own verdict on the chain against the system's CAs ("ok", "self-signed
    /// certificate", …): information only, since under TOFU the pin is the trust decision.
    public let verification: String
    /// The negotiated protocol, e.g. "TLSv1.3".
    public let tlsVersion: String
    /// The address connected to, e.g. "127.0.0.1" or "::1".
    public let address: String
}
