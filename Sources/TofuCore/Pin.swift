/// A pinned certificate: the host key and what was presented there on first use.
public struct Pin: Sendable, Hashable {
    public var host: HostKey
    public var certificate: CertificateSummary
    /// RFC 3339 UTC.
    public var pinnedAt: String
    /// RFC 3339 UTC of the last live verification that matched; nil if never verified.
    public var lastVerifiedAt: String?
    /// What a live handshake must present to match.
    public var policy: PinPolicy
    /// The certificate the host will present after a planned rotation, staged beside the pin.
    public var next: StagedCertificate?

    public init(
        host: HostKey, certificate: CertificateSummary, pinnedAt: String, lastVerifiedAt: String? = nil, policy: PinPolicy = .certificate,
        next: StagedCertificate? = nil
    ) {
        self.host = host
        self.certificate = certificate
        self.pinnedAt = pinnedAt
        self.lastVerifiedAt = lastVerifiedAt
        self.policy = policy
        self.next = next
    }

    /// How a certificate presented in a completed handshake stands against this pin. Under
    /// policy publicKey, a certificate with the pinned key is a renewal only when it is newer
    /// (later notBefore, or the same and a later notAfter): an older one matches by its key but
    /// never replaces the pin, so two certificates cannot take turns.
    public func judge(_ presented: CertificateSummary) -> PinJudgement {
        if presented.sha256Fingerprint == certificate.sha256Fingerprint { return .pinned }
        if let next, presented.sha256Fingerprint == next.certificate.sha256Fingerprint { return .next }
        if policy == .publicKey && presented.spkiSha256 == certificate.spkiSha256 {
            let newer = (presented.notBefore, presented.notAfter) > (certificate.notBefore, certificate.notAfter)
            return newer ? .renewal : .sameKey
        }
        return .different
    }
}

/// What a pin accepts in a live handshake.
public enum PinPolicy: String, Sendable, CaseIterable {
    /// Exactly the pinned certificate (PI's behaviour, and the default).
    case certificate
    /// Any certificate with the pinned public key (SPKI), as RFC 7469 pins: a renewal that keeps
    /// the key replaces the stored certificate.
    case publicKey
}

/// A certificate staged as a pin's next one, and when.
public struct StagedCertificate: Sendable, Hashable {
    public var certificate: CertificateSummary
    /// RFC 3339 UTC.
    public var stagedAt: String

    public init(certificate: CertificateSummary, stagedAt: String) {
        self.certificate = certificate
        self.stagedAt = stagedAt
    }
}

/// How a presented certificate stands against a pin (see `Pin.judge`).
public enum PinJudgement: Sendable {
    /// The pinned certificate itself.
    case pinned
    /// The staged next certificate: a live handshake promotes it.
    case next
    /// A newer certificate with the pinned key, under the `publicKey` policy: a live handshake renews.
    case renewal
    /// An older (or equally old) certificate with the pinned key, under the `publicKey` policy:
    /// it matches by its key, and the pin stays.
    case sameKey
    /// Anything else: a mismatch.
    case different
}

/// What pinning did.
public enum PinStatus: String, Sendable {
    /// No pin existed: this certificate is now pinned (first use).
    case pinned
    /// The same certificate was already pinned: nothing changed.
    case matched
    /// A different pin was replaced (addDnacServer with acceptFingerprint).
    case replaced
    /// The certificate was staged as the pin's next one (pinCert with next).
    case staged
    /// The staged certificate was presented and promoted to the pin.
    case rotated
    /// A new certificate with the pinned key replaced the stored one (policy publicKey).
    case renewed
}

/// One line of the store's audit trail.
public struct HistoryEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case pinned, matched, replaced, deleted, mismatch, staged, unstaged, rotated, renewed, policyChanged
        /// A DNA Center server was added (or added again), or removed (removeDnacServer).
        case serverAdded, serverRemoved
        /// A DNA Center refused the credentials (HTTP 401 or 403 to the token request).
        case credentialsRefused

        /// The events that say what a host presented against its pin, or what became of the pin:
        /// the last of them is where the pin stands, which a verification compares with so
        /// that it records a change, not every look.
        public static let verdicts: [Kind] = [.pinned, .matched, .replaced, .deleted, .mismatch, .rotated, .renewed]
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
    /// The pinned certificate was presented (or, under policy publicKey, an older one with its
    /// key); `policyChanged` when the call set another policy on it.
    case matched(Pin, policyChanged: Bool)
    /// The staged certificate was presented and is now the pin (the old one is in the history).
    case rotated(Pin, previous: CertificateSummary)
    /// A new certificate with the pinned key was presented and is now the pin (policy publicKey).
    case renewed(Pin, previous: CertificateSummary)
    /// A different certificate was presented and the caller accepted exactly it: replace the
    /// pin once every later step has succeeded (see `PinStore.replace`). Nothing changed yet.
    case replacementAccepted(current: Pin)
    /// A different certificate was presented; nothing changed.
    case mismatch(current: Pin)
    /// The caller accepted one certificate (acceptFingerprint) and the host presented another:
    /// refused whether or not the host is pinned (`current`); nothing changed.
    case notAccepted(current: Pin?)
}
