import JSONRPC
import TofuCore
import TofuTLS

/// Pins, certificates and events as they appear in answers (see protocol/openrpc.json).
enum PinJSON {
    static func certificate(_ certificate: CertificateSummary, includePem: Bool = false) -> [String: JSONValue] {
        var object: [String: JSONValue] = [
            "subject": .string(certificate.subject),
            "issuer": .string(certificate.issuer),
            "serialNumber": .string(certificate.serialNumber),
            "sha256Fingerprint": .string(certificate.sha256Fingerprint.description),
            "spkiSha256": .string(certificate.spkiSha256),
            "notBefore": .string(certificate.notBefore),
            "notAfter": .string(certificate.notAfter),
            "subjectAltNames": .array(certificate.subjectAltNames.map(JSONValue.string)),
            "publicKey": .string(certificate.publicKey),
        ]
        if includePem { object["pem"] = .string(X509Certificate.pem(der: certificate.der)) }
        return object
    }

    static func pin(_ pin: Pin, includePem: Bool = false) -> JSONValue {
        var object = certificate(pin.certificate, includePem: includePem)
        object["host"] = .string(pin.host.description)
        object["address"] = .string(pin.host.host)
        object["port"] = .int(Int64(pin.host.port))
        object["pinnedAt"] = .string(pin.pinnedAt)
        object["lastVerifiedAt"] = pin.lastVerifiedAt.map(JSONValue.string) ?? .null
        object["policy"] = .string(pin.policy.rawValue)
        object["next"] = pin.next.map { staged in
            var next = certificate(staged.certificate, includePem: includePem)
            next["stagedAt"] = .string(staged.stagedAt)
            return .object(next)
        } ?? .null
        return .object(object)
    }

    static func event(_ event: HistoryEvent) -> JSONValue {
        [
            "at": .string(event.at), "host": .string(event.host.description), "event": .string(event.kind.rawValue),
            "sha256Fingerprint": .string(event.sha256Fingerprint.description), "detail": .string(event.detail),
        ]
    }
}
