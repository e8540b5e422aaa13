import Foundation
import TestSupport
import Testing

/// What the operator sees after typing the password at the prompt, in both clients, on a real
/// pseudo-terminal (Tests/Fixtures/pty_answers.py types the answers): the failure's message,
/// its fingerprints and its next command. The bash client used to send its stderr to /dev/null
/// for the rest of the run once it had opened the terminal, and failed silently.
@Suite struct PromptedFailureTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pty_answers.py").path

    struct Screen {
        let status: Int?
        let text: String
    }

    /// Runs `arguments` with `client` on a pseudo-terminal, typing `answers` at its prompts.
    static func prompted(_ client: CLITests.Client, _ arguments: [String], store: String, answers: [String]) async throws -> Screen {
        let (executable, prefix) = client.command
        let answersJSON = String(decoding: try JSONSerialization.data(withJSONObject: answers), as: UTF8.self)
        let result = try await runProgram(
            "/usr/bin/env", ["python3", fixture, answersJSON, executable] + prefix + arguments + ["--store", store],
            environment: CLITests.environment.merging(["PTY_ANSWERS_SECONDS": String(60 * TestTime.scale)]) { $1 },
            timeout: TestTime.bound(.seconds(300)))
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "no report: \(result.stdout) \(result.stderr)")
        return Screen(status: report["status"] as? Int, text: (report["screen"] as? String ?? "").replacingOccurrences(of: "\r\n", with: "\n"))
    }

    @Test(arguments: CLITests.Client.allCases)
    func aMismatchAfterThePromptSaysWhatAndWhatNext(client: CLITests.Client) async throws {
        let peers = try TLSPeers()
        let old = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: old, dnac: ["username": "admin", "password": "pw"])
        let store = newStorePath("tofu-prompted")
        let add = ["add-dnac-server", "--server", dnac.address, "--username", "admin"]
        let first = try await Self.prompted(client, add, store: store, answers: ["pw", "pw"])
        #expect(first.status == 0, "\(client): \(first.text)")
        #expect(first.text.contains("Password for admin on \(dnac.address): "), "\(client): the prompt names the user and host: \(first.text)")
        #expect(first.text.contains("pinned host=\(dnac.key)"), "\(client): \(first.text)")
        #expect(!first.text.contains("pw\n"), "\(client): the password was echoed: \(first.text)")

        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)
        let refused = try await Self.prompted(client, add, store: store, answers: ["pw", "pw"])
        #expect(refused.status == 3, "\(client): \(refused.text)")
        #expect(refused.text.contains(old.fingerprint) && refused.text.contains(new.fingerprint), "\(client): both fingerprints: \(refused.text)")
        #expect(refused.text.contains("\(client.name) deletecert host \(dnac.key) --expected-fingerprint \(old.fingerprint)"), "\(client): \(refused.text)")
        #expect(refused.text.contains("--accept-fingerprint \(new.fingerprint)"), "\(client): \(refused.text)")
        peers.stop()
    }

    @Test(arguments: CLITests.Client.allCases)
    func aWrongPasswordAfterThePromptSaysWhatAndWhatNext(client: CLITests.Client) async throws {
        let peers = try TLSPeers()
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "admin", "password": "pw"])
        let store = newStorePath("tofu-prompted")
        let refused = try await Self.prompted(
            client, ["add-dnac-server", "--server", dnac.address, "--username", "admin"], store: store, answers: ["wrong", "wrong"])
        #expect(refused.status == 6, "\(client): \(refused.text)")
        #expect(refused.text.contains("refused the credentials of 'admin'"), "\(client): \(refused.text)")
        #expect(refused.text.contains("\(client.name) add-dnac-server --server \(dnac.key) --username admin"), "\(client): the next command: \(refused.text)")
        peers.stop()
    }

    /// A confirmation that differs asks both again, up to three tries; nothing is sent until
    /// they agree, and three misses end with a message and exit status 2.
    @Test(arguments: CLITests.Client.allCases)
    func aConfirmationThatDiffersAsksAgainThreeTimes(client: CLITests.Client) async throws {
        let peers = try TLSPeers()
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "admin", "password": "pw"])
        let store = newStorePath("tofu-prompted")
        let add = ["add-dnac-server", "--server", dnac.address, "--username", "admin"]

        let second = try await Self.prompted(client, add, store: store, answers: ["pw", "pW", "pw", "pw"])
        #expect(second.status == 0, "\(client): \(second.text)")
        #expect(second.text.contains("The passwords do not match; type them again (try 2 of 3)."), "\(client): \(second.text)")
        #expect(second.text.components(separatedBy: "Password for admin").count == 3, "\(client): asked twice: \(second.text)")

        let store2 = newStorePath("tofu-prompted")
        let never = try await Self.prompted(client, add, store: store2, answers: ["a", "b", "c", "d", "e", "f", "g", "h"])
        #expect(never.status == 2, "\(client): \(never.text)")
        #expect(never.text.contains("try 3 of 3"), "\(client): \(never.text)")
        #expect(never.text.contains("tofu: The passwords did not match three times; nothing was sent."), "\(client): \(never.text)")
        #expect(never.text.components(separatedBy: "Password for admin").count == 4, "\(client): asked three times: \(never.text)")
        #expect(try await peers.connections(dnac) == 1, "\(client): only the first add connected")
        peers.stop()
    }
}
