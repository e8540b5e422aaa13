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

/// Certificate text as it is, never guessed: SANs are IA5String (ASCII), so any other byte is
/// shown as \xNN rather than decoded as Latin-1; IP SANs in canonical form; a subject keeps its
/// real characters (U+202E, U+009B) for the JSON, and escaping them is the clients' job.
@Suite struct CertificateTextTests {
    @Test func subjectAltNamesShowTheirBytesNotAGuessedEncoding() async throws {
        let ipv6 = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]
        let documentation: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let raw = CertificateFactory.rawSubjectAltNames([
            (2, Array("caf".utf8) + [0xC3, 0xA9] + Array(".example".utf8)),  // UTF-8 é in a dNSName
            (2, [0xE9] + Array("t".utf8) + [0xE9]),  // Latin-1 é, once read as "été"
            (2, [0x9B, 0x32, 0x4A, 0x1B, 0x5B, 0x41, 0x00, 0x7F, 0x5C]),  // CSI, ESC, NUL, DEL, backslash
            (2, Array("xn--caf-dma.example".utf8)),  // an IDN as its A-label
            (1, Array("ops@xn--caf-dma.example".utf8)),
            (6, Array("https://kong.example/\u{202E}".utf8)),
            (7, [127, 0, 0, 1]), (7, ipv6), (7, documentation),
        ])
        let certificate = try await CertificateFactory.make(subjectAltNames: [raw])
        let names = try X509Certificate.single(fromPEM: certificate.pem).summary().subjectAltNames
        #expect(names == [
            #"DNS:caf\xC3\xA9.example"#, #"DNS:\xE9t\xE9"#, #"DNS:\x9B2J\x1B[A\x00\x7F\x5C"#, "DNS:xn--caf-dma.example",
            "email:ops@xn--caf-dma.example", #"URI:https://kong.example/\xE2\x80\xAE"#,
            "IP:127.0.0.1", "IP:::ffff:127.0.0.1", "IP:2001:db8::1",
        ])
        for name in names {
            #expect(name.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }, "not printable ASCII: \(name)")
        }
    }

    @Test func aSubjectKeepsItsRealCharactersInOpenSSLsOneLineForm() async throws {
        let certificate = try await CertificateFactory.make(subject: "/O=Kong\u{9B}2J/CN=evil\u{202E}txt.exe\u{1B}[2J")
        let subject = try X509Certificate.single(fromPEM: certificate.pem).summary().subject
        #expect(subject == "O = Kong\u{9B}2J, CN = evil\u{202E}txt.exe\\1B[2J")
        let openssl = try await certificate.openssl(["-subject", "-nameopt", "oneline,-esc_msb"])
        #expect("subject=" + subject == openssl)
    }
}
