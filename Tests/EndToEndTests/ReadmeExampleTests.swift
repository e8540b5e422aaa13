import Foundation
import TestSupport
import Testing

/// Every example in README.md and clients/README.md runs as written. The examples are the
/// fenced blocks marked `sh` or `bash` (blocks marked `console`, `text`, or another language
/// are sessions, output or instructions, and are not run). Each runs with bash -e -o pipefail
/// from the repository's top directory, with the built tofu, tofu-rpc on PATH, a scratch store,
/// and a fake DNA Center on 127.0.0.1: addresses reach an example only through variables with
/// a documentation default (`CONTROLLER=${CONTROLLER:-192.0.2.10}`), which this test sets, so
/// no example ever dials the address it shows.
@Suite struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Example: Sendable, CustomTestStringConvertible {
        let file: String
        let line: Int
        let code: String
        var testDescription: String { "\(file):\(line)" }
    }

    /// The `sh` and `bash` blocks of `file`.
    static func examples(in file: String) throws -> [Example] {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        var examples: [Example] = []
        var current: (line: Int, lines: [String])?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if var block = current {
                if line.trimmingCharacters(in: .whitespaces) == "```" {
                    examples.append(Example(file: file, line: block.line, code: block.lines.joined(separator: "\n") + "\n"))
                    current = nil
                } else {
                    block.lines.append(String(line))
                    current = block
                }
            } else if line == "```sh" || line == "```bash" {
                current = (index + 1, [])
            }
        }
        return examples
    }

    static let all: [Example] = ["README.md", "clients/README.md"].flatMap { (try? examples(in: $0)) ?? [] }

    /// The variables the examples may take their addresses and secrets from.
    static let provided: Set<String> = ["CONTROLLER", "PASSWORD", "TOFU_RPC"]

    @Test func theReadmesHaveExamplesToRun() throws {
        #expect(try Self.examples(in: "README.md").count >= 3)
        #expect(try Self.examples(in: "clients/README.md").count >= 2)
    }

    /// What an example may hold, checked before it runs: no address but loopback outside the
    /// defaults of the provided variables, nothing that builds or installs.
    static func checked(_ example: Example) -> [String] {
        var problems: [String] = []
        for match in example.code.matches(of: /\$\{([A-Za-z_][A-Za-z0-9_]*):-/) where !provided.contains(String(match.output.1)) {
            problems.append("takes ${\(match.output.1)} from the environment, which the tests do not set")
        }
        let bare = example.code.replacing(/\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]*\}/, with: "")
        for match in bare.matches(of: /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/) where !match.output.hasPrefix("127.") {
            problems.append("names the address \(match.output) outside a variable's default: the test would dial it")
        }
        if bare.contains("2001:db8") { problems.append("names 2001:db8:: outside a variable's default") }
        for word in ["make ", "apt-get", "sudo ", "rm -rf"] where bare.contains(word) {
            problems.append("runs '\(word)': mark build and install instructions ```console or ```text, not ```sh")
        }
        return problems
    }

    @Test(arguments: all)
    func theExampleRunsAsWritten(example: Example) async throws {
        let problems = Self.checked(example)
        try #require(problems.isEmpty, "\(example.file):\(example.line): \(problems)")
        let peers = try TLSPeers()
        let password = "pw-\(UUID().uuidString.prefix(8))"
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "admin", "password": password])
        let directory = temporaryDirectory("tofu-readme")
        let store = directory + "/store.sqlite"
        // A pin whose certificate has expired, on a loopback address nothing listens on.
        let expired = try await CertificateFactory.make(notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        let expiredKey = "127.0.0.2_\(TLSPeers.closedPort())"
        let seeded = try await CLITests.run(.swift, ["pin-cert", expiredKey, "--pem", expired.certificatePath], store: store)
        #expect(seeded.status == 0, "\(seeded)")

        let script = directory + "/example.sh"
        try Data(example.code.utf8).write(to: URL(fileURLWithPath: script))
        let bin = URL(fileURLWithPath: productPath("tofu")).deletingLastPathComponent().path
        let result = try await runProgram(
            "/bin/bash", ["-c", "cd \"$0\" && exec bash -e -o pipefail \"$1\"", Self.root.path, script],
            environment: [
                "PATH": bin + ":/usr/local/bin:/usr/bin:/bin", "TOFU_RPC": bin + "/tofu-rpc", "TOFU_STORE": store, "HOME": directory,
                "XDG_DATA_HOME": directory, "CONTROLLER": dnac.address, "PASSWORD": password, "NO_COLOR": "1",
            ])
        let label = "\(example.file):\(example.line)\n\(example.code)--- stdout:\n\(result.stdout)--- stderr:\n\(result.stderr)"
        #expect(result.status == 0, "\(label)")
        for failure in ["Bad file descriptor", "command not found", "No such file or directory", "unbound variable"] {
            #expect(!result.stderr.contains(failure), "\(label)")
        }
        if example.code.contains(#"listCerts '{"expiringWithinDays": 0}'"#) {
            // The script that deletes expired pins did: the expired one is gone.
            #expect(result.stdout.contains("deleted \(expiredKey)"), "\(label)")
            let listed = try await CLITests.run(.swift, ["listcerts", expiredKey], store: store)
            #expect(listed.status == 4, "the expired pin is still there: \(listed)")
        }
        peers.stop()
    }
}
