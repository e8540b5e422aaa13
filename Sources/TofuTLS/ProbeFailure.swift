import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

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
        /// tofu-rpc itself ran out of something it needs to connect (file descriptors, threads):
        /// nothing is known about the host, and `detail` says what to raise.
        case localLimit
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

    /// The failure to report when `error` (an errno) says this process, or the whole system,
    /// has no file descriptor left; nil for any other error.
    static func outOfDescriptors(_ error: Int32, doing what: String) -> ProbeFailure? {
        switch error {
        case EMFILE:
            var limit = rlimit()
            let soft = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? String(limit.rlim_cur) : "?"
            return ProbeFailure(
                .localLimit,
                "tofu-rpc has run out of file descriptors (ulimit -n \(soft)) while \(what); nothing is known about the host: raise the limit, or lower --max-probes")
        case ENFILE:
            return ProbeFailure(
                .localLimit,
                "the system has run out of file descriptors (ENFILE) while tofu-rpc was \(what); nothing is known about the host: see fs.file-max")
        default:
            return nil
        }
    }
}
