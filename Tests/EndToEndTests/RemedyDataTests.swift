import Foundation
import TestSupport
import Testing

/// Every typed error with a way forward carries it in `data` for a client to phrase:
/// `summary` (what happened, naming the host) and `nextSteps` (a sentence, then calls with what
/// tofu knows filled in), `remedyCalls` the first step's calls. The server's own `message`
/// is for JSON-RPC callers: it names methods, never a command of the CLI.
@Suite struct RemedyDataTests {
    /// The calls of every next step of an error (or of a verifyCert result), flattened.
    static func calls(_ data: [String: Any]?) -> [(method: String, params: [String: Any])] {
        ((data?["nextSteps"] as? [[String: Any]]) ?? []).flatMap { step in
            ((step["calls"] as? [[String: Any]]) ?? []).map { ($0["method"] as? String ?? "", $0["params"] as? [String: Any] ?? [:]) }
        }
    }

    /// The error of `answer`, checked for the shape every typed error shares; its data.
    static func explained(_ answer: Received, code: Int, kind: String, host: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(answer.errorCode == code, "\(answer)", sourceLocation: sourceLocation)
        #expect(answer.errorKind == kind, "\(answer)", sourceLocation: sourceLocation)
        let data = try #require(answer.errorData, sourceLocation: sourceLocation)
        let summary = data["summary"] as? String ?? ""
        #expect(summary.contains(host), "the summary names the host: \(summary)", sourceLocation: sourceLocation)
        let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.hasPrefix(summary), "the message starts with the summary: \(message)", sourceLocation: sourceLocation)
        #expect(!message.contains("tofu ") && !summary.contains("tofu "), "no CLI command in \(message)", sourceLocation: sourceLocation)
        let steps = data["nextSteps"] as? [[String: Any]] ?? []
        #expect(!steps.isEmpty, "no next step: \(data)", sourceLocation: sourceLocation)
        for call in calls(data) {
            #expect(message.contains(call.method + " {"), "the message names \(call.method): \(message)", sourceLocation: sourceLocation)
        }
        let first = (steps.first?["calls"] as? [[String: Any]] ?? []).compactMap { $0["method"] as? String }
        #expect(((data["remedyCalls"] as? [[String: Any]]) ?? []).compactMap { $0["method"] as? String } == first, sourceLocation: sourceLocation)
        return data
    }

    @Test func pinErrors() async throws {
        let server = try StoreServer(storePath: newStorePath("tofu-remedy"))
        let pinned = try await CertificateFactory.make()
        let other = try await CertificateFactory.make()
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": pinned.pem])
        let key = "kong.example_443"

        var data = try Self.explained(try await server.call("deleteCert", ["host": "192.0.2.77"]), code: -32001, kind: "certNotFound", host: "192.0.2.77_443")
        #expect(Self.calls(data).map(\.method) == ["listCerts"])

        data = try Self.explained(try await server.call("removeDnacServer", ["server": "192.0.2.77"]), code: -32001, kind: "dnacServerNotFound", host: "192.0.2.77_443")
        #expect(Self.calls(data).map(\.method) == ["listDnacServers"])

        data = try Self.explained(try await server.call("deleteCert", ["host": key, "next": true]), code: -32001, kind: "nothingStaged", host: key)
        #expect(Self.calls(data).first?.method == "pinCert" && Self.calls(data).first?.params["next"] as? Bool == true)

        data = try Self.explained(
            try await server.call("deleteCert", ["host": key, "expectedFingerprint": other.fingerprint]), code: -32002, kind: "certificateMismatch", host: key)
        #expect(data["compared"] as? String == "expectedFingerprint")
        #expect(Self.calls(data).map(\.method) == ["listCerts", "deleteCert"])
        #expect(Self.calls(data).last?.params["expectedFingerprint"] as? String == pinned.fingerprint)
        #expect((data["summary"] as? String)?.contains("(serial ") == true)

        data = try Self.explained(try await server.call("pinCert", ["host": key, "pem": other.pem]), code: -32002, kind: "certificateMismatch", host: key)
        #expect(data["compared"] as? String == "givenCertificate")
        #expect(Self.calls(data).map(\.method) == ["deleteCert", "pinCert", "pinCert"])
        #expect(Self.calls(data).last?.params["next"] as? Bool == true)
        #expect((data["summary"] as? String)?.components(separatedBy: "(serial ").count == 3, "both serial numbers")

        _ = try await server.result("pinCert", ["host": key, "pem": other.pem, "next": true])
        data = try Self.explained(
            try await server.call("deleteCert", ["host": key, "next": true, "expectedFingerprint": pinned.fingerprint]), code: -32002,
            kind: "certificateMismatch", host: key)
        #expect(data["compared"] as? String == "expectedNextFingerprint")
        #expect(Self.calls(data).last?.params["expectedFingerprint"] as? String == other.fingerprint)
        _ = try await server.stop()
    }

    @Test func controllerErrors() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await DnacTests.controller(peers, old)
        let server = try StoreServer(storePath: newStorePath("tofu-remedy"))
        _ = try await server.result("addDnacServer", DnacTests.add(dnac))

        var data = try Self.explained(
            try await server.call("addDnacServer", DnacTests.add(dnac, password: "wrong")), code: -32004, kind: "authenticationFailed", host: dnac.key)
        #expect(Self.calls(data).first?.method == "addDnacServer" && Self.calls(data).first?.params["username"] as? String == "admin")

        let closed = Peer(id: 0, host: "127.0.0.1", port: TLSPeers.closedPort())
        data = try Self.explained(try await server.call("addDnacServer", DnacTests.add(closed)), code: -32003, kind: "hostUnreachable", host: closed.key)
        #expect(Self.calls(data).first?.params["server"] as? String == closed.key)

        let failing = try await DnacTests.controller(peers, try await CertificateFactory.make(), behaviour: "error")
        data = try Self.explained(try await server.call("addDnacServer", DnacTests.add(failing)), code: -32006, kind: "controllerFailed", host: failing.key)
        #expect(Self.calls(data).first?.method == "addDnacServer")

        let strange = try await DnacTests.controller(peers, try await CertificateFactory.make(), behaviour: "nonjson")
        data = try Self.explained(try await server.call("addDnacServer", DnacTests.add(strange)), code: -32006, kind: "notDnac", host: strange.key)
        #expect(data["pinStatus"] as? String == "pinned")
        #expect(Self.calls(data).first?.method == "deleteCert", "the pin first use made: \(data)")

        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)
        data = try Self.explained(try await server.call("addDnacServer", DnacTests.add(dnac)), code: -32002, kind: "certificateMismatch", host: dnac.key)
        #expect(Self.calls(data).map(\.method) == ["deleteCert", "addDnacServer", "addDnacServer"])
        #expect((data["acceptCall"] as? [String: Any])?["params"] as? [String: Any] != nil)
        #expect((data["summary"] as? String)?.components(separatedBy: "(serial ").count == 3, "both serial numbers")

        data = try Self.explained(
            try await server.call("addDnacServer", DnacTests.add(dnac, extra: ["acceptFingerprint": old.fingerprint])), code: -32002, kind: "certificateMismatch",
            host: dnac.key)
        #expect(data["compared"] as? String == "acceptFingerprint")
        #expect(Self.calls(data).first?.params["acceptFingerprint"] as? String == new.fingerprint)

        // Refused credentials on a re-pin: the old pin stays, and the next call re-pins again.
        data = try Self.explained(
            try await server.call("addDnacServer", DnacTests.add(dnac, password: "wrong", extra: ["acceptFingerprint": new.fingerprint])), code: -32004,
            kind: "authenticationFailed", host: dnac.key)
        #expect(Self.calls(data).first?.params["acceptFingerprint"] as? String == new.fingerprint)

        // verifyCert's mismatch names the user the server was added with.
        let verified = try await server.result("verifyCert", ["host": dnac.key])
        #expect(verified["status"] as? String == "mismatch")
        #expect((verified["summary"] as? String)?.contains(dnac.key) == true)
        let accept = (verified["acceptCall"] as? [String: Any])?["params"] as? [String: Any]
        #expect(accept?["username"] as? String == "admin" && accept?["acceptFingerprint"] as? String == new.fingerprint, "\(verified)")
        #expect(Self.calls(verified).map(\.method) == ["addDnacServer"])
        _ = try await server.stop()
        peers.stop()
    }
}
