import Foundation
import TestSupport
import Testing

/// A certificate's subject and SANs are chosen by whoever made it. Both clients print them,
/// and any other text from tofu-rpc, with every control character (C0, DEL, C1 such as CSI
/// U+009B), bidirectional formatting character (U+202E…) and line separator escaped as
/// `\xNN` or `\uNNNN`, and a backslash as `\\`, the same in both; `--json` carries the same
/// value with those code points as JSON escapes. SAN bytes that are not ASCII are shown as `\xNN`.
@Suite struct CertificateTextEscapingTests {
    /// What a terminal must never be sent: the code points the clients escape (newline, which
    /// ends each line, aside).
    static func unsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F,
            0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFF8:
            true
        default: false
        }
    }

    static func expectSafe(_ results: [CLITests.Client: CommandResult], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (client, result) in results {
            for (stream, text) in [("stdout", result.stdout), ("stderr", result.stderr)] {
                let raw = text.unicodeScalars.filter(unsafe).map { String($0.value, radix: 16) }
                #expect(raw.isEmpty, "\(client) \(what): raw U+\(raw) on \(stream): \(text)", sourceLocation: sourceLocation)
            }
        }
    }

    static let subject = "/O=Kong\u{9B}2J/OU=\u{2066}ops\u{2069}\u{200F}/OU=\u{80}\u{85}\u{9F}\u{A0}\u{61C}\u{200D}\u{200E}\u{2029}"
        + "\u{202A}\u{202B}\u{202C}\u{202D}\u{202F}\u{2065}\u{2067}\u{2068}\u{206A}\u{200A}\u{200B}\u{FEFF}\u{2070}\u{AD}\u{AE}"
        + "/CN=evil\u{202E}txt.exe\u{1B}[2J\u{2028}x"
    /// The subject as printed: OpenSSL's one-line form (which writes ESC as \1B), then escaped
    /// (that backslash too); the neighbours of escaped ranges (U+00A0, U+00AE, U+200A, U+202F,
    /// U+2070) as they are.
    static let printedSubject = #"O = Kong\x9B2J, OU = \u2066ops\u2069\u200F, OU = \x80\x85\x9F"# + "\u{A0}" + #"\u061C\u200D"#
        + #"\u200E\u2029\u202A\u202B\u202C\u202D"# + "\u{202F}" + #"\u2065\u2067\u2068\u206A"# + "\u{200A}" + #"\u200B\uFEFF"#
        + "\u{2070}" + #"\xAD"# + "\u{AE}" + #", CN = evil\u202Etxt.exe\\1B[2J\u2028x"#

    static func certificate() async throws -> TestCertificate {
        let names = CertificateFactory.rawSubjectAltNames([
            (2, Array("kong".utf8)), (2, Array("caf".utf8) + [0xC3, 0xA9]), (2, [0x9B, 0x32, 0x4A, 0x1B]),
        ])
        return try await CertificateFactory.make(subject: subject, subjectAltNames: [names])
    }

    /// Checks a `--json` listing: the subject's real characters come through as the value
    /// (escaped only in the JSON text), the SANs as \xNN.
    static func expectJSONListing(_ results: [CLITests.Client: CommandResult], certificate: TestCertificate, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let realSubject = try await certificate.openssl(["-subject", "-nameopt", "oneline,-esc_msb"]).replacingOccurrences(of: "subject=", with: "")
        for (client, result) in results {
            #expect(result.stdout.contains(#"evil\u202etxt.exe"#) && result.stdout.contains(#"Kong\u009b2J"#), "\(client): \(result.stdout)", sourceLocation: sourceLocation)
            let page = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let pin = try #require((page?["certs"] as? [[String: Any]])?.first, sourceLocation: sourceLocation)
            #expect(pin["subject"] as? String == realSubject, "\(client)", sourceLocation: sourceLocation)
            #expect(pin["subjectAltNames"] as? [String] == ["DNS:kong", #"DNS:caf\xC3\xA9"#, #"DNS:\x9B2J\x1B"#], "\(client)", sourceLocation: sourceLocation)
        }
    }

    @Test func hostileCertificateTextIsEscapedByBothClients() async throws {
        let peers = try TLSPeers()
        let certificate = try await Self.certificate()
        // The user name comes back in list-dnac-servers: text from tofu-rpc like any other
        // (tofu-rpc refuses C0 and DEL in it, not C1 or bidirectional formatting).
        let user = "u\u{9B}31m\u{202E}"
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": user, "password": "pw"])
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-escape") + "/store.sqlite") })
        let key = dnac.key

        // Pinned from a live TLS peer.
        var results = try await CLITests.both(
            ["add-dnac-server", "--server", dnac.address, "--username", user, "--password-stdin"], stores: stores, status: 0, stdin: "pw\n")
        Self.expectSafe(results, "add-dnac-server")
        #expect(results[.swift]?.stdout == "pinned host=\(key);  subject=\(Self.printedSubject);  sha256=\(certificate.fingerprint);  authenticated=true\n")

        results = try await CLITests.both(["listcerts"], stores: stores, status: 0)
        Self.expectSafe(results, "listcerts")
        #expect(results[.swift]?.stdout == "host=\(key);  subject=\(Self.printedSubject)\n")
        results = try await CLITests.both(["listcerts", "-v"], stores: stores, status: 0)
        Self.expectSafe(results, "listcerts -v")
        results = try await CLITests.both(["listcerts", "--json"], stores: stores, status: 0)
        Self.expectSafe(results, "listcerts --json")
        try await Self.expectJSONListing(results, certificate: certificate)
        results = try await CLITests.both(["history"], stores: stores, status: 0)
        Self.expectSafe(results, "history")
        results = try await CLITests.both(["list-dnac-servers"], stores: stores, status: 0)
        Self.expectSafe(results, "list-dnac-servers")
        #expect(results[.swift]?.stdout.hasPrefix(#"server=\#(key);  username=u\x9B31m\u202E;  "#) == true, "\(results)")
        results = try await CLITests.both(["list-dnac-servers", "--json"], stores: stores, status: 0)
        Self.expectSafe(results, "list-dnac-servers --json")
        #expect(results[.swift]?.stdout.contains(#""username":"u\u009b31m\u202e""#) == true, "\(results)")
        results = try await CLITests.both(["deletecert", "host", key], stores: stores, status: 0)
        Self.expectSafe(results, "deletecert")
        #expect(results[.swift]?.stdout == "deleted host=\(key);  subject=\(Self.printedSubject);  sha256=\(certificate.fingerprint)\n")
        peers.stop()
    }

    /// Text that spells an escape never reads as the character it names: a backslash is printed
    /// `\\`, so every backslash printed begins an escape. A user name typed with `\u202E` in it
    /// and one with a real U+202E, a subject holding `\u200B` (OpenSSL's one-line form doubles
    /// its backslash, and the clients double both) and a real U+200B, all read differently, the
    /// same in both clients; `--json` carries the values exactly (JSON writes a backslash `\\`).
    @Test func textThatSpellsAnEscapeIsNotPrintedAsOne() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make(subject: #"/CN=spelled \\u200B real "# + "\u{200B}" + #"/O=C:\\tofu"#)
        let user = #"CORP\spelled \u202E real "# + "\u{202E}"
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": user, "password": "pw"])
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-escape") + "/store.sqlite") })
        let key = dnac.key
        let realSubject = try await certificate.openssl(["-subject", "-nameopt", "oneline,-esc_msb"]).replacingOccurrences(of: "subject=", with: "")
        #expect(realSubject == #"CN = spelled \\u200B real "# + "\u{200B}" + #", O = C:\\tofu"#)
        let subject = #"CN = spelled \\\\u200B real \u200B, O = C:\\\\tofu"#
        let username = #"CORP\\spelled \\u202E real \u202E"#

        var results = try await CLITests.both(
            ["add-dnac-server", "--server", dnac.address, "--username", user, "--password-stdin"], stores: stores, status: 0, stdin: "pw\n")
        for (client, result) in results {
            #expect(result.stdout == "pinned host=\(key);  subject=\(subject);  sha256=\(certificate.fingerprint);  authenticated=true\n", "\(client)")
        }
        results = try await CLITests.both(["listcerts"], stores: stores, status: 0)
        for (client, result) in results { #expect(result.stdout == "host=\(key);  subject=\(subject)\n", "\(client)") }
        results = try await CLITests.both(["list-dnac-servers"], stores: stores, status: 0)
        for (client, result) in results { #expect(result.stdout.hasPrefix("server=\(key);  username=\(username);  "), "\(client): \(result.stdout)") }
        results = try await CLITests.both(["history"], stores: stores, status: 0)
        for (client, result) in results {
            #expect(result.stdout.contains("detail=subject: \(subject) | "), "\(client): \(result.stdout)")
            #expect(result.stdout.contains("detail=username: \(username) | "), "\(client): \(result.stdout)")
        }
        Self.expectSafe(results, "history")

        results = try await CLITests.both(["listcerts", "--json"], stores: stores, status: 0)
        for (client, result) in results {
            let page = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect((page?["certs"] as? [[String: Any]])?.first?["subject"] as? String == realSubject, "\(client): \(result.stdout)")
            #expect(result.stdout.contains(#""subject":"CN = spelled \\\\u200B real \u200b, O = C:\\\\tofu""#), "\(client): \(result.stdout)")
        }
        results = try await CLITests.both(["list-dnac-servers", "--json"], stores: stores, status: 0)
        for (client, result) in results {
            let page = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect((page?["servers"] as? [[String: Any]])?.first?["username"] as? String == user, "\(client): \(result.stdout)")
            #expect(result.stdout.contains(#""username":"CORP\\spelled \\u202E real \u202e""#), "\(client): \(result.stdout)")
        }
        peers.stop()
    }

    /// pin-cert, on stores that only ever list: the documentation address is never dialled.
    @Test func pinnedOutOfBandTheSame() async throws {
        let certificate = try await Self.certificate()
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-escape") + "/store.sqlite") })
        var results = try await CLITests.both(["pin-cert", "192.0.2.7", "--pem", certificate.certificatePath], stores: stores, status: 0)
        Self.expectSafe(results, "pin-cert")
        #expect(results[.swift]?.stdout == "pinned host=192.0.2.7_443;  subject=\(Self.printedSubject);  sha256=\(certificate.fingerprint)\n")
        results = try await CLITests.both(["listcerts", "--json"], stores: stores, status: 0)
        Self.expectSafe(results, "listcerts --json")
        try await Self.expectJSONListing(results, certificate: certificate)
        results = try await CLITests.both(["pin-cert", "192.0.2.7", "--pem", certificate.certificatePath, "--json"], stores: stores, status: 0)
        Self.expectSafe(results, "pin-cert --json")
    }

    /// Error messages quote what they refuse: escaped too.
    @Test func errorMessagesAreEscaped() async throws {
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-escape") + "/store.sqlite") })
        let results = try await CLITests.both(["listcerts", "--host", "kong\u{1B}[2J\u{9B}31m\u{202E}.example"], stores: stores, status: 2)
        Self.expectSafe(results, "listcerts --host")
        for (client, result) in results {
            #expect(result.stderr.contains(#"kong\x1B[2J\x9B31m\u202E.example"#), "\(client): \(result.stderr)")
        }
        #expect(results[.swift]?.stderr == results[.shell]?.stderr)
        // The same words typed as text: the backslash printed \\, never a U+202E.
        let spelled = try await CLITests.both(["listcerts", "--host", #"kong\x1B[2J\u202E.example"#], stores: stores, status: 2)
        for (client, result) in spelled {
            #expect(result.stderr.contains(#"kong\\x1B[2J\\u202E.example"#), "\(client): \(result.stderr)")
        }
        #expect(spelled[.swift]?.stderr == spelled[.shell]?.stderr)
    }
}
