import JSONRPC
import TofuCore
import TofuTLS

/// Pins, certificates and events as they appear in answers (see protocol/openrpc.json).
enum PinJSON {
    /// `room`: how many members the caller will add (sized once, not grown as they come).
    static func certificate(_ certificate: CertificateSummary, includePem: Bool = false, room: Int = 0) -> [String: JSONValue] {
        Self.certificate(certificate, includePem: includePem, stagedAt: nil, room: room, as: [String: JSONValue].self)
    }

    static func pin(_ pin: Pin, includePem: Bool = false) -> JSONValue {
        .object(self.pin(pin, includePem: includePem, as: [String: JSONValue].self))
    }

    // Members are set in the order JSON_SORT_KEYS writes them (their bytes compared): jansson's
    // tree (`JanssonObject`) then needs no sort. Any other order gives the same text, sorted.

    /// The certificate's object (with `stagedAt` when it is staged), made as `Object`: a
    /// `JSONValue`'s members, or jansson's tree.
    static func certificate<Object: JSONObjectWriter & ~Copyable>(
        _ certificate: CertificateSummary, includePem: Bool, stagedAt: String?, room: Int = 0, as: Object.Type
    ) -> Object {
        var object = Object(capacity: 11 + room)
        object.set("issuer", certificate.issuer)
        object.set("notAfter", certificate.notAfter)
        object.set("notBefore", certificate.notBefore)
        if includePem { object.set("pem", X509Certificate.pem(der: certificate.der)) }
        object.set("publicKey", certificate.publicKey)
        object.set("serialNumber", certificate.serialNumber)
        object.set("sha256Fingerprint", certificate.sha256Fingerprint.description)
        object.set("spkiSha256", certificate.spkiSha256)
        if let stagedAt { object.set("stagedAt", stagedAt) }
        object.set("subject", certificate.subject)
        object.set("subjectAltNames", strings: certificate.subjectAltNames)
        return object
    }

    /// The pin's object, made as `Object`: a `JSONValue`'s members, or jansson's tree. Its
    /// certificate's members are `certificate`'s, among the pin's own.
    static func pin<Object: JSONObjectWriter & ~Copyable>(_ pin: Pin, includePem: Bool, as: Object.Type) -> Object {
        let certificate = pin.certificate
        var object = Object(capacity: 17)
        object.set("address", pin.host.host)
        object.set("host", pin.host.description)
        object.set("issuer", certificate.issuer)
        object.set("lastVerifiedAt", orNull: pin.lastVerifiedAt)
        if let staged = pin.next {
            object.set("next", object: Self.certificate(staged.certificate, includePem: includePem, stagedAt: staged.stagedAt, as: Object.self))
        } else {
            object.setNull("next")
        }
        object.set("notAfter", certificate.notAfter)
        object.set("notBefore", certificate.notBefore)
        if includePem { object.set("pem", X509Certificate.pem(der: certificate.der)) }
        object.set("pinnedAt", pin.pinnedAt)
        object.set("policy", pin.policy.rawValue)
        object.set("port", Int64(pin.host.port))
        object.set("publicKey", certificate.publicKey)
        object.set("serialNumber", certificate.serialNumber)
        object.set("sha256Fingerprint", certificate.sha256Fingerprint.description)
        object.set("spkiSha256", certificate.spkiSha256)
        object.set("subject", certificate.subject)
        object.set("subjectAltNames", strings: certificate.subjectAltNames)
        return object
    }

    static func event(_ event: HistoryEvent) -> JSONValue {
        [
            "at": .string(event.at), "host": .string(event.host.description), "event": .string(event.kind.rawValue),
            "sha256Fingerprint": .string(event.sha256Fingerprint.description), "detail": .string(event.detail),
        ]
    }
}
