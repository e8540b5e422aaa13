import Foundation
import TestSupport
import Testing
import TofuCore
import TofuTLS

/// Certificate summaries compared with what the openssl command prints for the same file.
@Suite struct X509CertificateTests {
    static func summary(_ certificate: TestCertificate) throws -> CertificateSummary {
        try X509Certificate.single(fromPEM: certificate.pem).summary()
    }

    @Test(arguments: [
        ("/CN=kong", KeyType.rsa(2048), "RSA 2048"),
        ("/CN=kong", KeyType.ec("P-256"), "EC P-256"),
        ("/CN=kong", KeyType.ec("P-384"), "EC P-384"),
        ("/CN=kong", KeyType.ed25519, "Ed25519"),
        ("/C=US/O=Cisco Systems/CN=dnac", KeyType.ec("P-256"), "EC P-256"),
        ("/C=DE/O=Bücher GmbH/CN=dnäc.example", KeyType.ec("P-256"), "EC P-256"),
        ("/O=Cisco/OU=Ops+CN=kong", KeyType.ec("P-256"), "EC P-256"),
        ("/", KeyType.ec("P-256"), "EC P-256"),
    ])
    func summaryAgreesWithOpenSSL(subject: String, key: KeyType, publicKey: String) async throws {
        let certificate = try await CertificateFactory.make(subject: subject, key: key, subjectAltNames: ["DNS:kong", "IP:127.0.0.1", "IP:::1"])
        let summary = try Self.summary(certificate)
        // PI prints subjects in OpenSSL's one-line form; UTF-8 stays readable (-esc_msb).
        let expectedSubject = try await certificate.openssl(["-subject", "-nameopt", "oneline,-esc_msb"]).replacingOccurrences(of: "subject=", with: "")
        #expect(summary.subject == expectedSubject)
        #expect(summary.issuer == expectedSubject)
        #expect("serial=" + summary.serialNumber == (try await certificate.openssl(["-serial"])))
        #expect(summary.sha256Fingerprint.description == certificate.fingerprint)
        #expect(summary.publicKey == publicKey)
        #expect(summary.subjectAltNames == ["DNS:kong", "IP:127.0.0.1", "IP:::1"])
        let spki = try await runProgram("/bin/sh", ["-c", "openssl x509 -in '\(certificate.certificatePath)' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64"])
        #expect(summary.spkiSha256 == spki.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let dates = try await certificate.openssl(["-dates", "-dateopt", "iso_8601"])
        #expect(dates.contains(summary.notAfter.replacingOccurrences(of: "T", with: " ")))
        #expect(dates.contains(summary.notBefore.replacingOccurrences(of: "T", with: " ")))
        #expect(Timestamp.date(summary.notAfter) != nil)
    }

    @Test func readableUTF8SubjectAndEmptySubject() async throws {
        let utf8 = try Self.summary(try await CertificateFactory.make(subject: "/CN=dnäc ✓"))
        #expect(utf8.subject == "CN = dnäc ✓")
        let empty = try Self.summary(try await CertificateFactory.make(subject: "/"))
        #expect(empty.subject == "")
        let multi = try Self.summary(try await CertificateFactory.make(subject: "/O=Cisco/OU=Ops+CN=kong"))
        #expect(multi.subject == "O = Cisco, OU = Ops + CN = kong")
    }

    @Test func reissueWithTheSameKeyKeepsTheSPKIPin() async throws {
        let directory = temporaryDirectory()
        let first = try await CertificateFactory.make(in: directory)
        let reissued = try await CertificateFactory.make(reusingKey: first.keyPath, in: directory)
        let regenerated = try await CertificateFactory.make(in: directory)
        let (a, b, c) = (try Self.summary(first), try Self.summary(reissued), try Self.summary(regenerated))
        #expect(a.sha256Fingerprint != b.sha256Fingerprint)
        #expect(a.spkiSha256 == b.spkiSha256)
        #expect(a.change(to: b) == .reissuedSameKey)
        #expect(a.change(to: c) == .newKey)
        #expect(a.change(to: a) == nil)
    }

    @Test func derRoundTripAndPEMOutput() async throws {
        let certificate = try await CertificateFactory.make()
        let parsed = try X509Certificate.single(fromPEM: certificate.pem)
        let der = parsed.der
        #expect(try X509Certificate(der: der).summary() == parsed.summary())
        #expect(X509Certificate.pem(der: der) == certificate.pem)
        #expect(throws: CertificateParseError.self) { try X509Certificate(der: der + [0]) }
        #expect(throws: CertificateParseError.self) { try X509Certificate(der: Array(der.dropLast())) }
        #expect(throws: CertificateParseError.self) { try X509Certificate(der: []) }
    }

    @Test func pemThatIsNotOneCertificateIsRefusedWithAReason() async throws {
        let certificate = try await CertificateFactory.make()
        let key = try String(contentsOfFile: certificate.keyPath, encoding: .utf8)
        let cases: [(String, String)] = [
            ("", "no PEM block"),
            ("hello", "no PEM block"),
            (certificate.pem + certificate.pem, "2 certificates where one is expected"),
            (key, "is not a certificate"),
            (certificate.pem + key, "is not a certificate"),
            (certificate.pem.replacingOccurrences(of: "M", with: "*"), "damaged"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "damaged"),
        ]
        for (text, reason) in cases {
            do {
                _ = try X509Certificate.single(fromPEM: text)
                Issue.record("accepted: \(text.prefix(40))")
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason)")
            }
        }
    }
}
