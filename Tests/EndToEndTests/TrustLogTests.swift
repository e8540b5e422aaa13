import Foundation
import TestSupport
import Testing

/// tofu-rpc logs every trust decision at notice on stderr (what journald or syslog keeps), with
/// its host and fingerprints and never a password; the CLI's own tofu-rpc stays quiet.
@Suite struct TrustLogTests {
    /// The lines of `stderr` at notice that mention `words`.
    static func notices(_ stderr: String, _ words: String...) -> [Substring] {
        stderr.split(separator: "\n").filter { line in line.contains(" notice ") && words.allSatisfy { line.contains($0) } }
    }

    @Test func everyTrustDecisionIsLoggedAtNoticeWithHostAndFingerprints() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await DnacTests.controller(peers, old)
        let server = try StoreServer(storePath: newStorePath("tofu-trust-log"), environment: ["TOFU_LOG_LEVEL": "notice"])
        let key = dnac.key

        _ = try await server.result("addDnacServer", DnacTests.add(dnac))
        let wrong = "Wr0ng-" + UUID().uuidString
        let refused = try await server.call("addDnacServer", DnacTests.add(dnac, password: wrong))
        #expect(refused.errorCode == -32004, "\(refused)")
        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)
        let mismatch = try await server.result("verifyCert", ["host": key, "timeoutMs": 3000])
        #expect(mismatch["status"] as? String == "mismatch")
        _ = try await server.result("verifyCert", ["host": key, "timeoutMs": 3000])
        _ = try await server.result("addDnacServer", DnacTests.add(dnac, extra: ["acceptFingerprint": new.fingerprint]))
        _ = try await server.result("removeDnacServer", ["server": key])
        _ = try await server.result("deleteCert", ["host": key, "expectedFingerprint": new.fingerprint])
        let pruned = try await server.result("pruneHistory", ["before": "2000-01-01"])
        #expect(pruned["pruned"] as? Int == 0)
        #expect(try await server.stop() == 0)
        let log = server.process.stderr

        #expect(Self.notices(log, "tofu-rpc", "pinned \(key)", "sha256: \(old.fingerprint)", "subject: CN = kong").count == 1, "\(log)")
        #expect(Self.notices(log, "serverAdded \(key)", "username: admin").count == 2, "\(log)")
        #expect(Self.notices(log, "credentialsRefused \(key)", "sha256: \(old.fingerprint)", "HTTP 401").count == 1, "\(log)")
        // The mismatch, with both certificates, once: the second look at it is no news.
        #expect(Self.notices(log, "mismatch \(key)", "sha256: \(new.fingerprint)", "pinned: \(old.fingerprint)").count == 1, "\(log)")
        #expect(Self.notices(log, "replaced \(key)", "sha256: \(new.fingerprint)", "replaced: \(old.fingerprint)").count == 1, "\(log)")
        #expect(Self.notices(log, "serverRemoved \(key)").count == 1, "\(log)")
        #expect(Self.notices(log, "deleted \(key)", "sha256: \(new.fingerprint)").count == 1, "\(log)")
        #expect(Self.notices(log, "pruned 0 history events before 2000-01-01T00:00:00Z").count == 1, "\(log)")
        // Never a secret: neither password, nor the Basic credentials made of them.
        for secret in [DnacTests.password, wrong] {
            #expect(!log.contains(secret), "a password is in the log")
            #expect(!log.contains(Data("admin:\(secret)".utf8).base64EncodedString()), "Basic credentials are in the log")
        }
        peers.stop()
    }

    /// History brought by importPins is logged as imported, with its own time: an imported
    /// `pinned` or `mismatch` is someone else's decision, and a log line that read as one made
    /// here, now, would mislead whoever reads the log in an incident.
    @Test func importedEventsAreLoggedAsImportedWithTheirTime() async throws {
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath("tofu-trust-log-import"), environment: ["TOFU_LOG_LEVEL": "notice"])
        let key = "kong.example_443"
        let records: [[String: Any]] = [
            ["type": "header", "format": "tofu-export", "version": 1],
            ["type": "event", "host": key, "at": "2001-02-03T04:05:06Z", "event": "mismatch", "sha256Fingerprint": certificate.fingerprint, "detail": "elsewhere"],
            ["type": "end"],
        ]
        let imported = try await server.result("importPins", ["records": records])
        #expect((imported["hosts"] as? [[String: Any]])?.first?["eventsAdded"] as? Int == 1, "\(imported)")
        #expect(try await server.stop() == 0)
        let log = server.process.stderr
        #expect(Self.notices(log, "imported mismatch \(key)", "sha256: \(certificate.fingerprint)", "at: 2001-02-03T04:05:06Z").count == 1, "\(log)")
        #expect(Self.notices(log, "mismatch \(key)").allSatisfy { $0.contains("imported mismatch") }, "\(log)")
    }

    /// Text that spells an escape never reads as the character it names: a user name typed
    /// with `\u{202E}` in it, a subject holding `\u{200B}` (which OpenSSL writes `\\u{200B}`), an
    /// imported event's detail. The log writes their backslashes `\\`; the real characters
    /// are escaped as ever, so the two never share a line.
    @Test func textThatSpellsAnEscapeIsNotLoggedAsOne() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make(subject: #"/CN=spelled \\u{200B} real "# + "\u{200B}" + "!")
        let user = #"spelled \u{202E} real "# + "\u{202E}"
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": user, "password": DnacTests.password])
        let server = try StoreServer(storePath: newStorePath("tofu-trust-log-spelled"), environment: ["TOFU_LOG_LEVEL": "notice"])
        _ = try await server.result("addDnacServer", DnacTests.add(dnac, extra: ["username": user]))
        let elsewhere = "kong.example_443"
        func event(_ at: String, _ detail: String) -> [String: Any] {
            ["type": "event", "host": elsewhere, "at": at, "event": "mismatch", "sha256Fingerprint": certificate.fingerprint, "detail": detail]
        }
        let records: [[String: Any]] = [
            ["type": "header", "format": "tofu-export", "version": 1],
            event("2001-02-03T04:05:06Z", #"presented subject: CN = spelled \u{200B}"#),
            event("2002-02-03T04:05:06Z", "presented subject: CN = real \u{200B}"),
            ["type": "end"],
        ]
        _ = try await server.result("importPins", ["records": records])
        #expect(try await server.stop() == 0)
        let log = server.process.stderr
        let key = dnac.key

        let subject = try await certificate.openssl(["-subject", "-nameopt", "oneline,-esc_msb"]).replacingOccurrences(of: "subject=", with: "")
        #expect(subject == #"CN = spelled \\u{200B} real "# + "\u{200B}!", "OpenSSL's one-line form doubles the backslash")
        #expect(Self.notices(log, "pinned \(key)", #"| subject: CN = spelled \\\\u{200B} real \u{200B}! |"#).count == 1, "\(log)")
        #expect(Self.notices(log, "serverAdded \(key)", #"| username: spelled \\u{202E} real \u{202E} |"#).count == 1, "\(log)")
        #expect(Self.notices(log, "imported mismatch \(elsewhere)").map { $0.components(separatedBy: " | ").last } == [
            #"presented subject: CN = spelled \\u{200B}"#, #"presented subject: CN = real \u{200B}"#,
        ], "\(log)")
        peers.stop()
    }

    /// The CLI reports its own result: the tofu-rpc it starts logs only what goes wrong, unless
    /// TOFU_LOG_LEVEL asks for more.
    @Test func theCLIsServerIsQuietUnlessAsked() async throws {
        let certificate = try await CertificateFactory.make()
        for client in CLITests.Client.allCases {
            let store = newStorePath("tofu-trust-log-cli")
            let quiet = try await CLITests.run(client, ["pin-cert", "192.0.2.7", "--pem", certificate.certificatePath], store: store)
            #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(client): \(quiet.stderr)")
            let (executable, prefix) = client.command
            var environment = CLITests.environment
            environment["TOFU_LOG_LEVEL"] = "notice"
            let told = try await runProgram(
                executable, prefix + ["deletecert", "host", "192.0.2.7_443", "--store", store], environment: environment)
            #expect(told.status == 0)
            #expect(Self.notices(told.stderr, "deleted 192.0.2.7_443", "sha256: \(certificate.fingerprint)").count == 1, "\(client): \(told.stderr)")
        }
    }
}
