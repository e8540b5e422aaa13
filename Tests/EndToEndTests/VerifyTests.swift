import Foundation
import TestSupport
import Testing

/// verifyCert through the real binary against real TLS peers on loopback.
@Suite struct VerifyTests {
    func verify(_ server: StoreServer, _ host: String, timeoutMs: Int = 3000) async throws -> [String: Any] {
        try await server.result("verifyCert", ["host": host, "timeoutMs": timeoutMs])
    }

    @Test func matchMismatchAndUnpinnedAgainstALiveController() async throws {
        let peers = try TLSPeers()
        let directory = temporaryDirectory()
        let original = try await CertificateFactory.make(in: directory)
        let controller = try await peers.listen("tls", certificate: original)
        let server = try StoreServer(storePath: newStorePath())

        let unpinned = try await verify(server, controller.address)
        #expect(unpinned["status"] as? String == "unpinned")
        #expect(unpinned["pinned"] is NSNull)
        #expect((unpinned["presented"] as? [String: Any])?["sha256Fingerprint"] as? String == original.fingerprint)
        #expect(unpinned["verification"] as? String == "self-signed certificate")
        // Read-only: verifying did not pin.
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)

        _ = try await server.result("pinCert", ["host": controller.address, "pem": original.pem])
        let match = try await verify(server, controller.key)
        #expect(match["status"] as? String == "match")
        #expect(match["host"] as? String == controller.key)
        #expect((match["pinned"] as? [String: Any])?["lastVerifiedAt"] is String)
        #expect(match["presentedValidity"] as? String == "valid")
        #expect(match["address"] as? String == "127.0.0.1")
        let listed = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(listed.first?["lastVerifiedAt"] is String, "a match sets lastVerifiedAt")

        // The controller re-issues with the same key, then regenerates with a new one.
        let reissued = try await CertificateFactory.make(reusingKey: original.keyPath, in: directory)
        try await peers.present(reissued, on: controller)
        let sameKey = try await verify(server, controller.address)
        #expect(sameKey["status"] as? String == "mismatch")
        #expect(sameKey["change"] as? String == "reissuedSameKey")
        let regenerated = try await CertificateFactory.make(in: directory)
        try await peers.present(regenerated, on: controller)
        let newKey = try await verify(server, controller.address)
        #expect(newKey["status"] as? String == "mismatch")
        #expect(newKey["change"] as? String == "newKey")
        #expect((newKey["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String == original.fingerprint)
        #expect((newKey["presented"] as? [String: Any])?["sha256Fingerprint"] as? String == regenerated.fingerprint)
        // Read-only: the mismatch left the pin alone.
        let stillPinned = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(stillPinned.first?["sha256Fingerprint"] as? String == original.fingerprint)

        let history = try await server.result("certHistory", ["host": controller.key])["events"] as? [[String: Any]] ?? []
        #expect(history.compactMap { $0["event"] as? String } == ["pinned", "mismatch", "mismatch"], "a match after the pinning is no news; two different certificates are")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func expiredAndNotYetValidCertificatesAreNamed() async throws {
        let peers = try TLSPeers()
        let expired = try await CertificateFactory.make(notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        let future = try await CertificateFactory.make(notBefore: "20990101000000Z", notAfter: "21000101000000Z")
        let old = try await peers.listen("tls", certificate: expired)
        let early = try await peers.listen("tls", certificate: future)
        let server = try StoreServer(storePath: newStorePath())
        #expect(try await verify(server, old.address)["presentedValidity"] as? String == "expired")
        #expect(try await verify(server, early.address)["presentedValidity"] as? String == "notYetValid")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func aChainWithAnIntermediateAndAnRSAKey() async throws {
        let peers = try TLSPeers()
        let (leaf, intermediate, chainPath) = try await CertificateFactory.chain()
        let chained = try await peers.listen("tls", certificate: leaf, chainPath: chainPath, count: 1)[0]
        let rsa = try await peers.listen("tls", certificate: try await CertificateFactory.make(subject: "/C=US/O=Cisco Systems/CN=dnäc", key: .rsa(2048)))
        let server = try StoreServer(storePath: newStorePath())
        let result = try await verify(server, chained.address)
        let presented = result["presented"] as? [String: Any]
        #expect(presented?["sha256Fingerprint"] as? String == leaf.fingerprint, "the leaf is what is compared")
        #expect(presented?["issuer"] as? String == "O = Test, CN = Test Intermediate")
        #expect(result["verification"] as? String != "ok", "a private root is not trusted by the system")
        _ = intermediate
        let rsaResult = try await verify(server, rsa.address)
        #expect((rsaResult["presented"] as? [String: Any])?["publicKey"] as? String == "RSA 2048")
        #expect((rsaResult["presented"] as? [String: Any])?["subject"] as? String == "C = US, O = Cisco Systems, CN = dnäc")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func ipv6AndLocalhostHostKeysEndToEnd() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let v6 = try await peers.listen("tls", host: "::1", certificate: certificate)
        let server = try StoreServer(storePath: newStorePath())
        let pinned = try await server.result("pinCert", ["host": "[0:0:0:0:0:0:0:1]:\(v6.port)", "pem": certificate.pem])
        #expect((pinned["pin"] as? [String: Any])?["host"] as? String == "::1_\(v6.port)")
        let match = try await verify(server, "::1_\(v6.port)")
        #expect(match["status"] as? String == "match")
        #expect(match["address"] as? String == "::1")
        let v4 = try await peers.listen("tls", certificate: certificate)
        let byName = try await verify(server, "localhost:\(v4.port)")
        #expect(byName["host"] as? String == "localhost_\(v4.port)")
        #expect(byName["status"] as? String == "unpinned")
        #expect(byName["address"] as? String == "127.0.0.1" || byName["address"] as? String == "::1")
        _ = try await server.stop()
        peers.stop()
    }

    /// Each unreachable reason, from a peer that behaves that way.
    @Test func everyUnreachableReason() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        let huge = try await CertificateFactory.hugeChain(for: certificate, copies: 2500)
        let cases: [(String, String, Int)] = [
            ("127.0.0.1:\(TLSPeers.closedPort())", "refused", 3000),
            ("[::1]:\(TLSPeers.closedPort(host: "::1"))", "refused", 3000),
            (try await peers.listen("silent").address, "timeout", 700),
            (try await peers.listen("drip").address, "timeout", 1500),
            (try await peers.listen("close").address, "reset", 3000),
            (try await peers.listen("reset").address, "reset", 3000),
            (try await peers.listen("http").address, "notTLS", 3000),
            (try await peers.listen("alert", certificate: certificate).address, "tlsAlert", 3000),
            (try await peers.listen("tls", certificate: certificate, chainPath: huge, count: 1)[0].address, "protocol", 10000),
        ]
        for (host, reason, timeout) in cases {
            let result = try await verify(server, host, timeoutMs: timeout)
            #expect(result["status"] as? String == "unreachable", "\(host): \(result)")
            #expect(result["reason"] as? String == reason, "\(host): \(result)")
            #expect((result["detail"] as? String)?.isEmpty == false)
            if reason == "tlsAlert" { #expect(result["alert"] as? String == "handshake failure") }
        }
        _ = try await server.stop()
        peers.stop()
    }

    /// A name that does not resolve, in a network namespace of the test's own with no
    /// network at all, so the lookup cannot leave the machine.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func dnsFailureInAnIsolatedNamespace() async throws {
        let store = newStorePath()
        let server = try ServerProcess("/usr/bin/unshare", arguments: ["--net", productPath("tofu-rpc"), "--store", store])
        let answer = try await server.call("verifyCert", id: 1, params: ["host": "kong.invalid", "timeoutMs": 5000])
        let result = answer.object["result"] as? [String: Any]
        #expect(result?["status"] as? String == "unreachable", "\(answer) \(server.stderr)")
        #expect(result?["reason"] as? String == "dns", "\(answer)")
        server.closeInput()
        _ = try await server.waitForExit()
    }

    @Test func aSilentHostDelaysNoOtherRequest() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent", count: 3)
        let server = try StoreServer(storePath: newStorePath())
        for (index, peer) in silent.enumerated() {
            server.process.send(line: Wire.request("verifyCert", id: "slow-\(index)", params: ["host": peer.address, "timeoutMs": 20000]))
        }
        server.process.send(line: Wire.request("listCerts", id: "fast"))
        let first = try await server.process.reader.next(timeout: .seconds(10))
        #expect(first.object["id"] as? String == "fast", "listCerts waited for the silent hosts: \(first)")
        for index in 0..<3 { server.process.send(line: Wire.request("$/cancelRequest", params: ["id": "slow-\(index)"])) }
        let cancelled = try await server.process.reader.next(3, timeout: .seconds(10))
        #expect(cancelled.allSatisfy { $0.errorCode == -32800 })
        _ = try await server.stop()
        peers.stop()
    }

    @Test func allOver200HostsWithProgress() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let hosts = try await peers.listen("tls", certificate: certificate, count: 200)
        let server = try StoreServer(storePath: newStorePath())
        var pins: [UInt8] = []
        for (index, peer) in hosts.enumerated() {
            pins += Wire.ndjson(Wire.request("pinCert", id: "pin-\(index)", params: ["host": peer.address, "pem": certificate.pem]))
        }
        server.process.send(pins)
        #expect(try await server.process.reader.next(200).allSatisfy { $0.errorCode == nil })
        // One host now presents another certificate, one is gone.
        try await peers.present(try await CertificateFactory.make(), on: hosts[7])
        server.process.send(line: Wire.request("verifyCert", id: "all", params: ["all": true, "concurrency": 16, "progressToken": "tok", "timeoutMs": 5000]))
        var progress: [[String: Any]] = []
        var final: Received?
        while final == nil {
            let message = try await server.process.reader.next(timeout: .seconds(60))
            if message.object["method"] as? String == "$/progress" {
                progress.append(message.object["params"] as? [String: Any] ?? [:])
            } else {
                final = message
            }
        }
        #expect(progress.count == 200)
        #expect(progress.allSatisfy { $0["token"] as? String == "tok" })
        #expect(progress.compactMap { ($0["value"] as? [String: Any])?["done"] as? Int } == Array(1...200))
        #expect(progress.allSatisfy { ($0["value"] as? [String: Any])?["total"] as? Int == 200 })
        let answer = try #require(final)
        #expect(OpenRPCDocument.repository.problems(answering: "verifyCert", answer).isEmpty)
        let results = (answer.object["result"] as? [String: Any])?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 200)
        #expect(results.compactMap { $0["host"] as? String } == results.compactMap { $0["host"] as? String }.sorted())
        #expect(results.filter { $0["status"] as? String == "match" }.count == 199)
        #expect(results.first { $0["host"] as? String == hosts[7].key }?["status"] as? String == "mismatch")
        _ = try await server.stop()
        peers.stop()
    }

    @Test func cancellingAnAllRunAnswersPromptly() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let silent = try await peers.listen("silent", count: 40)
        let server = try StoreServer(storePath: newStorePath())
        var pins: [UInt8] = []
        for (index, peer) in silent.enumerated() {
            pins += Wire.ndjson(Wire.request("pinCert", id: "pin-\(index)", params: ["host": peer.address, "pem": certificate.pem]))
        }
        server.process.send(pins)
        _ = try await server.process.reader.next(40)
        server.process.send(line: Wire.request("verifyCert", id: "all", params: ["all": true, "concurrency": 8, "timeoutMs": 60000]))
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        server.process.send(line: Wire.request("$/cancelRequest", params: ["id": "all"]))
        let answer = try await server.process.reader.next(timeout: .seconds(10))
        #expect(answer.object["id"] as? String == "all")
        #expect(answer.errorCode == -32800)
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(5)), "the run was not stopped promptly")
        _ = try await server.stop()
        peers.stop()
    }

    /// The offline comparison gets the live path's cases: unpinned, match, the same key
    /// re-issued (a new certificate, so a mismatch: comparing public keys alone would call it a
    /// match), a new key, and the presented certificate's validity. It changes nothing.
    /// (Offline hosts are names, never a documentation address: nothing is dialled here.)
    @Test func offlineComparisonHasTheLiveCasesAndChangesNothing() async throws {
        let server = try StoreServer(storePath: newStorePath())
        let directory = temporaryDirectory()
        let pinned = try await CertificateFactory.make(in: directory)
        let reissued = try await CertificateFactory.make(reusingKey: pinned.keyPath, in: directory)
        let regenerated = try await CertificateFactory.make(in: directory)
        let expired = try await CertificateFactory.make(notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        let future = try await CertificateFactory.make(notBefore: "20990101000000Z", notAfter: "21000101000000Z")
        let host = "kong.example"
        _ = try await server.result("pinCert", ["host": host, "pem": pinned.pem])
        func offline(_ certificate: TestCertificate, host: String = host) async throws -> [String: Any] {
            try await server.result("verifyCert", ["host": host, "pem": certificate.pem])
        }
        func fingerprints(_ result: [String: Any]) -> (String?, String?) {
            ((result["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String, (result["presented"] as? [String: Any])?["sha256Fingerprint"] as? String)
        }

        let match = try await offline(pinned)
        #expect(match["status"] as? String == "match")
        #expect(match["host"] as? String == "kong.example_443")
        #expect(match["change"] == nil)
        #expect(match["presentedValidity"] as? String == "valid")
        #expect(fingerprints(match) == (pinned.fingerprint, pinned.fingerprint))

        let sameKey = try await offline(reissued)
        #expect(sameKey["status"] as? String == "mismatch", "a re-issued certificate with the same key is not the pinned certificate")
        #expect(sameKey["change"] as? String == "reissuedSameKey")
        #expect(fingerprints(sameKey) == (pinned.fingerprint, reissued.fingerprint))

        let newKey = try await offline(regenerated)
        #expect(newKey["status"] as? String == "mismatch")
        #expect(newKey["change"] as? String == "newKey")
        #expect(fingerprints(newKey) == (pinned.fingerprint, regenerated.fingerprint))

        #expect(try await offline(expired)["presentedValidity"] as? String == "expired")
        #expect(try await offline(future)["presentedValidity"] as? String == "notYetValid")

        let unpinned = try await offline(regenerated, host: "other.example")
        #expect(unpinned["status"] as? String == "unpinned")
        #expect(unpinned["pinned"] is NSNull)

        let history = try await server.result("certHistory")["events"] as? [Any] ?? []
        #expect(history.count == 1, "offline checks record nothing")
        let pins = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(pins.count == 1 && pins.first?["sha256Fingerprint"] as? String == pinned.fingerprint && pins.first?["lastVerifiedAt"] is NSNull)
        _ = try await server.stop()
    }

    @Test func badParamsNameTheField() async throws {
        let server = try StoreServer(storePath: newStorePath())
        let certificate = try await CertificateFactory.make()
        let cases: [([String: Any], String?)] = [
            ([:], "host"),
            (["all": true, "host": "127.0.0.1:9"], "host"),
            (["all": true, "pem": certificate.pem], "pem"),
            (["all": false], "all"),
            (["all": "yes"], "all"),
            (["host": "127.0.0.1:9", "concurrency": 4], "concurrency"),
            (["host": "127.0.0.1:9", "progressToken": "t"], "progressToken"),
            (["all": true, "progressToken": ["t"]], "progressToken"),
            (["all": true, "concurrency": 0], "concurrency"),
            (["host": "127.0.0.1:9", "timeoutMs": 10], "timeoutMs"),
            (["host": "127.0.0.1:9", "timeoutMs": "5"], "timeoutMs"),
            (["host": "127.0.0.1:9", "pem": certificate.pem, "timeoutMs": 1000], "timeoutMs"),
            (["host": "127.0.0.1:9", "pem": "garbage"], "pem"),
            (["host": "not a host"], "host"),
            (["host": "127.0.0.1:9", "hots": 1], "hots"),
        ]
        for (params, field) in cases {
            let answer = try await server.call("verifyCert", params)
            #expect(answer.errorCode == -32602, "\(params): \(answer)")
            #expect(answer.errorData?["field"] as? String == field, "\(params): \(answer)")
        }
        _ = try await server.stop()
    }
}
