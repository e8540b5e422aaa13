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
        Case(["listcerts", "--expiring-within", "-1"], 2, says: "--expiring-within needs a value."),
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
        Case(["add-dnac-server", "--server", "192.0.2.10"], 2, says: "--username is required."),
        Case(["add-dnac-server", "--server", "192.0.2.10", "--username", "admin", "--port", "https"], 2, says: "--port takes a number, not 'https'."),
        Case(["add-dnac-server", "--server", "192.0.2.10", "--username", "admin", "--password", "hunter2"], 2, says: "The password is never an argument"),
        Case(["add-dnac-server", "--server", "192.0.2.10", "--username", "admin", "--policy", "any"], 2, says: "--policy is certificate or public-key, not 'any'."),
        // No terminal to ask on (the test runs each client in a session of its own).
        Case(["add-dnac-server", "--server", "192.0.2.10", "--username", "admin"], 2, says: "There is no terminal to ask the password on"),
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
        // Not found: deletecert, listcerts KEY and the others alike, host given one way.
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
}
