import Foundation
import TestSupport
import Testing

/// A controller that demands a TLS client certificate (mutual TLS), which tofu never presents:
/// over TLS 1.2 and 1.3 alike, -32003 naming the cause, nothing pinned, nothing sent; one that
/// only asks for a certificate works as any other.
@Suite struct ClientCertificateTests {
    static let cause = "the controller demands a TLS client certificate (mutual TLS), which tofu does not present"

    @Test(arguments: ["1.2", "1.3"])
    func aControllerDemandingAClientCertificate(tls: String) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen("clientcert", certificate: certificate, options: ["tls": tls, "require": true])
        let server = try StoreServer(storePath: newStorePath())

        let added = try await server.call("addDnacServer", DnacTests.add(peer))
        #expect(added.errorCode == -32003, "TLS \(tls): \(added)")
        #expect(added.errorData?["reason"] as? String == "tlsAlert", "TLS \(tls): \(added)")
        #expect((added.errorData?["detail"] as? String)?.contains(Self.cause) == true, "TLS \(tls): \(added)")
        #expect((added.errorData?["detail"] as? String)?.contains("unknown") == false, "TLS \(tls): the alert is not named: \(added)")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true, "TLS \(tls): something was pinned")
        #expect((try await server.result("listDnacServers")["servers"] as? [Any])?.isEmpty == true)
        #expect((try await server.result("certHistory")["events"] as? [Any])?.isEmpty == true)

        // verifyCert, unpinned and pinned: unreachable for the same reason, and the store unchanged.
        let unpinned = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 3000])
        #expect(unpinned["status"] as? String == "unreachable", "TLS \(tls): \(unpinned)")
        #expect(unpinned["reason"] as? String == "tlsAlert")
        #expect((unpinned["detail"] as? String)?.contains(Self.cause) == true, "TLS \(tls): \(unpinned)")
        _ = try await server.result("pinCert", ["host": peer.key, "pem": certificate.pem])
        func store() async throws -> [NSArray?] {
            [
                try await server.result("listCerts", ["includePem": true])["certs"] as? NSArray,
                try await server.result("listDnacServers")["servers"] as? NSArray,
                try await server.result("certHistory")["events"] as? NSArray,
            ]
        }
        let before = try await store()
        let pinned = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 3000])
        #expect(pinned["status"] as? String == "unreachable", "TLS \(tls): \(pinned)")
        #expect((pinned["detail"] as? String)?.contains(Self.cause) == true)
        let again = try await server.call("addDnacServer", DnacTests.add(peer))
        #expect(again.errorCode == -32003, "TLS \(tls): \(again)")
        #expect(try await store() == before, "the store changed")
        #expect(before[0]?.count == 1)
        #expect(try await peers.requests(peer).isEmpty)
        _ = try await server.stop()
        peers.stop()
    }

    @Test(arguments: ["1.2", "1.3"])
    func aControllerThatOnlyAsksForOneStillWorks(tls: String) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen(
            "clientcert", certificate: certificate, options: ["tls": tls, "require": false],
            dnac: ["username": "admin", "password": DnacTests.password])
        let server = try StoreServer(storePath: newStorePath())
        let added = try await server.result("addDnacServer", DnacTests.add(peer))
        #expect(added["pinStatus"] as? String == "pinned", "TLS \(tls): \(added)")
        #expect(added["authenticated"] as? Bool == true)
        let verified = try await server.result("verifyCert", ["host": peer.key])
        #expect(verified["status"] as? String == "match", "TLS \(tls): \(verified)")
        #expect(verified["tlsVersion"] as? String == "TLSv\(tls)")
        _ = try await server.stop()
        peers.stop()
    }

    /// TLS 1.3 lets the client finish its handshake before the server has judged the missing
    /// client certificate: a server that takes its time over the refusal is still refused
    /// before anything is pinned or sent.
    @Test func aControllerThatRefusesSlowlyOverTLS13() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen(
            "clientcert", certificate: certificate, options: ["tls": "1.3", "require": true, "refuseDelay": 1.2])
        let server = try StoreServer(storePath: newStorePath())
        var add = DnacTests.add(peer)
        add["timeoutMs"] = 8000
        let added = try await server.call("addDnacServer", add)
        #expect(added.errorCode == -32003, "\(added)")
        #expect((added.errorData?["detail"] as? String)?.contains(Self.cause) == true, "\(added)")
        let verified = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 8000])
        #expect(verified["status"] as? String == "unreachable", "\(verified)")
        #expect((verified["detail"] as? String)?.contains(Self.cause) == true, "\(verified)")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true, "something was pinned")
        #expect((try await server.result("certHistory")["events"] as? [Any])?.isEmpty == true)
        #expect(try await peers.requests(peer).isEmpty)
        _ = try await server.stop()
        peers.stop()
    }

    /// A server that only asks for a client certificate says it accepted the handshake without
    /// one by sending its session tickets, so tofu does not wait out the verdict window; one that
    /// sends no tickets is accepted when the window ends. The window is set far apart from the
    /// time a handshake takes (60 s with tickets, 1 s without), so load on the machine cannot
    /// blur the two.
    @Test(arguments: [true, false])
    func aControllerThatOnlyAsksOverTLS13(sendsTickets: Bool) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen(
            "clientcert", certificate: certificate, options: ["tls": "1.3", "require": false, "tickets": sendsTickets],
            dnac: ["username": "admin", "password": DnacTests.password])
        let window = sendsTickets ? 60_000 : 1000
        let server = try StoreServer(storePath: newStorePath(), environment: ["TOFU_TLS13_VERDICT_MS": String(window)])
        let clock = ContinuousClock()
        let started = clock.now
        let added = try await server.result("addDnacServer", DnacTests.add(peer, extra: ["timeoutMs": 60_000]))
        let elapsed = clock.now - started
        #expect(added["pinStatus"] as? String == "pinned", "\(added)")
        if sendsTickets {
            #expect(elapsed < min(TestTime.bound(.seconds(15)), .seconds(45)), "the session ticket did not end the wait: \(elapsed)")
        } else {
            #expect(elapsed >= .milliseconds(window), "no ticket came, yet the wait ended early: \(elapsed)")
        }
        let verified = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 60_000])
        #expect(verified["status"] as? String == "match", "\(verified)")
        _ = try await server.stop()
        peers.stop()
    }
}
