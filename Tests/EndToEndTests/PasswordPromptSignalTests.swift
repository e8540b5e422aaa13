import Foundation
import TestSupport
import Testing

/// A signal at the password prompt (Ctrl-C, Ctrl-\, kill, a hang-up, Ctrl-Z) must leave the
/// terminal with its echo back on, in both clients. Tests/Fixtures/pty_prompt.py runs the
/// client as a job on a real pseudo-terminal, sends the signal once the prompt is up with echo
/// off, and reads the terminal's ECHO flag with termios on that same terminal.
@Suite struct PasswordPromptSignalTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pty_prompt.py").path

    struct Scenario: Sendable, CustomTestStringConvertible {
        let client: CLITests.Client
        let event: String
        /// How the job ends (`signal SIGINT`), or `stopped` for Ctrl-Z.
        let outcome: String
        var testDescription: String { "\(client) \(event)" }
    }

    static let scenarios: [Scenario] = CLITests.Client.allCases.flatMap { client in
        [
            Scenario(client: client, event: "ctrl-c", outcome: "signal SIGINT"),
            Scenario(client: client, event: "sigterm", outcome: "signal SIGTERM"),
            Scenario(client: client, event: "sighup", outcome: "signal SIGHUP"),
            Scenario(client: client, event: "ctrl-z", outcome: "stopped"),
            Scenario(client: client, event: "ignored-sighup", outcome: "running"),
        ]
    } + [Scenario(client: .swift, event: "ctrl-backslash", outcome: "signal SIGQUIT")]

    /// The client at its prompt for a loopback port where nothing listens: it never gets past
    /// the prompt, except after Ctrl-Z, where it is resumed, answered, and fails to connect.
    static func run(_ scenario: Scenario) async throws -> [String: Any] {
        let (executable, prefix) = scenario.client.command
        let store = temporaryDirectory("tofu-prompt") + "/store.sqlite"
        let command = [executable] + prefix + [
            "add-dnac-server", "--server", "127.0.0.1:\(TLSPeers.closedPort())", "--username", "admin", "--store", store,
        ]
        // Each wait of the fixture (for the prompt, for the job to end) is bounded by this.
        let seconds = String(60 * TestTime.scale)
        let result = try await runProgram(
            "/usr/bin/env", ["python3", fixture, scenario.event] + command, environment: CLITests.environment.merging(["PTY_PROMPT_SECONDS": seconds]) { $1 },
            timeout: TestTime.bound(.seconds(300)))
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(report, "no report from the fixture: \(result.stdout) \(result.stderr)")
    }

    @Test(arguments: scenarios)
    func aSignalAtThePromptGivesTheTerminalItsEchoBack(scenario: Scenario) async throws {
        let report = try await Self.run(scenario)
        let screen = report["screen"] as? String ?? ""
        #expect(report["prompt"] as? Bool == true, "no prompt: \(screen)")
        #expect(report["echoAtPrompt"] as? Bool == false, "echo was on at the prompt: \(screen)")
        #expect(report["outcome"] as? String == scenario.outcome, "\(report)")
        if scenario.event == "ignored-sighup" {
            // Started as under nohup: the hang-up stays ignored, the prompt stays up.
            #expect(report["echoAfter"] as? Bool == false, "\(report)")
            #expect(report["resumedOutcome"] as? String == "signal SIGTERM", "\(report)")
            #expect(report["echoAtEnd"] as? Bool == true, "\(report)")
            return
        }
        #expect(report["echoAfter"] as? Bool == true, "the terminal was left with echo off after \(scenario.event): \(report)")
        guard scenario.event == "ctrl-z" else { return }
        // Continued in the foreground: echo off again, asked again, and on to the controller.
        #expect(report["echoAfterResume"] as? Bool == false, "echo stayed on after the job was continued: \(report)")
        #expect(report["resumedOutcome"] as? String == "exit 5", "\(report)")
        #expect(report["echoAtEnd"] as? Bool == true, "\(report)")
        #expect(!screen.contains("typed-after-resume"), "the password was echoed after the job was continued: \(screen)")
        #expect(screen.contains("Cannot reach 127.0.0.1_"), "the client's message was lost: \(screen)")
    }
}
