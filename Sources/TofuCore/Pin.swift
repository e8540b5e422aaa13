/// A pinned certificate: the host key and what was presented there on first use.
public struct Pin: Sendable, Hashable {
    public var host: HostKey
    public var certificate: CertificateSummary
    /// RFC 3339 UTC.
    public var pinnedAt: String
    /// RFC 3339 UTC of the last live verification that matched; nil if never verified.
    public var lastVerifiedAt: String?

    public init(host: HostKey, certificate: CertificateSummary, pinnedAt: String, lastVerifiedAt: String? = nil) {
        self.host = host
        self.certificate = certificate
        self.pinnedAt = pinnedAt
        self.lastVerifiedAt = lastVerifiedAt
    }
}

/// What pinning did.
public enum PinStatus: String, Sendable {
    /// No pin existed: this certificate is now pinned (first use).
    case pinned
    /// The same certificate was already pinned: nothing changed.
    case matched
    /// A different pin was replaced (addDnacServer with acceptFingerprint).
    case replaced
}

/// One line of the store's audit trail.
public struct HistoryEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case pinned, matched, replaced, deleted, mismatch
    }

    public var at: String
    public var host: HostKey
    public var kind: Kind
    public var sha256Fingerprint: Fingerprint
    public var detail: String

    public init(at: String, host: HostKey, kind: Kind, sha256Fingerprint: Fingerprint, detail: String) {
        self.at = at
        self.host = host
        self.kind = kind
        self.sha256Fingerprint = sha256Fingerprint
        self.detail = detail
    }
}

/// A Cisco DNA Center that was added: which host, as whom, and the certificate it was added with.
/// The password is never part of it.
public struct DnacServer: Sendable, Hashable {
    public var host: HostKey
    public var username: String
    public var pinnedFingerprint: Fingerprint
    /// RFC 3339 UTC of the first add.
    public var addedAt: String
    /// RFC 3339 UTC of the last add (reachability and, unless skipped, credentials checked).
    public var lastCheckedAt: String
    /// Whether the last add checked the credentials successfully; nil when it skipped the check.
    public var authenticated: Bool?

    public init(host: HostKey, username: String, pinnedFingerprint: Fingerprint, addedAt: String, lastCheckedAt: String, authenticated: Bool?) {
        self.host = host
        self.username = username
        self.pinnedFingerprint = pinnedFingerprint
        self.addedAt = addedAt
        self.lastCheckedAt = lastCheckedAt
        self.authenticated = authenticated
    }
}

/// The trust-on-first-use decision for a presented certificate.
public enum TofuDecision: Sendable {
    /// Nothing was pinned: the certificate is now (first use).
    case pinned(Pin)
    /// The pinned certificate was presented.
    case matched(Pin)
    /// A different certificate was presented and the caller accepted exactly it: replace the
    /// pin once every later step has succeeded (see `PinStore.replace`). Nothing changed yet.
    case replacementAccepted(current: Pin)
    /// A different certificate was presented; nothing changed.
    case mismatch(current: Pin)
    /// The caller accepted one certificate (acceptFingerprint) and the host presented another:
    /// refused whether or not the host is pinned (`current`); nothing changed.
    case notAccepted(current: Pin?)
}
