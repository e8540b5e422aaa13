import Foundation
import TestSupport
import Testing

/// pinCert, listCerts, deleteCert and certHistory through the real binary on real store files.
@Suite struct PinMethodTests {
    @Test func theOutageWorkflowOnPins() async throws {
        let store = newStorePath(inSubdirectory: true)
        let server = try StoreServer(storePath: store)
        let old = try await CertificateFactory.make()
        let new = try await CertificateFactory.make()

        let first = try await server.result("pinCert", ["host": "192.0.2.10", "pem": old.pem])
        #expect(first["pinStatus"] as? String == "pinned")
        let pin = try #require(first["pin"] as? [String: Any])
        #expect(pin["host"] as? String == "192.0.2.10_443")
        #expect(pin["address"] as? String == "192.0.2.10")
        #expect(pin["port"] as? Int == 443)
        #expect(pin["subject"] as? String == "CN = kong")
        #expect(pin["sha256Fingerprint"] as? String == old.fingerprint)
        #expect(pin["lastVerifiedAt"] is NSNull)

        let again = try await server.result("pinCert", ["host": "192.0.2.10_443", "pem": old.pem])
        #expect(again["pinStatus"] as? String == "matched")

        // The controller regenerated its certificate: pinning the new one is refused, with both.
        let mismatch = try await server.call("pinCert", ["host": "192.0.2.10:443", "pem": new.pem])
        #expect(mismatch.errorCode == -32002)
        #expect(mismatch.errorKind == "certificateMismatch")
        #expect((mismatch.errorData?["pinned"] as? [String: Any])?["sha256Fingerprint"] as? String == old.fingerprint)
        #expect((mismatch.errorData?["presented"] as? [String: Any])?["sha256Fingerprint"] as? String == new.fingerprint)
        #expect(mismatch.errorData?["change"] as? String == "newKey")

        let listed = try await server.result("listCerts")
        #expect((listed["certs"] as? [[String: Any]])?.map { $0["sha256Fingerprint"] as? String } == [old.fingerprint])
        #expect(listed["nextCursor"] is NSNull)

        // A script deletes only the pin it looked at.
        let wrong = try await server.call("deleteCert", ["host": "192.0.2.10_443", "expectedFingerprint": new.fingerprint])
        #expect(wrong.errorCode == -32002)
        #expect(wrong.errorData?["expectedFingerprint"] as? String == new.fingerprint)
        let stillThere = try await server.result("listCerts", ["host": "192.0.2.10"])
        #expect((stillThere["certs"] as? [Any])?.count == 1)

        let expected = old.fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
        let deleted = try await server.result("deleteCert", ["host": "192.0.2.10_443", "expectedFingerprint": expected])
        #expect((deleted["deleted"] as? [String: Any])?["sha256Fingerprint"] as? String == old.fingerprint)

        let gone = try await server.call("deleteCert", ["host": "192.0.2.10"])
        #expect(gone.errorCode == -32001)
        #expect(gone.errorData?["host"] as? String == "192.0.2.10_443")
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.isEmpty == true)

        let repinned = try await server.result("pinCert", ["host": "192.0.2.10", "pem": new.pem])
        #expect(repinned["pinStatus"] as? String == "pinned")

        let history = try await server.result("certHistory", ["host": "192.0.2.10"])
        let events = (history["events"] as? [[String: Any]] ?? []).map { "\($0["event"] ?? "")/\($0["sha256Fingerprint"] ?? "")" }
        #expect(events == ["pinned/\(old.fingerprint)", "deleted/\(old.fingerprint)", "pinned/\(new.fingerprint)"])
        #expect(try await server.stop() == 0)
    }

    @Test func aReissueWithTheSameKeyIsNamedSo() async throws {
        let server = try StoreServer(storePath: newStorePath(inSubdirectory: true))
        let directory = temporaryDirectory()
        let old = try await CertificateFactory.make(in: directory)
        let reissued = try await CertificateFactory.make(reusingKey: old.keyPath, in: directory)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": old.pem])
        let mismatch = try await server.call("pinCert", ["host": "kong.example", "pem": reissued.pem])
        #expect(mismatch.errorData?["change"] as? String == "reissuedSameKey")
        _ = try await server.stop()
    }

    @Test func badParamsNameTheFieldAndChangeNothing() async throws {
        let store = newStorePath(inSubdirectory: true)
        let server = try StoreServer(storePath: store)
        let certificate = try await CertificateFactory.make()
        _ = try await server.result("pinCert", ["host": "192.0.2.1", "pem": certificate.pem])
        let cases: [(String, [String: Any]?, String?)] = [
            ("pinCert", nil, "host"),
            ("pinCert", ["pem": certificate.pem], "host"),
            ("pinCert", ["host": 5, "pem": certificate.pem], "host"),
            ("pinCert", ["host": NSNull(), "pem": certificate.pem], "host"),
            ("pinCert", ["host": "192.0.2.300", "pem": certificate.pem], "host"),
            ("pinCert", ["host": "192.0.2.2"], "pem"),
            ("pinCert", ["host": "192.0.2.2", "pem": ["x"]], "pem"),
            ("pinCert", ["host": "192.0.2.2", "pem": "not a pem"], "pem"),
            ("pinCert", ["host": "192.0.2.2", "pem": certificate.pem + certificate.pem], "pem"),
            ("pinCert", ["host": "192.0.2.2", "pem": certificate.pem, "force": true], "force"),
            ("listCerts", ["limit": "10"], "limit"),
            ("listCerts", ["limit": 0], "limit"),
            ("listCerts", ["limit": 10_001], "limit"),
            ("listCerts", ["limit": 1.5], "limit"),
            ("listCerts", ["cursor": "garbage"], "cursor"),
            ("listCerts", ["cursor": 3], "cursor"),
            ("listCerts", ["includePem": "yes"], "includePem"),
            ("listCerts", ["expiringWithinDays": -1], "expiringWithinDays"),
            ("listCerts", ["host": "no such host!"], "host"),
            ("deleteCert", [:], "host"),
            ("deleteCert", ["host": ["192.0.2.1"]], "host"),
            ("deleteCert", ["host": "192.0.2.1", "expectedFingerprint": 5], "expectedFingerprint"),
            ("deleteCert", ["host": "192.0.2.1", "expectedFingerprint": "AB:CD"], "expectedFingerprint"),
            ("deleteCert", ["host": "192.0.2.1", "expectedFingerprnt": certificate.fingerprint], "expectedFingerprnt"),
            ("certHistory", ["limit": true], "limit"),
            ("certHistory", ["host": 1], "host"),
        ]
        for (method, params, field) in cases {
            let answer = try await server.call(method, params)
            #expect(answer.errorCode == -32602, "\(method) \(params ?? [:]): \(answer)")
            #expect(answer.errorData?["field"] as? String == field, "\(method) \(params ?? [:]): \(answer)")
        }
        let positional = try await server.process.call("listCerts", id: "p", params: [1])
        #expect(positional.errorCode == -32602)
        let listed = try await server.result("listCerts")
        #expect((listed["certs"] as? [[String: Any]])?.map { $0["host"] as? String } == ["192.0.2.1_443"])
        let history = try await server.result("certHistory")
        #expect((history["events"] as? [Any])?.count == 1)
        _ = try await server.stop()
    }

    @Test func includePemAndExpiringWithinDays() async throws {
        let server = try StoreServer(storePath: newStorePath(inSubdirectory: true))
        let soon = try await CertificateFactory.make(days: 10)
        let later = try await CertificateFactory.make(days: 400)
        _ = try await server.result("pinCert", ["host": "soon.example", "pem": soon.pem])
        _ = try await server.result("pinCert", ["host": "later.example", "pem": later.pem])
        let expiring = try await server.result("listCerts", ["expiringWithinDays": 30])
        #expect((expiring["certs"] as? [[String: Any]])?.map { $0["host"] as? String } == ["soon.example_443"])
        #expect((expiring["certs"] as? [[String: Any]])?.first?["pem"] == nil)
        let withPem = try await server.result("listCerts", ["host": "later.example", "includePem": true])
        #expect((withPem["certs"] as? [[String: Any]])?.first?["pem"] as? String == later.pem)
        let none = try await server.result("listCerts", ["host": "absent.example"])
        #expect((none["certs"] as? [Any])?.isEmpty == true)
        _ = try await server.stop()
    }

    @Test func historyLimitKeepsTheMostRecentOldestFirst() async throws {
        let server = try StoreServer(storePath: newStorePath(inSubdirectory: true))
        let certificate = try await CertificateFactory.make()
        for round in 0..<3 {
            _ = try await server.result("pinCert", ["host": "h\(round).example", "pem": certificate.pem])
        }
        let last2 = try await server.result("certHistory", ["limit": 2])
        #expect((last2["events"] as? [[String: Any]])?.map { $0["host"] as? String } == ["h1.example_443", "h2.example_443"])
        _ = try await server.stop()
    }
}
