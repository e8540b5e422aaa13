/// What tofu shows of a certificate, the same for a stored pin and a live peer.
public struct CertificateSummary: Sendable, Hashable {
    /// Subject in OpenSSL's one-line form (`CN = kong`), the form PI prints; UTF-8 kept readable.
    public var subject: String
    /// Issuer, in the same form.
    public var issuer: String
    /// Serial number in uppercase hex, as `openssl x509 -serial` prints it.
    public var serialNumber: String
    public var sha256Fingerprint: Fingerprint
    /// RFC 7469 `pin-sha256`: base64 of SHA-256 over the DER SubjectPublicKeyInfo.
    public var spkiSha256: String
    /// RFC 3339 UTC.
    public var notBefore: String
    /// RFC 3339 UTC.
    public var notAfter: String
    /// `DNS:name`, `IP:address`, `email:…`, `URI:…`, in certificate order.
    public var subjectAltNames: [String]
    /// Algorithm and size: `RSA 2048`, `EC P-256`, `Ed25519`.
    public var publicKey: String
    /// The certificate itself, DER.
    public var der: [UInt8]

    public init(
        subject: String, issuer: String, serialNumber: String, sha256Fingerprint: Fingerprint, spkiSha256: String,
        notBefore: String, notAfter: String, subjectAltNames: [String], publicKey: String, der: [UInt8]
    ) {
        self.subject = subject
        self.issuer = issuer
        self.serialNumber = serialNumber
        self.sha256Fingerprint = sha256Fingerprint
        self.spkiSha256 = spkiSha256
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.subjectAltNames = subjectAltNames
        self.publicKey = publicKey
        self.der = der
    }

    /// How `other` differs from this certificate: the same key re-issued, or a new key.
    public func change(to other: CertificateSummary) -> CertificateChange? {
        if other.sha256Fingerprint == sha256Fingerprint { return nil }
        return other.spkiSha256 == spkiSha256 ? .reissuedSameKey : .newKey
    }

    /// Whether the certificate is valid at `time` (RFC 3339 UTC text compares in time order);
    /// `expiringSoon` when it is valid but ends before `soon` (e.g. 30 days from now).
    public func validity(at time: String, soon: String? = nil) -> Validity {
        if time < notBefore { return .notYetValid }
        if time > notAfter { return .expired }
        if let soon, notAfter < soon { return .expiringSoon }
        return .valid
    }
}

public enum CertificateChange: String, Sendable {
    /// Same public key, new certificate (a renewal with the old key).
    case reissuedSameKey
    /// A different public key: the controller generated a new key pair.
    case newKey
}

public enum Validity: String, Sendable {
    /// Valid, and not ending within the horizon asked about.
    case valid
    /// Valid now, but ending within the horizon asked about (the next outage, foreseen).
    case expiringSoon
    case expired, notYetValid
}
