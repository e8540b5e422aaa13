import JSONRPC
import TofuCore
import TofuTLS

/// Pins, certificates and events as they appear in answers (see protocol/openrpc.json).
enum PinJSON {
    /// `room`: how many members the caller will add (sized once, not grown as they come).
    static func certificate(_ certificate: CertificateSummary, includePem: Bool = false, room: Int = 0) -> [String: JSONValue] {
        Self.certificate(certificate, includePem: includePem, room: room, as: [String: JSONValue].self)
    }

    static func pin(_ pin: Pin, includePem: Bool = false) -> JSONValue {
        .object(self.pin(pin, includePem: includePem, as: [String: JSONValue].self))
    }

    /// The certificate's object, made as `Object` (a `JSONValue`'s members, or jansson's tree).
    static func certificate<Object: JSONObjectWriter & ~Copyable>(
        _ certificate: CertificateSummary, includePem: Bool, room: Int, as: Object.Type
    ) -> Object {
        var object = Object(capacity: 10 + room)
        object.set("subject", certificate.subject)
        object.set("issuer", certificate.issuer)
        object.set("serialNumber", certificate.serialNumber)
        object.set("sha256Fingerprint", certificate.sha256Fingerprint.description)
        object.set("spkiSha256", certificate.spkiSha256)
        object.set("notBefore", certificate.notBefore)
        object.set("notAfter", certificate.notAfter)
        object.set("subjectAltNames", strings: certificate.subjectAltNames)
        object.set("publicKey", certificate.publicKey)
        if includePem { object.set("pem", X509Certificate.pem(der: certificate.der)) }
        return object
    }

    /// The pin's object, made as `Object` (a `JSONValue`'s members, or jansson's tree).
    static func pin<Object: JSONObjectWriter & ~Copyable>(_ pin: Pin, includePem: Bool, as: Object.Type) -> Object {
        var object = certificate(pin.certificate, includePem: includePem, room: 7, as: Object.self)
        object.set("host", pin.host.description)
        object.set("address", pin.host.host)
        object.set("port", Int64(pin.host.port))
        object.set("pinnedAt", pin.pinnedAt)
        object.set("lastVerifiedAt", orNull: pin.lastVerifiedAt)
        object.set("policy", pin.policy.rawValue)
        if let staged = pin.next {
            var next = certificate(staged.certificate, includePem: includePem, room: 1, as: Object.self)
            next.set("stagedAt", staged.stagedAt)
            object.set("next", object: next)
        } else {
            object.setNull("next")
        }
        return object
    }

    static func event(_ event: HistoryEvent) -> JSONValue {
        [
            "at": .string(event.at), "host": .string(event.host.description), "event": .string(event.kind.rawValue),
            "sha256Fingerprint": .string(event.sha256Fingerprint.description), "detail": .string(event.detail),
        ]
    }
}
