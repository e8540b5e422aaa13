import Foundation
import JSONRPC
import TofuCore
import TofuStore
import TofuTLS

/// pinCert, listCerts, deleteCert, certHistory.
struct PinMethods: Sendable {
    let store: PinStore

    func register(in table: inout MethodTable) {
        table.register("pinCert") { params, _ in try await pinCert(params) }
        table.register("listCerts") { params, _ in try await listCerts(params) }
        table.register("deleteCert") { params, _ in try await deleteCert(params) }
        table.register("certHistory") { params, _ in try await certHistory(params) }
    }

    func pinCert(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "pem"])
        let host = try named.hostKey("host")
        let certificate = try named.certificate("pem")
        let (pin, status) = try await answering { try await store.pin(certificate, for: host) }
        return ["pin": PinJSON.pin(pin), "pinStatus": .string(status.rawValue)]
    }

    func listCerts(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "limit", "cursor", "includePem", "expiringWithinDays"])
        let host = try named.optionalHostKey("host")
        let limit = try named.integer("limit", in: 1...10_000, default: 1000) ?? 1000
        let after = try named.optional("cursor", as: String.self).map { cursor throws(ResponseError) in try PageCursor.decode(cursor) }
        let includePem = try named.optional("includePem", as: Bool.self) ?? false
        let expiringBefore = try named.integer("expiringWithinDays", in: 0...36_500).map { days in
            Timestamp.string(Date().addingTimeInterval(Double(days) * 86_400))
        }
        let page = try await answering { try await store.list(after: after, limit: limit, host: host, expiringBefore: expiringBefore) }
        var next = JSONValue.null
        if page.more, let last = page.pins.last { next = .string(PageCursor.encode(after: last.host)) }
        return ["certs": .array(page.pins.map { PinJSON.pin($0, includePem: includePem) }), "nextCursor": next]
    }

    func deleteCert(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "expectedFingerprint"])
        let host = try named.hostKey("host")
        let expected = try named.fingerprint("expectedFingerprint")
        let deleted = try await answering { try await store.delete(host, expected: expected) }
        return ["deleted": PinJSON.pin(deleted)]
    }

    func certHistory(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "limit"])
        let host = try named.optionalHostKey("host")
        let limit = try named.integer("limit", in: 1...100_000, default: 1000) ?? 1000
        let events = try await answering { try await store.history(host: host, limit: limit) }
        return ["events": .array(events.map(PinJSON.event))]
    }

    /// Runs a store call, turning tofu's errors into JSON-RPC ones.
}
