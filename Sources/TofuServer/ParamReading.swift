import Foundation
import JSONRPC
import TofuCore
import TofuTLS

/// tofu's parameter types, read with the offending field named on failure.
extension NamedParams {
    func hostKey(_ name: String) throws(ResponseError) -> HostKey {
        try Self.parseHostKey(try required(name), field: name)
    }

    /// One certificate, given as PEM text in param `name`.
    func certificate(_ name: String) throws(ResponseError) -> CertificateSummary {
        let pem: String = try required(name)
        guard pem.utf8.count <= 1 << 20 else { throw .invalidParams(field: name, "is larger than \(1 << 20) bytes") }
        do {
            return try X509Certificate.single(fromPEM: pem).summary()
        } catch {
            throw .invalidParams(field: name, "is not one PEM certificate: \(error.reason)")
        }
    }

    func optionalHostKey(_ name: String) throws(ResponseError) -> HostKey? {
        guard let text: String = try optional(name) else { return nil }
        return try Self.parseHostKey(text, field: name)
    }

    private static func parseHostKey(_ text: String, field: String) throws(ResponseError) -> HostKey {
        do {
            return try HostKey(parsing: text)
        } catch {
            // "'host' is not a host key ('x'): why": the value and the why also in data, for a
            // client to say in its own words.
            let shown = ResponseError.clipped(text)
            var failure = ResponseError.invalidParams(field: field, "is not a host key ('\(shown)'): \(error.reason)")
            failure.merge(["value": .string(shown), "problem": .string(error.reason)])
            throw failure
        }
    }

    func fingerprint(_ name: String) throws(ResponseError) -> Fingerprint? {
        guard let text: String = try optional(name) else { return nil }
        guard let fingerprint = Fingerprint(parsing: text) else {
            throw .invalidParams(field: name, "must be a SHA-256 fingerprint: 64 hex digits, with or without colons (got '\(ResponseError.clipped(text))')")
        }
        return fingerprint
    }

    /// An optional pin policy: "certificate" or "publicKey".
    func policy(_ name: String) throws(ResponseError) -> PinPolicy? {
        guard let text: String = try optional(name) else { return nil }
        guard let policy = PinPolicy(rawValue: text) else {
            throw .invalidParams(field: name, "must be \(PinPolicy.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or "))")
        }
        return policy
    }

    /// An optional time: a date (`2026-11-29`, its first second UTC) or an RFC 3339 UTC time
    /// as tofu writes it (`2026-11-29T04:00:00Z`).
    func time(_ name: String) throws(ResponseError) -> String? {
        guard let text: String = try optional(name) else { return nil }
        guard let time = Timestamp.parse(dateOrTime: text) else {
            throw .invalidParams(field: name, "must be a date (2026-11-29, meaning 00:00:00 UTC) or a UTC time (2026-11-29T04:00:00Z)")
        }
        return time
    }

    /// Optional history event kinds: one name, or an array of names; empty when not given.
    func eventKinds(_ name: String) throws(ResponseError) -> [HistoryEvent.Kind] {
        let names: [String]
        switch members[name] {
        case nil, .null?: return []
        case .string(let one)?: names = [one]
        case .array(let elements)? where !elements.isEmpty && elements.allSatisfy({ $0.stringValue != nil }):
            names = elements.compactMap(\.stringValue)
        default: throw .invalidParams(field: name, "must be an event's name, or a non-empty array of them")
        }
        let known = HistoryEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        var kinds: [HistoryEvent.Kind] = []
        for text in names {
            guard let kind = HistoryEvent.Kind(rawValue: text) else { throw .invalidParams(field: name, "names an event that does not exist; the events are \(known)") }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    /// `timeoutMs` of a live TLS probe (verifyCert, addDnacServer): 100 ms to 2 minutes, 5 s
    /// when not given, as the protocol document states for both methods.
    func probeTimeout() throws(ResponseError) -> Int {
        try integer("timeoutMs", in: 100...120_000) ?? 5000
    }

    /// An optional integer within `range`, or `fallback`.
    func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int? = nil) throws(ResponseError) -> Int? {
        guard let value: Int = try optional(name) else { return fallback }
        guard range.contains(value) else {
            throw .invalidParams(field: name, "must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return value
    }
}

/// The opaque `cursor` of listCerts: where the next page starts (the last key returned).
/// It stays correct while other processes insert and delete, since pages are keyed by host.
enum PageCursor {
    private static let prefix = "tofu1:"

    static func encode(after host: HostKey) -> String {
        Data((prefix + host.description).utf8).base64EncodedString()
    }

    static func decode(_ cursor: String) throws(ResponseError) -> String {
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix(prefix),
            let key = try? HostKey(parsing: String(text.dropFirst(prefix.count))), key.description == text.dropFirst(prefix.count)
        else {
            throw .invalidParams(field: "cursor", "is not a cursor this server returned; start again without one")
        }
        return key.description
    }
}
