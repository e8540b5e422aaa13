import JSONRPC
import TofuCore
import TofuTLS

/// Pins, certificates and events as they appear in answers (see protocol/openrpc.json).
enum PinJSON {
    /// `room`: how many members the caller will add (sized once, not grown as they come).
    static func certificate(_ certificate: CertificateSummary, includePem: Bool = false, room: Int = 0) -> [String: JSONValue] {
        var object = [String: JSONValue](minimumCapacity: 10 + room)
        object["subject"] = .string(certificate.subject)
        object["issuer"] = .string(certificate.issuer)
        object["serialNumber"] = .string(certificate.serialNumber)
        object["sha256Fingerprint"] = .string(certificate.sha256Fingerprint.description)
        object["spkiSha256"] = .string(certificate.spkiSha256)
        object["notBefore"] = .string(certificate.notBefore)
        object["notAfter"] = .string(certificate.notAfter)
        object["subjectAltNames"] = .array(certificate.subjectAltNames.map(JSONValue.string))
        object["publicKey"] = .string(certificate.publicKey)
        if includePem { object["pem"] = .string(X509Certificate.pem(der: certificate.der)) }
        return object
    }

    static func pin(_ pin: Pin, includePem: Bool = false) -> JSONValue {
        var object = certificate(pin.certificate, includePem: includePem, room: 7)
        object["host"] = .string(pin.host.description)
        object["address"] = .string(pin.host.host)
        object["port"] = .int(Int64(pin.host.port))
        object["pinnedAt"] = .string(pin.pinnedAt)
        object["lastVerifiedAt"] = pin.lastVerifiedAt.map(JSONValue.string) ?? .null
        object["policy"] = .string(pin.policy.rawValue)
        object["next"] = pin.next.map { staged in
            var next = certificate(staged.certificate, includePem: includePem, room: 1)
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
