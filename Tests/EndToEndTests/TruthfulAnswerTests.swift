import Foundation
import TestSupport
import Testing

/// addDnacServer tells the truth about what happened, whatever another process or a
/// `$/cancelRequest` does meanwhile. The fake controller holds its token answer back until the
/// test lifts the hold ("hold"), so each interleaving is made on purpose, not hoped for.
@Suite struct TruthfulAnswerTests {
    static let password = "pw-truth"

    static func add(_ peer: Peer, accept: String? = nil) -> [String: Any] {
        var params: [String: Any] = ["server": peer.address, "username": "admin", "password": password, "confirmPassword": password, "timeoutMs": 60_000]
        if let accept { params["acceptFingerprint"] = accept }
        return params
    }

    /// Waits until the fake controller has received `count` token requests (it answers later).
    static func waitForRequests(_ peers: TLSPeers, _ peer: Peer, count: Int) async throws {
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while try await peers.requests(peer).count < count {
            try #require(ContinuousClock.now < deadline, "the controller never received the token request")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A controller whose pin is `old`, now presenting `new` and slow to answer the token request.
    static func rotatedController(_ peers: TLSPeers, store: String) async throws -> (Peer, old: TestCertificate, new: TestCertificate) {
        let old = try await CertificateFactory.make()
        let new = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: old, dnac: ["username": "admin", "password": password])
        let setup = try StoreServer(storePath: store)
        _ = try await setup.result("addDnacServer", add(dnac))
        _ = try await setup.stop()
        try await peers.present(new, on: dnac)
        try await peers.dnac(dnac, ["hold": true])
        return (dnac, old, new)
    }

    /// (what the other process does while the controller holds its answer, the pin it leaves,
    /// the answer expected: a pinStatus, or an error code)
    enum Meanwhile: String, CaseIterable, Sendable {
        case deletesThePin, rePinsTheSameCertificate, pinsAThirdCertificate
    }

    @Test(arguments: Meanwhile.allCases)
    func aRePinRacingAnotherProcessSaysWhatHappened(meanwhile: Meanwhile) async throws {
        let peers = try TLSPeers()
        let store = newStorePath()
        let (dnac, old, new) = try await Self.rotatedController(peers, store: store)
        let adder = try StoreServer(storePath: store)
        let other = try StoreServer(storePath: store)
        // Both processes have the store open before the race starts: only the race takes time.
        _ = try await adder.result("listCerts", ["host": dnac.key])
        _ = try await other.result("listCerts", ["host": dnac.key])
        adder.process.send(line: Wire.request("addDnacServer", id: "repin", params: Self.add(dnac, accept: new.fingerprint)))
        try await Self.waitForRequests(peers, dnac, count: 2)

        let third = try await CertificateFactory.make()
        _ = try await other.result("deleteCert", ["host": dnac.key, "expectedFingerprint": old.fingerprint])
        switch meanwhile {
        case .deletesThePin: break
        case .rePinsTheSameCertificate: _ = try await other.result("pinCert", ["host": dnac.key, "pem": new.pem])
        case .pinsAThirdCertificate: _ = try await other.result("pinCert", ["host": dnac.key, "pem": third.pem])
        }
        try await peers.dnac(dnac, ["hold": false])

        let answer = try await adder.process.reader.next()
        #expect(answer.object["id"] as? String == "repin")
        #expect(OpenRPCDocument.repository.problems(answering: "addDnacServer", answer).isEmpty)
        let pinned = (try await other.result("listCerts", ["host": dnac.key])["certs"] as? [[String: Any]])?.first?["sha256Fingerprint"] as? String
        let result = answer.object["result"] as? [String: Any]
        switch meanwhile {
        case .deletesThePin:
            // The credentials were accepted with the accepted certificate: it is pinned, as first use.
            #expect(result?["pinStatus"] as? String == "pinned", "\(answer)")
            #expect((result?["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == new.fingerprint)
            #expect(pinned == new.fingerprint)
            let events = try await other.result("certHistory", ["host": dnac.key])["events"] as? [[String: Any]] ?? []
            #expect(events.compactMap { $0["event"] as? String } == ["pinned", "serverAdded", "deleted", "pinned", "serverAdded"])
            #expect((events.last { $0["event"] as? String == "pinned" }?["detail"] as? String)?.contains("deleted meanwhile") == true)
        case .rePinsTheSameCertificate:
            #expect(result?["pinStatus"] as? String == "matched", "\(answer)")
            #expect(pinned == new.fingerprint)
        case .pinsAThirdCertificate:
            // Someone else chose a third certificate: not overwritten, and the answer says the
            // credentials went to the accepted certificate and nothing changed.
            #expect(answer.errorCode == -32002, "\(answer)")
            #expect(answer.errorData?["credentialsSent"] as? Bool == true)
            #expect(answer.errorData?["authenticated"] as? Bool == true)
            #expect(answer.errorData?["storeChanged"] as? Bool == false)
            #expect((answer.errorData?["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String == third.fingerprint)
            let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("accepted the credentials") && message.contains(new.fingerprint), "\(message)")
            #expect(pinned == third.fingerprint)
        }
        #expect(try await peers.requests(dnac).count == 2)
        _ = try await adder.stop()
        _ = try await other.stop()
        peers.stop()
    }

    /// Errors before anything is sent say so; errors after say what was sent.
    @Test func everyAddErrorSaysWhatWasSentAndChanged() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": "other"])
        let server = try StoreServer(storePath: newStorePath())
        let refused = try await server.call("addDnacServer", Self.add(dnac))
        #expect(refused.errorCode == -32004)
        #expect(refused.errorData?["credentialsSent"] as? Bool == true)
        #expect(refused.errorData?["storeChanged"] as? Bool == true, "the first-use pin was made")
        let again = try await server.call("addDnacServer", Self.add(dnac))
        #expect(again.errorData?["storeChanged"] as? Bool == false, "the pin matched: nothing changed")
        try await peers.present(try await CertificateFactory.make(), on: dnac)
        let mismatch = try await server.call("addDnacServer", Self.add(dnac))
        #expect(mismatch.errorCode == -32002)
        #expect(mismatch.errorData?["credentialsSent"] as? Bool == false)
        #expect(mismatch.errorData?["storeChanged"] as? Bool == false)
        let unreachable = try await server.call("addDnacServer", Self.add(Peer(id: 0, host: "127.0.0.1", port: TLSPeers.closedPort())))
        #expect(unreachable.errorCode == -32003)
        #expect(unreachable.errorData?["credentialsSent"] as? Bool == false)
        _ = try await server.stop()
        peers.stop()
    }

    /// A cancel that arrives once the first-use pin is made and the credentials are on their
    /// way does not stop the call: it completes (pin, server record), and its answer says so.
    @Test func aCancelAfterTheFirstUsePinLetsTheCallComplete() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": Self.password, "hold": true])
        let server = try StoreServer(storePath: newStorePath())
        server.process.send(line: Wire.request("addDnacServer", id: "late", params: Self.add(dnac)))
        try await Self.waitForRequests(peers, dnac, count: 1)
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": "late"]))
        // The cancel is read before the controller answers: a call after it is answered after it.
        _ = try await server.result("listCerts", ["host": dnac.key])
        try await peers.dnac(dnac, ["hold": false])
        let answer = try await server.process.reader.next()
        #expect(answer.object["id"] as? String == "late")
        // The call ran to its end: the pin and the server record are both there.
        let pins = try await server.result("listCerts", ["host": dnac.key])["certs"] as? [[String: Any]] ?? []
        #expect(pins.first?["sha256Fingerprint"] as? String == certificate.fingerprint)
        let servers = try await server.result("listDnacServers")["servers"] as? [[String: Any]] ?? []
        #expect(servers.first?["authenticated"] as? Bool == true, "the call stopped half-way: \(servers)")
        // Its answer says so: the completed result, not -32800.
        #expect(answer.errorCode == nil, "\(answer)")
        #expect((answer.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned")
        _ = try await server.stop()
        peers.stop()
    }

    /// A cancel before anything is pinned or sent stops the call at once: -32800, nothing changed.
    @Test func aCancelBeforeAnythingHappenedChangesNothing() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("listCerts")
        server.process.send(line: Wire.request("addDnacServer", id: "early", params: Self.add(silent)))
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": "early"]))
        let answer = try await server.process.reader.next()
        #expect(answer.object["id"] as? String == "early")
        #expect(answer.errorCode == -32800, "\(answer)")
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(15)), "the cancel did not stop the call (its timeout is 60 s)")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        _ = try await server.stop()
        peers.stop()
    }
}
