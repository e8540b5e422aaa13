import JSONRPC
import TofuCore
import TofuStore
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

    /// A plain pin's object, built in jansson from its stored texts (`PlainPin`): the members
    /// and text `pin(_:includePem:as:)` gives for the `Pin` read from the same row (without
    /// PEM). Nil when one of its texts is not UTF-8: the row is then read as a `Pin`, whose
    /// texts are repaired.
    static func pin(plain: PlainPin) -> JanssonObject? {
        var object = JanssonObject()
        let complete = plain.withTexts { texts in
            object.set("address", plain.host.host)
            object.set("host", plain.host.description)
            guard object.set("issuer", utf8: texts.issuer) else { return false }
            if let verifiedAt = texts.lastVerifiedAt {
                guard object.set("lastVerifiedAt", utf8: verifiedAt) else { return false }
            } else {
                object.setNull("lastVerifiedAt")
            }
            object.setNull("next")
            guard object.set("notAfter", utf8: texts.notAfter), object.set("notBefore", utf8: texts.notBefore),
                object.set("pinnedAt", utf8: texts.pinnedAt)
            else { return false }
            object.set("policy", plain.policy.rawValue)
            object.set("port", Int64(plain.host.port))
            return object.set("publicKey", utf8: texts.publicKey) && object.set("serialNumber", utf8: texts.serialNumber)
                && object.set("sha256Fingerprint", utf8: texts.sha256Fingerprint) && object.set("spkiSha256", utf8: texts.spkiSha256)
                && object.set("subject", utf8: texts.subject) && object.set("subjectAltNames", utf8Strings: texts.forEachSubjectAltName)
        }
        guard complete else { return nil }
        return object
    }

    static func event(_ event: HistoryEvent) -> JSONValue {
        [
            "at": .string(event.at), "host": .string(event.host.description), "event": .string(event.kind.rawValue),
            "sha256Fingerprint": .string(event.sha256Fingerprint.description), "detail": .string(event.detail),
        ]
    }
}
