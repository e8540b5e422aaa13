import Foundation
import TestSupport
import Testing

/// `acceptFingerprint` means "trust this certificate and no other", pinned or not: another
/// certificate is -32002 with nothing pinned and nothing sent; that one is pinned on first use.
@Suite struct AcceptFingerprintTests {
    static let password = "pw-\"accept\"-é"

    static func add(_ peer: Peer, accept: String?) -> [String: Any] {
        var params: [String: Any] = ["server": peer.address, "username": "admin", "password": password, "confirmPassword": password, "timeoutMs": 3000]
        if let accept { params["acceptFingerprint"] = accept }
        return params
    }

    @Test func anotherCertificateOnAnUnpinnedHostIsRefusedAndNothingIsSent() async throws {
        let peers = try TLSPeers()
        let presented = try await CertificateFactory.make()
        let expected = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: presented, dnac: ["username": "admin", "password": Self.password])
        let server = try StoreServer(storePath: newStorePath())

        let refused = try await server.call("addDnacServer", Self.add(dnac, accept: expected.fingerprint))
        #expect(refused.errorCode == -32002, "\(refused)")
        #expect(refused.errorKind == "certificateMismatch")
        #expect(refused.errorData?["host"] as? String == dnac.key)
        #expect(refused.errorData?["pinned"] is NSNull)
        #expect(refused.errorData?["acceptFingerprint"] as? String == expected.fingerprint)
        #expect((refused.errorData?["presented"] as? [String: Any])?["sha256Fingerprint"] as? String == presented.fingerprint)
        #expect(((refused.object["error"] as? [String: Any])?["message"] as? String)?.contains("nothing was pinned and nothing was sent") == true, "\(refused)")
        #expect(try await peers.requests(dnac).isEmpty, "credentials went to a certificate the operator did not accept")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        #expect((try await server.result("listDnacServers")["servers"] as? [Any])?.isEmpty == true)

        // The accepted certificate itself: pinned on first use, credentials checked.
        let spelled = presented.fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
        let added = try await server.result("addDnacServer", Self.add(dnac, accept: spelled))
        #expect(added["pinStatus"] as? String == "pinned")
        #expect(added["authenticated"] as? Bool == true)
        #expect((added["pin"] as? [String: Any])?["sha256Fingerprint"] as? String == presented.fingerprint)
        #expect(try await peers.requests(dnac).count == 1)

        // Pinned, and the pin is what is presented: a different acceptFingerprint is still refused.
        let again = try await server.call("addDnacServer", Self.add(dnac, accept: expected.fingerprint))
        #expect(again.errorCode == -32002, "\(again)")
        #expect((again.errorData?["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String == presented.fingerprint)
        #expect(try await peers.requests(dnac).count == 1, "credentials went to a certificate the operator did not accept")
        let history = try await server.result("certHistory", ["host": dnac.key])["events"] as? [[String: Any]] ?? []
        #expect(history.compactMap { $0["event"] as? String } == ["pinned", "serverAdded"])
        _ = try await server.stop()
        peers.stop()
    }

    @Test(arguments: CLITests.Client.allCases)
    func theCLIsAcceptFingerprintRefusesAnotherCertificate(client: CLITests.Client) async throws {
        let peers = try TLSPeers()
        let presented = try await CertificateFactory.make()
        let expected = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: presented, dnac: ["username": "admin", "password": Self.password])
        let store = newStorePath()
        let arguments = ["add-dnac-server", "--server", dnac.address, "--username", "admin", "--password-stdin", "--timeout-ms", "3000"]
        let refused = try await CLITests.run(client, arguments + ["--accept-fingerprint", expected.fingerprint], store: store, stdin: Self.password + "\n")
        #expect(refused.status == 3, "\(client): \(refused.status) \(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("nothing was pinned and nothing was sent"), "\(client): \(refused.stderr)")
        #expect(refused.stderr.contains(presented.fingerprint), "\(client): \(refused.stderr)")
        #expect(try await peers.requests(dnac).isEmpty, "\(client): credentials went to a certificate the operator did not accept")
        let listed = try await CLITests.run(client, ["listcerts", "--json"], store: store)
        #expect(!listed.stdout.contains("sha256Fingerprint"), "\(client): something was pinned: \(listed.stdout)")

        let added = try await CLITests.run(client, arguments + ["--accept-fingerprint", presented.fingerprint], store: store, stdin: Self.password + "\n")
        #expect(added.status == 0, "\(client): \(added.stderr)")
        #expect(added.stdout.hasPrefix("pinned "), "\(client): \(added.stdout)")
        #expect(try await peers.requests(dnac).count == 1)
        peers.stop()
    }
}
