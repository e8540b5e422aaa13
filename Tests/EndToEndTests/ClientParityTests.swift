import Foundation
import TestSupport
import Testing

extension CLITests.Client {
    /// The name each client gives itself in the commands it suggests.
    var name: String { self == .swift ? "tofu" : "tofu.sh" }
}

/// "tofu.sh behaves exactly like tofu": one table of command lines, run by both clients on
/// stores made alike; each gives the same exit status, the same stdout, and the same stderr
/// word for word (each naming itself in the commands it suggests), and no bash diagnostic.
/// Usage mistakes, errors answered by tofu-rpc and their next commands, --json on failure.
@Suite struct ClientParityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let status: Int32
        /// Text the (normalised) stderr must hold, besides being the same in both.
        let says: String?
        /// With --json: whether stdout is the error object `{"error": {code, message, data}}`.
        let jsonError: Bool

        init(_ arguments: [String], _ status: Int32, says: String? = nil, jsonError: Bool = false) {
            self.arguments = arguments
            self.status = status
            self.says = says
            self.jsonError = jsonError
        }

        var testDescription: String { arguments.joined(separator: " ") }
    }

    /// Files the cases name: placeholders in the table, made once per run.
    struct Files {
        let directory = temporaryDirectory("tofu-parity")
        var pinned: TestCertificate
        var other: TestCertificate

        func substituted(_ word: String) -> String {
            switch word {
            case "PINNED.pem": pinned.certificatePath
            case "OTHER.pem": other.certificatePath
            case "PINNED-FP": pinned.fingerprint
            case "OTHER-FP": other.fingerprint
            case "BIG": directory + "/big.log"
            case "BINARY": directory + "/binary.dat"
            case "DIR": directory
            case "NOTES": directory + "/notes.txt"
            case "CLOSED": "127.0.0.1:\(closedPort)"
            default: word
            }
        }

        let closedPort = TLSPeers.closedPort()

        /// `text` with every placeholder replaced.
        func expanded(_ text: String) -> String {
            ["PINNED.pem", "OTHER.pem", "PINNED-FP", "OTHER-FP", "NOTES"].reduce(text) { $0.replacingOccurrences(of: $1, with: substituted($1)) }
        }
    }

    static let cases: [Case] = [
        // The command line's own mistakes: a sentence and the help to read.
        Case(["listcerts", "--host"], 2, says: "tofu: --host needs a value. See 'tofu listcerts --help'."),
        Case(["listcerts", "--bogus"], 2, says: "There is no option --bogus."),
        Case(["listcerts", "a.example", "b.example"], 2, says: "'b.example' is not expected here."),
        Case(["listcerts", "kong.example", "--host", "kong.example"], 2, says: "Give the host key once."),
        Case(["listcerts", "--expiring-within", "soon"], 2, says: "--expiring-within takes a number, not 'soon'."),
        Case(["listcerts", "--expiring-within=soon"], 2),
        Case(["listcerts", "--expiring-within", "-1"], 2, says: "--expiring-within takes a number of days, 0 or more (0: only certificates already expired), got -1."),
        Case(["listcerts", "--json=1"], 2, says: "--json takes no value."),
        Case(["listcerts", "--store"], 2, says: "--store needs a value."),
        Case(["deletecert"], 2, says: "The host key is missing"),
        Case(["deletecert", "host"], 2, says: "The host key is missing after 'host'"),
        Case(["deletecert", "hots", "kong.example"], 2, says: "Expected the word 'host' before the key"),
        Case(["deletecert", "host", "a.example", "b.example"], 2),
        Case(["deletecert", "host", "kong.example", "--expected-fingerprint"], 2, says: "--expected-fingerprint needs a value."),
        Case(["verifycert"], 2, says: "Give one host key, or --all."),
        Case(["verifycert", "a.example", "b.example"], 2),
        Case(["verifycert", "--all", "kong.example"], 2, says: "Give one host key, or --all."),
        Case(["verifycert", "kong.example", "--concurrency", "3"], 2, says: "--concurrency goes with --all."),
        Case(["verifycert", "--all", "--timeout-ms", "99999999999999999999"], 2, says: "--timeout-ms takes a number"),
        Case(["history", "--limit"], 2),
        Case(["history", "--limit", "many"], 2),
        Case(["history", "-x"], 2, says: "There is no option -x."),
        Case(["history", "a.example", "b.example"], 2),
        Case(["add-dnac-server"], 2, says: "--server is required."),
        Case(["add-dnac-server", "--server", "CLOSED"], 2, says: "--username is required."),
        Case(["add-dnac-server", "--server", "CLOSED", "--username", "admin", "--port", "https"], 2, says: "--port takes a number, not 'https'."),
        Case(["add-dnac-server", "--server", "CLOSED", "--username", "admin", "--password", "hunter2"], 2, says: "The password is never an argument"),
        Case(["add-dnac-server", "--server", "CLOSED", "--username", "admin", "--password"], 2, says: "--password needs a value."),
        Case(["add-dnac-server", "--server", "CLOSED", "--username", "admin", "--policy", "any"], 2, says: "--policy is certificate or public-key, not 'any'."),
        // No terminal to ask on (the test runs each client in a session of its own).
        Case(["add-dnac-server", "--server", "CLOSED", "--username", "admin"], 2, says: "There is no terminal to ask the password on"),
        Case(["pin-cert"], 2, says: "The host key is missing."),
        Case(["pin-cert", "kong.example"], 2, says: "--pem is required."),
        Case(["pin-cert", "kong.example", "--pem", "/nonexistent/cert.pem"], 2, says: "Cannot read /nonexistent/cert.pem: it does not exist."),
        Case(["pin-cert", "kong.example", "--pem", "DIR"], 2, says: "it is a directory."),
        Case(["pin-cert", "kong.example", "--pem", "BIG"], 2, says: "is 1 MiB or more"),
        Case(["pin-cert", "kong.example", "--pem", "/dev/zero"], 2, says: "is 1 MiB or more"),
        Case(["pin-cert", "kong.example", "--pem", "BINARY"], 2, says: "is not text (UTF-8)"),
        Case(["pin-cert", "kong.example", "--pem", "OTHER.pem", "--next", "--policy", "public-key"], 2, says: "--policy does not go with --next"),
        Case(["set-policy"], 2, says: "The host key is missing."),
        Case(["set-policy", "kong.example"], 2, says: "The policy (certificate or public-key) is missing."),
        Case(["set-policy", "kong.example", "any"], 2, says: "The policy is certificate or public-key, not 'any'."),
        Case(["set-policy", "a.example", "certificate", "c"], 2),
        Case(["list-dnac-servers", "extra"], 2),
        Case(["remove-dnac-server"], 2, says: "The host key is missing."),
        Case(["remove-dnac-server", "a.example", "b.example"], 2),
        Case(["no-such-command"], 2, says: "tofu: 'no-such-command' is not a tofu command. See 'tofu --help'."),
        Case(["--bogus"], 2),
        Case(["certvalidation", "nope"], 2, says: "is not a tofu certvalidation command"),
        Case(["certvalidation", "tofu-certs", "nope"], 2),
        Case(["certvalidation", "tofu-certs", "listcerts", "--bogus"], 2, says: "See 'tofu certvalidation tofu-certs listcerts --help'."),
        // Refused by tofu-rpc, in the CLI's words.
        Case(["listcerts", "a b"], 2, says: "tofu: 'a b' is not a host key: "),
        Case(["history", "--limit", "0"], 2, says: "tofu: --limit must be from 1 to 100000, got 0."),
        Case(["deletecert", "host", "kong.example", "--expected-fingerprint", "00"], 2, says: "tofu: --expected-fingerprint must be a SHA-256 fingerprint"),
        Case(["pin-cert", "kong.example", "--pem", "NOTES"], 2, says: "tofu: --pem is not one PEM certificate: "),
        // Not found: deletecert, listcerts KEY and the others alike, host given one way. (Store
        // calls only: a documentation address is named here, never pinned or dialled; every
        // add-dnac-server above gets a loopback port where nothing listens.)
        Case(["listcerts", "192.0.2.77"], 4, says: "No certificate is pinned for 192.0.2.77.\nTo see the pins:\n  tofu listcerts\n"),
        Case(["listcerts", "192.0.2.77", "--json"], 4),
        Case(["deletecert", "192.0.2.77_443"], 4, says: "No certificate is pinned for 192.0.2.77_443; nothing was changed.\nTo see the pins:\n  tofu listcerts\n"),
        Case(["deletecert", "host", "192.0.2.77", "--json"], 4, jsonError: true),
        Case(["deletecert", "host", "kong.example", "--next"], 4, says: "tofu pin-cert kong.example_443 --pem FILE --next"),
        Case(["remove-dnac-server", "192.0.2.77_443"], 4, says: "To see the recorded servers:\n  tofu list-dnac-servers\n"),
        Case(["history", "192.0.2.77"], 0),
        Case(["verifycert", "CLOSED"], 5, says: "then verify it again:\n  tofu verifycert 127.0.0.1_"),
        // Mismatches, with both certificates' serial numbers and the next commands.
        Case(["deletecert", "host", "kong.example", "--expected-fingerprint", "OTHER-FP"], 3,
             says: "Look at the pin again, and delete it with the fingerprint you see:\n  tofu listcerts kong.example_443 -v\n  tofu deletecert host kong.example_443 --expected-fingerprint PINNED-FP\n"),
        Case(["pin-cert", "kong.example", "--pem", "OTHER.pem"], 3, says: "  tofu pin-cert kong.example_443 --pem OTHER.pem --next\n"),
        Case(["pin-cert", "kong.example", "--pem", "OTHER.pem", "--json"], 3, jsonError: true),
        Case(["history", "--limit", "0", "--json"], 2, jsonError: true),
        // What works, works alike.
        Case(["listcerts", "kong.example", "-v"], 0),
        Case(["certvalidation", "tofu-certs", "listcerts"], 0),
        Case(["--version"], 0),
        Case(["deletecert", "kong.example", "--expected-fingerprint", "PINNED-FP"], 0),
        Case(["listcerts", "kong.example"], 4),
    ]

    @Test func bothClientsAnswerEveryCaseAlike() async throws {
        let files = Files(pinned: try await CertificateFactory.make(), other: try await CertificateFactory.make())
        try Data(String(repeating: "a log line, not a certificate\n", count: 40_000).utf8).write(to: URL(fileURLWithPath: files.directory + "/big.log"))
        try Data("notes, not a certificate\n".utf8).write(to: URL(fileURLWithPath: files.directory + "/notes.txt"))
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919 | 0x80) }).write(to: URL(fileURLWithPath: files.directory + "/binary.dat"))
        var stores: [CLITests.Client: String] = [:]
        for client in CLITests.Client.allCases {
            let store = newStorePath("tofu-parity")
            let pinned = try await CLITests.run(client, ["pin-cert", "kong.example", "--pem", files.pinned.certificatePath], store: store)
            #expect(pinned.status == 0, "\(pinned)")
            stores[client] = store
        }
        for testCase in Self.cases {
            let arguments = testCase.arguments.map(files.substituted)
            var results: [CLITests.Client: CommandResult] = [:]
            for client in CLITests.Client.allCases {
                let (executable, prefix) = client.command
                // A session of its own: no terminal to ask a password on, whatever runs the tests.
                results[client] = try await runProgram(
                    "/usr/bin/setsid", ["-w", executable] + prefix + arguments,
                    environment: CLITests.environment.merging(["TOFU_STORE": stores[client] ?? ""]) { $1 })
            }
            let swift = try #require(results[.swift])
            let shell = try #require(results[.shell])
            let shellErrors = shell.stderr.replacingOccurrences(of: "tofu.sh", with: "tofu")
            let label = "\(arguments)\n--- tofu [\(swift.status)]:\n\(swift.stdout)\(swift.stderr)--- tofu.sh [\(shell.status)]:\n\(shell.stdout)\(shell.stderr)"
            #expect(swift.status == testCase.status && shell.status == testCase.status, "\(label)")
            #expect(swift.stderr == shellErrors, "\(label)")
            #expect(CLITests.normalised(swift.stdout) == CLITests.normalised(shell.stdout), "\(label)")
            if testCase.status != 0 {
                #expect(swift.stderr.hasPrefix("tofu: "), "\(label)")
            }
            if let says = testCase.says.map(files.expanded) {
                #expect(swift.stderr.contains(says), "tofu does not say '\(says)': \(label)")
            }
            Self.expectSentences(swift.stderr, label)
            // Nothing from bash itself: no "line 124:", no /dev/tty complaint, no unbound variable.
            for diagnostic in ["tofu.sh: line", ": line ", "No such device or address", "unbound variable", "command not found", "syntax error"] {
                #expect(!shell.stderr.contains(diagnostic), "bash's own diagnostic: \(label)")
            }
            // --json on failure: the error object on stdout, the same exit status.
            if testCase.jsonError {
                let object = try JSONSerialization.jsonObject(with: Data(swift.stdout.utf8)) as? [String: Any]
                let error = try #require(object?["error"] as? [String: Any], "\(label)")
                #expect(error["code"] is Int && error["message"] is String && error["data"] is [String: Any], "\(label)")
            }
        }
    }

    /// Every line of a message is a sentence (a capital or a quoted or option word first; a
    /// full stop, or a colon before the commands it introduces, last), or one of those
    /// commands, indented: no "…while the TLS handshake with", no "?.".
    static func expectSentences(_ stderr: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for line in stderr.split(separator: "\n").map(String.init) {
            if line.hasPrefix("  ") {
                #expect(line.hasPrefix("  tofu ") || line.hasPrefix("  sqlite3 "), "not a command: '\(line)' in \(label)", sourceLocation: sourceLocation)
                continue
            }
            let text = line.hasPrefix("tofu: ") ? String(line.dropFirst(6)) : line
            let first = text.first ?? " "
            // A host key or name may start one too (kong.example_443 is pinned …).
            let name = text.prefix { $0 != " " }.contains { $0 == "." || $0 == "_" }
            #expect(first.isUppercase || first.isNumber || "'-".contains(first) || text.hasPrefix("tofu-rpc") || name, "does not start a sentence: '\(line)' in \(label)", sourceLocation: sourceLocation)
            #expect(text.hasSuffix(".") || text.hasSuffix(":"), "does not end a sentence: '\(line)' in \(label)", sourceLocation: sourceLocation)
            for garble in ["?.", "..", " .", ",.", "while the ", ";."] {
                #expect(!text.contains(garble), "'\(garble)' in '\(line)' in \(label)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The serial numbers named in `text` ("(serial 4417A5…)"), without leading zeros.
    static func serials(in text: String) -> Set<String> {
        Set(text.matches(of: /\(serial ([0-9A-F]+)\)/).map { String($0.output.1.drop { $0 == "0" }) })
    }

    /// A certificate's serial number as openssl prints it, without leading zeros.
    static func serial(of certificate: TestCertificate) async throws -> String {
        let printed = try await runProgram("/usr/bin/openssl", ["x509", "-noout", "-serial", "-in", certificate.certificatePath])
        return String(printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").drop { $0 == "0" })
    }

    /// What controllers answer, in both clients' words: each failure with its next command.
    @Test func controllersAnswersInBothClientsWords() async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: old, dnac: ["username": "admin", "password": "pw"])
        let failing = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["behaviour": "error"])
        let strange = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["behaviour": "nonjson"])
        let silent = try await peers.listen("silent")
        let plain = try await peers.listen("http")
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, newStorePath("tofu-parity")) })
        func add(_ peer: Peer, _ extra: [String] = []) -> [String] {
            ["add-dnac-server", "--server", peer.address, "--username", "admin", "--password-stdin"] + extra
        }
        func both(_ arguments: [String], _ status: Int32, stdin: String? = "pw\n", says: [String]) async throws -> String {
            let results = try await CLITests.both(arguments, stores: stores, status: status, stdin: stdin)
            let swift = try #require(results[.swift])
            let shell = try #require(results[.shell])
            let label = "\(arguments)\n--- tofu:\n\(swift.stderr)--- tofu.sh:\n\(shell.stderr)"
            #expect(swift.stderr == shell.stderr.replacingOccurrences(of: "tofu.sh", with: "tofu"), "\(label)")
            Self.expectSentences(swift.stderr, label)
            for words in says { #expect(swift.stderr.contains(words), "tofu does not say '\(words)': \(label)") }
            return swift.stderr
        }

        _ = try await both(add(dnac), 0, says: [])
        _ = try await both(add(dnac), 6, stdin: "wrong\n", says: [
            "tofu: \(dnac.key) refused the credentials of 'admin' (HTTP 401 on /dna/system/api/v1/auth/token).",
            "Check the username and password, then add the server again:\n  tofu add-dnac-server --server \(dnac.key) --username admin\n",
        ])
        _ = try await both(add(failing), 8, says: [
            "tofu: \(failing.key) answered HTTP 500 to the DNA Center token request", "the controller failed",
            "Wait until the controller works again, then add the server again:\n  tofu add-dnac-server --server \(failing.key) --username admin\n",
        ])
        let firstUse = try await both(add(strange), 8, says: ["it does not look like a Cisco DNA Center", "To remove the pin this first use made:\n  tofu deletecert host \(strange.key) --expected-fingerprint "])
        #expect(!firstUse.contains("the controller failed"))
        _ = try await both(add(silent, ["--timeout-ms", "300"]), 5, says: [
            "tofu: Cannot reach \(silent.key) over TLS (timeout): the TLS handshake with 127.0.0.1 took longer than the deadline. Nothing was pinned or sent.",
            "then add the server again:\n  tofu add-dnac-server --server \(silent.key) --username admin\n",
        ])
        _ = try await both(add(plain), 5, says: ["tofu: Cannot reach \(plain.key) over TLS (notTLS): the peer does not speak TLS on that port", ": it may be plain HTTP or another service."])

        // The controller regenerates its certificate: verifycert names the user it was added with.
        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)
        let serials = Set([try await Self.serial(of: old), try await Self.serial(of: new)])
        var text = try await both(["verifycert", dnac.key], 3, stdin: nil, says: [
            "tofu: \(dnac.key) presents a different certificate than the one pinned (new key: the controller generated a new certificate).",
            "\n  tofu add-dnac-server --server \(dnac.key) --username admin --accept-fingerprint \(new.fingerprint)\n",
        ])
        #expect(!text.contains("<user>"))
        #expect(Self.serials(in: text) == serials, "both serial numbers: \(text)")
        text = try await both(add(dnac), 3, says: [
            "\n  tofu deletecert host \(dnac.key) --expected-fingerprint \(old.fingerprint)\n  tofu add-dnac-server --server \(dnac.key) --username admin\n",
            "\n  tofu add-dnac-server --server \(dnac.key) --username admin --accept-fingerprint \(new.fingerprint)\n",
        ])
        #expect(Self.serials(in: text) == serials, "both serial numbers: \(text)")
        _ = try await both(["verifycert", "--all"], 3, stdin: nil, says: ["tofu: Of 3 pins, 1 presents a different certificate (\(dnac.key))."])
        peers.stop()
    }
}
