import Foundation
import TestSupport
import Testing

/// Rotation without an outage (DESIGN §8): a pin's policy (certificate or publicKey) and the
/// staged next certificate, against real TLS peers on loopback that change their certificate.
@Suite struct RotationTests {
    static func events(_ server: StoreServer, _ host: String) async throws -> [[String: Any]] {
        try await server.result("certHistory", ["host": host])["events"] as? [[String: Any]] ?? []
    }

    static func pin(_ server: StoreServer, _ host: String) async throws -> [String: Any] {
        (try await server.result("listCerts", ["host": host])["certs"] as? [[String: Any]])?.first ?? [:]
    }

    /// What a call that must change nothing must leave as it was.
    static func snapshot(_ server: StoreServer) async throws -> [NSArray?] {
        [
            try await server.result("listCerts", ["includePem": true])["certs"] as? NSArray,
            try await server.result("certHistory")["events"] as? NSArray,
        ]
    }

    // MARK: - Policy

    /// The controller renews its certificate with the same key. Under publicKey the next live
    /// handshake accepts it and replaces the stored certificate (history renewed, both serials);
    /// under certificate it is a mismatch, as PI's own pin is.
    @Test(arguments: ["publicKey", "certificate"])
    func aRenewalThatKeepsTheKey(policy: String) async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let renewed = try await CertificateFactory.make(reusingKey: old.keyPath)
        let peer = try await peers.listen("tls", certificate: old)
        let server = try StoreServer(storePath: newStorePath())
        let pinned = try await server.result("pinCert", ["host": peer.key, "pem": old.pem, "policy": policy])
        #expect((pinned["pin"] as? [String: Any])?["policy"] as? String == policy)

        try await peers.present(renewed, on: peer)
        let verified = try await server.result("verifyCert", ["host": peer.key])
        let pin = try await Self.pin(server, peer.key)
        if policy == "publicKey" {
            #expect(verified["status"] as? String == "match", "\(verified)")
            #expect(verified["event"] as? String == "renewed")
            #expect(verified["matched"] as? String == "publicKey")
            #expect((verified["previous"] as? [String: Any])?["sha256Fingerprint"] as? String == old.fingerprint)
            #expect(pin["sha256Fingerprint"] as? String == renewed.fingerprint, "the stored certificate was not replaced")
            #expect(pin["policy"] as? String == "publicKey")
            let renewal = try #require(try await Self.events(server, peer.key).last)
            #expect(renewal["event"] as? String == "renewed")
            #expect(renewal["sha256Fingerprint"] as? String == renewed.fingerprint)
            let detail = renewal["detail"] as? String ?? ""
            let (newSerial, oldSerial) = (try await renewed.serial(), try await old.serial())
            #expect(detail.contains(old.fingerprint) && detail.contains(newSerial) && detail.contains(oldSerial), "\(detail)")
            // The next handshake is a plain match.
            let again = try await server.result("verifyCert", ["host": peer.key])
            #expect(again["status"] as? String == "match" && again["event"] is NSNull, "\(again)")
        } else {
            #expect(verified["status"] as? String == "mismatch", "\(verified)")
            #expect(verified["change"] as? String == "reissuedSameKey")
            #expect(verified["event"] is NSNull)
            #expect(pin["sha256Fingerprint"] as? String == old.fingerprint)
        }
        // A new key is a mismatch under either policy.
        let rekeyed = try await CertificateFactory.make()
        try await peers.present(rekeyed, on: peer)
        let refused = try await server.result("verifyCert", ["host": peer.key])
        #expect(refused["status"] as? String == "mismatch", "\(refused)")
        #expect(refused["change"] as? String == "newKey")
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// addDnacServer renews under publicKey before the credentials go out, and says so.
    @Test func addDnacServerAcceptsARenewalUnderPublicKey() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: old, dnac: ["username": "admin", "password": DnacTests.password])
        let server = try StoreServer(storePath: newStorePath())
        let added = try await server.result("addDnacServer", DnacTests.add(peer, extra: ["policy": "publicKey"]))
        #expect(added["pinStatus"] as? String == "pinned")
        #expect((added["pin"] as? [String: Any])?["policy"] as? String == "publicKey")
        let renewed = try await CertificateFactory.make(reusingKey: old.keyPath)
        try await peers.present(renewed, on: peer)
        let again = try await server.result("addDnacServer", DnacTests.add(peer))
        #expect(again["pinStatus"] as? String == "renewed", "\(again)")
        #expect(again["authenticated"] as? Bool == true)
        #expect((again["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == renewed.fingerprint)
        #expect((again["server"] as? [String: Any])?["pinnedFingerprint"] as? String == renewed.fingerprint)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    @Test func setPinPolicyChangesOnlyThePolicy() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        let set = try await server.result("setPinPolicy", ["host": "kong.example", "policy": "publicKey"])
        let pin = try #require(set["pin"] as? [String: Any])
        #expect(pin["policy"] as? String == "publicKey")
        #expect(pin["sha256Fingerprint"] as? String == certificate.fingerprint)
        #expect(try await Self.events(server, "kong.example").last?["event"] as? String == "policyChanged")
        // The same policy again changes nothing, not even the history.
        let count = try await Self.events(server, "kong.example").count
        _ = try await server.result("setPinPolicy", ["host": "kong.example", "policy": "publicKey"])
        #expect(try await Self.events(server, "kong.example").count == count)
        #expect(try await Self.pin(server, "kong.example")["policy"] as? String == "publicKey")
        #expect(try await server.stop() == 0)
    }

    // MARK: - The staged next certificate

    /// The planned rotation through verifyCert: the current certificate keeps matching while the
    /// next one is staged; the first handshake that presents the staged one promotes it; the old
    /// one is then a mismatch.
    @Test func aStagedCertificateIsPromotedByTheHandshakeThatPresentsIt() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: current)
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": peer.key, "pem": current.pem])
        let staged = try await server.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
        #expect(staged["pinStatus"] as? String == "staged")
        let stagedPin = try #require(staged["pin"] as? [String: Any])
        #expect(stagedPin["sha256Fingerprint"] as? String == current.fingerprint)
        #expect((stagedPin["next"] as? [String: Any])?["sha256Fingerprint"] as? String == next.fingerprint)
        #expect((stagedPin["next"] as? [String: Any])?["stagedAt"] is String)

        let before = try await server.result("verifyCert", ["host": peer.key])
        #expect(before["status"] as? String == "match" && before["event"] is NSNull && before["matched"] as? String == "pin", "\(before)")
        #expect((try await Self.pin(server, peer.key)["next"] as? [String: Any])?["sha256Fingerprint"] as? String == next.fingerprint)

        // Offline, the staged certificate matches, but only a live handshake promotes it.
        let offline = try await server.result("verifyCert", ["host": peer.key, "pem": next.pem])
        #expect(offline["status"] as? String == "match" && offline["matched"] as? String == "next", "\(offline)")
        #expect(try await Self.pin(server, peer.key)["sha256Fingerprint"] as? String == current.fingerprint)

        try await peers.present(next, on: peer)
        let rotated = try await server.result("verifyCert", ["host": peer.key])
        #expect(rotated["status"] as? String == "match", "\(rotated)")
        #expect(rotated["event"] as? String == "rotated")
        #expect((rotated["previous"] as? [String: Any])?["sha256Fingerprint"] as? String == current.fingerprint)
        let pin = try await Self.pin(server, peer.key)
        #expect(pin["sha256Fingerprint"] as? String == next.fingerprint)
        #expect(pin["next"] is NSNull)
        let kinds = try await Self.events(server, peer.key).compactMap { $0["event"] as? String }
        #expect(kinds == ["pinned", "staged", "rotated"], "\(kinds)")  // a match before the rotation is no news
        let rotation = try await Self.events(server, peer.key).last?["detail"] as? String ?? ""
        #expect(rotation.contains(current.fingerprint), "the old pin is not in the history: \(rotation)")

        try await peers.present(current, on: peer)
        let old = try await server.result("verifyCert", ["host": peer.key])
        #expect(old["status"] as? String == "mismatch", "the old certificate still matches: \(old)")
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// The planned rotation through addDnacServer: the promotion is decided on the completed
    /// handshake, and the credentials go over that same checked connection, once.
    @Test func addDnacServerPromotesTheStagedCertificateBeforeSendingCredentials() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: current, dnac: ["username": "admin", "password": DnacTests.password])
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("addDnacServer", DnacTests.add(peer))
        _ = try await server.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
        try await peers.present(next, on: peer)
        let connections = try await peers.connections(peer)
        let requests = try await peers.requests(peer).count

        let added = try await server.result("addDnacServer", DnacTests.add(peer))
        #expect(added["pinStatus"] as? String == "rotated", "\(added)")
        #expect(added["authenticated"] as? Bool == true)
        #expect((added["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == next.fingerprint)
        #expect((added["server"] as? [String: Any])?["pinnedFingerprint"] as? String == next.fingerprint)
        #expect(try await peers.connections(peer) == connections + 1, "the credentials did not go over the checked connection")
        #expect(try await peers.requests(peer).count == requests + 1)

        // A wrong password after a rotation: -32004, and the rotation, which the handshake
        // proved, stands (storeChanged).
        let third = try await CertificateFactory.make()
        _ = try await server.result("pinCert", ["host": peer.key, "pem": third.pem, "next": true])
        try await peers.present(third, on: peer)
        let refused = try await server.call("addDnacServer", DnacTests.add(peer, password: "wrong"))
        #expect(refused.errorCode == -32004, "\(refused)")
        #expect(refused.errorData?["pinStatus"] as? String == "rotated")
        #expect(refused.errorData?["storeChanged"] as? Bool == true)
        #expect(try await Self.pin(server, peer.key)["sha256Fingerprint"] as? String == third.fingerprint)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// A certificate that is neither the pin nor the staged one is refused as before, and the
    /// answer says it is not the staged one either; nothing is sent, nothing changes.
    @Test func anUnexpectedThirdCertificateIsStillRefused() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let intruder = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: current, dnac: ["username": "admin", "password": DnacTests.password])
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("addDnacServer", DnacTests.add(peer))
        _ = try await server.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
        try await peers.present(intruder, on: peer)
        let requests = try await peers.requests(peer).count
        let pinBefore = try await Self.pin(server, peer.key)

        let added = try await server.call("addDnacServer", DnacTests.add(peer))
        #expect(added.errorCode == -32002, "\(added)")
        let message = (added.object["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("It is not the staged next certificate \(next.fingerprint) (serial "), "\(message)")
        #expect(try await peers.requests(peer).count == requests, "credentials went to an unexpected certificate")
        let verified = try await server.result("verifyCert", ["host": peer.key])
        #expect(verified["status"] as? String == "mismatch")
        #expect(((verified["pinned"] as? [String: Any])?["next"] as? [String: Any])?["sha256Fingerprint"] as? String == next.fingerprint)
        #expect(NSDictionary(dictionary: try await Self.pin(server, peer.key)).isEqual(to: pinBefore))
        let last = try await Self.events(server, peer.key).last
        #expect(last?["event"] as? String == "mismatch")
        #expect((last?["detail"] as? String)?.contains("staged: \(next.fingerprint)") == true)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// Two processes see the rotated host at once: one pin, one rotated event, and neither
    /// answers a mismatch (the second finds the promotion done in its own transaction).
    @Test func twoProcessesRacingAPromotionEndWithOnePinAndOneEvent() async throws {
        let peers = try TLSPeers()
        for round in 0..<5 {
            let current = try await CertificateFactory.make()
            let next = try await CertificateFactory.make()
            let peer = try await peers.listen("tls", certificate: current)
            let store = newStorePath()
            let first = try StoreServer(storePath: store)
            let second = try StoreServer(storePath: store)
            _ = try await first.result("pinCert", ["host": peer.key, "pem": current.pem])
            _ = try await first.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
            _ = try await second.result("listCerts")
            try await peers.present(next, on: peer)
            async let a = first.result("verifyCert", ["host": peer.key])
            async let b = second.result("verifyCert", ["host": peer.key])
            let answers = try await [a, b]
            #expect(answers.allSatisfy { $0["status"] as? String == "match" }, "round \(round): \(answers)")
            #expect(answers.filter { $0["event"] as? String == "rotated" }.count == 1, "round \(round): \(answers)")
            let kinds = try await Self.events(first, peer.key).compactMap { $0["event"] as? String }
            #expect(kinds.filter { $0 == "rotated" }.count == 1 && !kinds.contains("mismatch"), "round \(round): \(kinds)")
            #expect(try await Self.pin(second, peer.key)["sha256Fingerprint"] as? String == next.fingerprint)
            #expect(try await first.stop() == 0)
            #expect(try await second.stop() == 0)
        }
        peers.stop()
    }

    /// A cancelled call never promotes: cancelled while the handshake is still under way, it
    /// answers -32800 and the staged certificate stays staged.
    @Test func aCancelledVerificationNeverPromotes() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: next, options: ["handshakeDelay": 1.0])
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": peer.key, "pem": current.pem])
        _ = try await server.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
        server.process.send(line: Wire.request("verifyCert", id: "slow", params: ["host": peer.key, "timeoutMs": 10000]))
        try await Task.sleep(for: .milliseconds(300))
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": "slow"]))
        let answer = try await server.process.reader.next()
        #expect(answer.errorCode == -32800, "\(answer)")
        try await Task.sleep(for: .milliseconds(1500))
        let pin = try await Self.pin(server, peer.key)
        #expect(pin["sha256Fingerprint"] as? String == current.fingerprint, "a cancelled call promoted the staged certificate")
        #expect((pin["next"] as? [String: Any])?["sha256Fingerprint"] as? String == next.fingerprint)
        #expect(try await Self.events(server, peer.key).contains { $0["event"] as? String == "rotated" } == false)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// A handshake that fails after the peer sent the staged certificate (here: it demands a
    /// client certificate) proves nothing: unreachable, and nothing is promoted.
    @Test func aPartialHandshakeNeverPromotes() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let peer = try await peers.listen("alert", certificate: next)
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": peer.key, "pem": current.pem])
        _ = try await server.result("pinCert", ["host": peer.key, "pem": next.pem, "next": true])
        let before = try await Self.snapshot(server)
        let verified = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 3000])
        #expect(verified["status"] as? String == "unreachable", "\(verified)")
        let added = try await server.call("addDnacServer", DnacTests.add(peer, extra: ["timeoutMs": 3000]))
        #expect(added.errorCode == -32003, "\(added)")
        #expect(try await Self.snapshot(server) == before, "a failed handshake changed the store")
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    // MARK: - Bad input

    /// Each refused call names the field (or says what is missing) and changes nothing.
    @Test func badRotationInputIsRefusedAndChangesNothing() async throws {
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        let refusedUnpinned = try await server.call("pinCert", ["host": "kong.example", "pem": next.pem, "next": true])
        #expect(refusedUnpinned.errorCode == -32001, "\(refusedUnpinned)")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": current.pem])
        let before = try await Self.snapshot(server)
        let cases: [(String, [String: Any], Int, String?)] = [
            ("pinCert", ["host": "kong.example", "pem": "not a certificate", "next": true], -32602, "pem"),
            ("pinCert", ["host": "kong.example", "pem": current.pem + next.pem, "next": true], -32602, "pem"),
            ("pinCert", ["host": "kong.example", "pem": current.pem, "next": true], -32602, "pem"),
            ("pinCert", ["host": "kong.example", "pem": next.pem, "next": "yes"], -32602, "next"),
            ("pinCert", ["host": "kong.example", "pem": next.pem, "next": true, "policy": "publicKey"], -32602, "policy"),
            ("pinCert", ["host": "other.example", "pem": next.pem, "policy": "spki"], -32602, "policy"),
            ("setPinPolicy", ["host": "kong.example", "policy": "PublicKey"], -32602, "policy"),
            ("setPinPolicy", ["host": "kong.example"], -32602, "policy"),
            ("setPinPolicy", ["host": "other.example", "policy": "publicKey"], -32001, nil),
            ("deleteCert", ["host": "kong.example", "next": true], -32001, nil),
            ("deleteCert", ["host": "other.example", "next": true], -32001, nil),
            ("listCerts", ["staged": 1], -32602, "staged"),
        ]
        for (method, params, code, field) in cases {
            let answer = try await server.call(method, params)
            #expect(answer.errorCode == code, "\(method) \(params): \(answer)")
            if let field { #expect(answer.errorData?["field"] as? String == field, "\(method) \(params): \(answer)") }
        }
        #expect(try await server.call("deleteCert", ["host": "kong.example", "next": true]).errorData?["kind"] as? String == "nothingStaged")
        #expect(try await Self.snapshot(server) == before, "a refused call changed the store")

        // A staging replaces the previous one; deleteCert next checks expectedFingerprint
        // against the staged certificate and leaves the pin.
        let other = try await CertificateFactory.make()
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": next.pem, "next": true])
        let replaced = try await server.result("pinCert", ["host": "kong.example", "pem": other.pem, "next": true])
        #expect(((replaced["pin"] as? [String: Any])?["next"] as? [String: Any])?["sha256Fingerprint"] as? String == other.fingerprint)
        let listed = try await server.result("listCerts", ["staged": true])["certs"] as? [[String: Any]] ?? []
        #expect(listed.compactMap { $0["host"] as? String } == ["kong.example_443"])
        let wrong = try await server.call("deleteCert", ["host": "kong.example", "next": true, "expectedFingerprint": next.fingerprint])
        #expect(wrong.errorCode == -32002, "\(wrong)")
        let removed = try await server.result("deleteCert", ["host": "kong.example", "next": true, "expectedFingerprint": other.fingerprint])
        #expect((removed["deletedNext"] as? [String: Any])?["sha256Fingerprint"] as? String == other.fingerprint)
        #expect(removed["deleted"] is NSNull)
        let pin = try await Self.pin(server, "kong.example")
        #expect(pin["sha256Fingerprint"] as? String == current.fingerprint && pin["next"] is NSNull)
        #expect((try await server.result("listCerts", ["staged": true])["certs"] as? [Any])?.isEmpty == true)
        #expect(try await server.stop() == 0)
    }

    // MARK: - Migration

    /// A store made by the previous schema (v2, committed as a fixture) upgrades in place: every
    /// pin kept, with policy certificate and nothing staged, the history and servers intact, and
    /// rotation works on it at once.
    @Test func aStoreOfThePreviousSchemaUpgradesInPlace() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/store-v2.sqlite").path
        let store = newStorePath("tofu-migration")
        try FileManager.default.copyItem(atPath: fixture, toPath: store)
        let server = try StoreServer(storePath: store)
        let pins = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(pins.compactMap { $0["host"] as? String } == ["127.0.0.1_35723", "kong.example_443"])
        #expect(pins.allSatisfy { $0["policy"] as? String == "certificate" && $0["next"] is NSNull })
        let events = try await server.result("certHistory")["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["event"] as? String } == ["pinned", "pinned", "deleted", "pinned"])
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.first?["username"] as? String == "admin")
        let next = try await CertificateFactory.make()
        let staged = try await server.result("pinCert", ["host": "kong.example", "pem": next.pem, "next": true])
        #expect(staged["pinStatus"] as? String == "staged")
        #expect(try await server.stop() == 0)
        let migrations = try await runProgram("/usr/bin/sqlite3", ["-readonly", store, "SELECT identifier FROM grdb_migrations ORDER BY rowid"])
        #expect(migrations.stdout.contains("v3: pin policy and staged next certificate"), "\(migrations.stdout)")
    }
}
