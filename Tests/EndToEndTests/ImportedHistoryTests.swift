import Foundation
import TestSupport
import Testing

/// What importPins may write into the history of a host this store already pins: the history is
/// the audit trail, and verifyCert reads its latest verdict to decide what is news.
@Suite struct ImportedHistoryTests {
    /// A peer that can write to tofu-rpc (a script fed an untrusted file, an agent) imports one
    /// forged `mismatch` event, backdated, naming the certificate an impostor will present,
    /// into the history of a host pinned here, without `replace`. Were it appended, it would be
    /// the host's latest verdict: when the impostor shows up, verifyCert would take the real
    /// mismatch for one already recorded and write nothing, neither in the history nor in the
    /// log. It is refused as a conflict (`differences: ["history"]`), and nothing changes.
    @Test func eventsWithoutThePinOfAPinnedHostAreAConflict() async throws {
        let peers = try TLSPeers()
        defer { peers.stop() }
        let (genuine, impostor) = (try await CertificateFactory.make(), try await CertificateFactory.make())
        let peer = try await peers.listen("tls", certificate: genuine)
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": peer.address, "pem": genuine.pem])
        let before = try await server.result("certHistory", ["host": peer.key])

        let forged: [String: Any] = [
            "type": "event", "host": peer.key, "at": "2001-01-01T00:00:00Z", "event": "mismatch",
            "sha256Fingerprint": impostor.fingerprint, "detail": "forged",
        ]
        let records: [[String: Any]] = [["type": "header", "format": "tofu-export", "version": 1], forged, ["type": "end"]]
        let imported = try await server.result("importPins", ["records": records])
        let host = try #require((imported["hosts"] as? [[String: Any]])?.first, "\(imported)")
        #expect(host["status"] as? String == "conflict", "\(host)")
        #expect(host["differences"] as? [String] == ["history"], "\(host)")
        #expect(host["eventsAdded"] as? Int == 0 && host["pinnedFingerprint"] as? String == genuine.fingerprint, "\(host)")
        #expect(Wire.json(try await server.result("certHistory", ["host": peer.key])) == Wire.json(before), "the refused import changed the history")

        // The impostor's mismatch is recorded when it happens.
        try await peers.present(impostor, on: peer)
        let verified = try await server.result("verifyCert", ["host": peer.address, "timeoutMs": 5000])
        #expect(verified["status"] as? String == "mismatch", "\(verified)")
        let events = try await server.result("certHistory", ["host": peer.key])["events"] as? [[String: Any]] ?? []
        let last = try #require(events.last)
        #expect(last["event"] as? String == "mismatch" && last["sha256Fingerprint"] as? String == impostor.fingerprint, "\(events)")
        #expect(last["detail"] as? String != "forged" && last["at"] as? String != "2001-01-01T00:00:00Z", "\(events)")

        // With replace (the operator's decision that the export wins) the events are taken.
        let replaced = try await server.result("importPins", ["records": records, "replace": true])
        let taken = try #require((replaced["hosts"] as? [[String: Any]])?.first, "\(replaced)")
        #expect(taken["status"] as? String == "imported" && taken["eventsAdded"] as? Int == 1, "\(taken)")
        #expect(try await server.stop() == 0)
    }
}
