import Foundation
import JSONRPC
import TofuCore
import TofuStore
import TofuTLS

/// The records of an export (exportPins, importPins; one per line of `tofu export`), to and
/// from JSON. Each is an object with a `type`: `header` (first), `pin`, `event`, `server`,
/// `end` (last). A pin is listCerts' Pin with its certificate (`pem`) and its staged next
/// certificate's (`next.pem`); an event is certHistory's; a server is listDnacServers' with
/// `host` for `server`.
///
/// Reading is as strict as the store's reading of its rows, and stricter where a file could
/// lie: every member must be there with exactly the type, form and range tofu writes, no
/// other member may be, a host key must be canonical, a time real, and every field of a
/// certificate must be what its PEM says (the fingerprint is the SHA-256 of that certificate).
enum TransferJSON {
    static let format = "tofu-export"
    static let version: Int64 = 1

    static let header: JSONValue = ["type": "header", "format": .string(format), "version": .int(version)]
    static let end: JSONValue = ["type": "end"]

    static func json(_ record: TransferRecord) -> JSONValue {
        var object: [String: JSONValue]
        switch record {
        case .pin(let pin):
            object = PinJSON.pin(pin, includePem: true).objectValue ?? [:]
            object["type"] = "pin"
        case .event(let event):
            object = PinJSON.event(event).objectValue ?? [:]
            object["type"] = "event"
        case .server(let server):
            object = [
                "type": "server", "host": .string(server.host.description), "address": .string(server.host.host),
                "port": .int(Int64(server.host.port)), "username": .string(server.username),
                "pinnedFingerprint": .string(server.pinnedFingerprint.description), "addedAt": .string(server.addedAt),
                "lastCheckedAt": .string(server.lastCheckedAt), "authenticated": server.authenticated.map(JSONValue.bool) ?? .null,
            ]
        }
        return .object(object)
    }

    /// What one record of an import is.
    enum Parsed {
        case header
        case end
        case record(TransferRecord)
    }

    /// What is wrong with a record: the member (`next.pem` for a nested one) and why.
    struct Problem: Error {
        let field: String
        let reason: String
    }

    /// The `type` and `host` of a record, read before the rest: what decides which host's
    /// records it belongs to. `host` is nil for a header or an end record.
    static func kind(of value: JSONValue) throws(Problem) -> (type: String, host: HostKey?) {
        guard let object = value.objectValue else { throw Problem(field: "record", reason: "is \(article(value)) where a JSON object belongs") }
        let fields = Fields(object, prefix: "")
        let type = try fields.string("type")
        switch type {
        case "header", "end": return (type, nil)
        case "pin", "event", "server": return (type, try fields.hostKey("host"))
        default:
            throw Problem(field: "type", reason: "is '\(ResponseError.clipped(type))' where one of header, pin, event, server, end belongs")
        }
    }

    /// A record, checked in full.
    static func parse(_ value: JSONValue) throws(Problem) -> Parsed {
        let (type, _) = try kind(of: value)
        let fields = Fields(value.objectValue ?? [:], prefix: "")
        switch type {
        case "header":
            try fields.only(["type", "format", "version"])
            guard try fields.string("format") == format else {
                throw Problem(field: "format", reason: "is not '\(format)': this is not a file tofu export wrote")
            }
            let found = try fields.integer("version")
            guard found == version else {
                throw Problem(field: "version", reason: "is \(found); this tofu reads version \(version) exports: import it with the tofu that exported it, or a newer one")
            }
            return .header
        case "end":
            try fields.only(["type"])
            return .end
        case "pin": return .record(.pin(try pin(fields)))
        case "event": return .record(.event(try event(fields)))
        default: return .record(.server(try server(fields)))
        }
    }

    private static let certificateMembers = [
        "subject", "issuer", "serialNumber", "sha256Fingerprint", "spkiSha256", "notBefore", "notAfter", "subjectAltNames", "publicKey", "pem",
    ]

    private static func pin(_ fields: Fields) throws(Problem) -> Pin {
        try fields.only(["type", "host", "address", "port", "pinnedAt", "lastVerifiedAt", "policy", "next"] + certificateMembers)
        let host = try fields.hostKeyWithParts()
        let certificate = try self.certificate(fields)
        let policyText = try fields.string("policy")
        guard let policy = PinPolicy(rawValue: policyText) else {
            throw Problem(field: "policy", reason: "is '\(ResponseError.clipped(policyText))' where one of \(PinPolicy.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        var next: StagedCertificate?
        if let staged = try fields.optionalObject("next") {
            let nested = Fields(staged, prefix: "next.")
            try nested.only(["stagedAt"] + certificateMembers)
            let stagedCertificate = try self.certificate(nested)
            guard stagedCertificate.sha256Fingerprint != certificate.sha256Fingerprint else {
                throw Problem(field: "next.sha256Fingerprint", reason: "is the pinned certificate's own: a staged certificate is always another one")
            }
            next = StagedCertificate(certificate: stagedCertificate, stagedAt: try nested.timestamp("stagedAt"))
        }
        return Pin(
            host: host, certificate: certificate, pinnedAt: try fields.timestamp("pinnedAt"), lastVerifiedAt: try fields.optionalTimestamp("lastVerifiedAt"),
            policy: policy, next: next)
    }

    /// The certificate in `pem`, every summary member checked against it.
    private static func certificate(_ fields: Fields) throws(Problem) -> CertificateSummary {
        let pem = try fields.string("pem")
        guard pem.utf8.count <= 1 << 20 else { throw fields.problem("pem", "is larger than \(1 << 20) bytes") }
        let summary: CertificateSummary
        do {
            summary = try X509Certificate.single(fromPEM: pem).summary()
        } catch {
            throw fields.problem("pem", "does not hold one X.509 certificate: \(error.reason)")
        }
        let fingerprint = try fields.string("sha256Fingerprint")
        guard fingerprint == summary.sha256Fingerprint.description else {
            throw fields.problem(
                "sha256Fingerprint",
                "is '\(ResponseError.clipped(fingerprint))', but the certificate in \(fields.prefix)pem has the SHA-256 fingerprint \(summary.sha256Fingerprint): one of the two was changed")
        }
        let texts: [(String, String)] = [
            ("subject", summary.subject), ("issuer", summary.issuer), ("serialNumber", summary.serialNumber), ("spkiSha256", summary.spkiSha256),
            ("notBefore", summary.notBefore), ("notAfter", summary.notAfter), ("publicKey", summary.publicKey),
        ]
        for (name, expected) in texts {
            let given = try fields.string(name)
            guard given == expected else {
                throw fields.problem(name, "is '\(ResponseError.clipped(given))', but the certificate in \(fields.prefix)pem says '\(ResponseError.clipped(expected))'")
            }
        }
        let names = try fields.strings("subjectAltNames")
        guard names == summary.subjectAltNames else {
            throw fields.problem("subjectAltNames", "are not the certificate's (in \(fields.prefix)pem): \(summary.subjectAltNames)")
        }
        return summary
    }

    private static func event(_ fields: Fields) throws(Problem) -> HistoryEvent {
        try fields.only(["type", "host", "at", "event", "sha256Fingerprint", "detail"])
        let kindText = try fields.string("event")
        guard let kind = HistoryEvent.Kind(rawValue: kindText) else {
            throw Problem(field: "event", reason: "is '\(ResponseError.clipped(kindText))' where one of \(HistoryEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")) belongs")
        }
        return HistoryEvent(
            at: try fields.timestamp("at"), host: try fields.hostKey("host"), kind: kind, sha256Fingerprint: try fields.fingerprint("sha256Fingerprint"),
            detail: try fields.string("detail"))
    }

    private static func server(_ fields: Fields) throws(Problem) -> DnacServer {
        try fields.only(["type", "host", "address", "port", "username", "pinnedFingerprint", "addedAt", "lastCheckedAt", "authenticated"])
        let username = try fields.string("username")
        // What addDnacServer accepts: a store never holds another.
        guard !username.trimmingCharacters(in: .whitespaces).isEmpty, username.utf8.count <= 256, !username.contains(":"),
            !username.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw Problem(field: "username", reason: "must be 1 to 256 bytes, without ':' or control characters, as addDnacServer takes it")
        }
        let authenticated: Bool?
        switch try fields.member("authenticated") {
        case .null: authenticated = nil
        case .bool(let value): authenticated = value
        case let other: throw Problem(field: "authenticated", reason: "is \(article(other)) where true, false or null belongs")
        }
        return DnacServer(
            host: try fields.hostKeyWithParts(), username: username, pinnedFingerprint: try fields.fingerprint("pinnedFingerprint"),
            addedAt: try fields.timestamp("addedAt"), lastCheckedAt: try fields.timestamp("lastCheckedAt"), authenticated: authenticated)
    }

    static func article(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        case .int, .double: "a number"
        case .bool(let flag): flag ? "true" : "false"
        case .string: "a string"
        }
    }

    /// The members of one record object; `prefix` names a nested object's (`next.`).
    struct Fields {
        let members: [String: JSONValue]
        let prefix: String

        init(_ members: [String: JSONValue], prefix: String) {
            self.members = members
            self.prefix = prefix
        }

        func problem(_ name: String, _ reason: String) -> Problem { Problem(field: prefix + name, reason: reason) }

        /// Refuses a member not in `allowed`: a file that says more than tofu writes is not an export.
        func only(_ allowed: [String]) throws(Problem) {
            if let unknown = members.keys.filter({ !allowed.contains($0) }).sorted().first {
                throw problem(ResponseError.clipped(unknown), "is not a member of this record (it has: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        func member(_ name: String) throws(Problem) -> JSONValue {
            guard let value = members[name] else { throw problem(name, "is missing") }
            return value
        }

        func string(_ name: String) throws(Problem) -> String {
            let value = try member(name)
            guard case .string(let text) = value else { throw problem(name, "is \(TransferJSON.article(value)) where a string belongs") }
            return text
        }

        func integer(_ name: String) throws(Problem) -> Int64 {
            let value = try member(name)
            guard case .int(let number) = value else { throw problem(name, "is \(TransferJSON.article(value)) where an integer belongs") }
            return number
        }

        func strings(_ name: String) throws(Problem) -> [String] {
            let value = try member(name)
            guard case .array(let elements) = value else { throw problem(name, "is \(TransferJSON.article(value)) where an array of strings belongs") }
            var texts: [String] = []
            for element in elements {
                guard case .string(let text) = element else { throw problem(name, "holds \(TransferJSON.article(element)) where only strings belong") }
                texts.append(text)
            }
            return texts
        }

        func optionalObject(_ name: String) throws(Problem) -> [String: JSONValue]? {
            switch try member(name) {
            case .null: return nil
            case .object(let object): return object
            case let other: throw problem(name, "is \(TransferJSON.article(other)) where an object or null belongs")
            }
        }

        /// A time exactly as the store holds one.
        func timestamp(_ name: String) throws(Problem) -> String {
            let text = try string(name)
            guard PinStore.isStoredTimestamp(text) else {
                throw problem(name, "is '\(ResponseError.clipped(text))' where a time (YYYY-MM-DDTHH:MM:SSZ, a real one) belongs")
            }
            return text
        }

        func optionalTimestamp(_ name: String) throws(Problem) -> String? {
            if case .null = try member(name) { return nil }
            return try timestamp(name)
        }

        /// A fingerprint exactly as the store holds one: 32 uppercase hex pairs joined by colons.
        func fingerprint(_ name: String) throws(Problem) -> Fingerprint {
            let text = try string(name)
            guard let fingerprint = Fingerprint(parsing: text), fingerprint.description == text else {
                throw problem(name, "is '\(ResponseError.clipped(text))' where a SHA-256 fingerprint (AB:CD:… in uppercase hex) belongs")
            }
            return fingerprint
        }

        /// A host key in its canonical form, the only one the store holds.
        func hostKey(_ name: String) throws(Problem) -> HostKey {
            let text = try string(name)
            let key: HostKey
            do {
                key = try HostKey(parsing: text)
            } catch {
                throw problem(name, error.description)
            }
            guard key.description == text else {
                throw problem(name, "is '\(ResponseError.clipped(text))', not a host key in its canonical form (\(key))")
            }
            return key
        }

        /// `host`, with `address` and `port` saying the same.
        func hostKeyWithParts() throws(Problem) -> HostKey {
            let key = try hostKey("host")
            let address = try string("address")
            guard address == key.host else { throw problem("address", "is '\(ResponseError.clipped(address))' but the host key \(key) says '\(key.host)'") }
            guard try integer("port") == Int64(key.port) else { throw problem("port", "is not the port of the host key \(key) (\(key.port))") }
            return key
        }
    }
}

extension ImportOutcome {
    var json: JSONValue {
        [
            "host": .string(host.description), "status": .string(status.rawValue),
            "sha256Fingerprint": importedFingerprint.map { .string($0.description) } ?? .null,
            "pinnedFingerprint": pinnedFingerprint.map { .string($0.description) } ?? .null,
            "differences": .array(differences.map(JSONValue.string)), "eventsAdded": .int(Int64(eventsAdded)), "serverAdded": .bool(serverAdded),
        ]
    }
}

/// The opaque `cursor` of exportPins: where the next page starts.
enum ExportCursor {
    private static let prefix = "tofu-export1 "

    static func encode(_ position: ExportPosition) -> String {
        let text = prefix + "\(position.host) \(position.hostDone ? "done" : String(position.afterEvent))"
        return Data(text.utf8).base64EncodedString()
    }

    static func decode(_ cursor: String) throws(ResponseError) -> ExportPosition {
        let refused = ResponseError.invalidParams(field: "cursor", "is not a cursor exportPins returned; start again without one")
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix(prefix) else { throw refused }
        let parts = text.dropFirst(prefix.count).split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, let key = try? HostKey(parsing: String(parts[0])), key.description == parts[0] else { throw refused }
        if parts[1] == "done" { return ExportPosition(host: key, afterEvent: Int64.max, hostDone: true) }
        guard let after = Int64(parts[1]), after >= 0 else { throw refused }
        return ExportPosition(host: key, afterEvent: after, hostDone: false)
    }
}
