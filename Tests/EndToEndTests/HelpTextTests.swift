import Foundation
import TestSupport
import Testing

/// Help is read in the middle of an outage and its examples are copied by hand: each example
/// stays on one line however narrow the screen, and `tofu.sh COMMAND --help` shows the same
/// examples as `tofu COMMAND --help`, with its own name.
@Suite struct HelpTextTests {
    static let commands: [[String]] = [
        [], ["listcerts"], ["deletecert"], ["verifycert"], ["add-dnac-server"], ["pin-cert"], ["set-policy"], ["list-dnac-servers"],
        ["remove-dnac-server"], ["history"], ["backup"], ["export"], ["import"], ["certvalidation"], ["certvalidation", "tofu-certs"],
        ["certvalidation", "tofu-certs", "listcerts"], ["certvalidation", "tofu-certs", "deletecert"],
    ]

    /// The lines of `help` that are examples of `name`: a command line, indented.
    static func examples(_ help: String, of name: String) -> [String] {
        help.split(separator: "\n").map(String.init).filter { line in
            line.hasPrefix("  ") && (line.trimmingCharacters(in: .whitespaces).hasPrefix(name + " ") || line.contains("| \(name) "))
        }
    }

    static func help(_ executable: String, _ arguments: [String], columns: String) async throws -> String {
        let result = try await runProgram(executable, arguments + ["--help"], environment: ["COLUMNS": columns])
        #expect(result.status == 0 && result.stderr.isEmpty, "\(executable) \(arguments) --help: \(result)")
        return result.stdout
    }

    @Test(arguments: commands)
    func everyExampleStaysOnOneLine(command: [String]) async throws {
        let wide = try await Self.help(productPath("tofu"), command, columns: "1000")
        let examples = Self.examples(wide, of: "tofu")
        if !command.isEmpty && command.last != "certvalidation" && command.last != "tofu-certs" {
            #expect(!examples.isEmpty, "\(command): no example in \(wide)")
        }
        // "": no COLUMNS and no terminal, swift-argument-parser's 80 columns.
        for columns in ["", "80", "40"] {
            let lines = Set(try await Self.help(productPath("tofu"), command, columns: columns).split(separator: "\n").map(String.init))
            for example in examples {
                #expect(lines.contains(example), "tofu \(command) --help at COLUMNS=\(columns) breaks the example: \(example)")
            }
        }
    }

    @Test(arguments: commands.filter { !$0.isEmpty && $0.last != "certvalidation" && $0.last != "tofu-certs" })
    func theShellClientShowsTheSameExamples(command: [String]) async throws {
        let examples = Self.examples(try await Self.help(productPath("tofu"), command, columns: "1000"), of: "tofu")
        let shell = try await runProgram("/bin/bash", [CLITests.Client.script] + command + ["--help"], environment: CLITests.environment)
        #expect(shell.status == 0 && shell.stderr.isEmpty, "\(command): \(shell)")
        let lines = Set(shell.stdout.split(separator: "\n").map(String.init))
        for example in examples {
            // The command words only (at the start, or after a pipe), not a "…/tofu " in a URI.
            let own = example.replacing(#/(^\s*|\| )tofu /#) { "\($0.output.1)tofu.sh " }
            #expect(lines.contains(own), "tofu.sh \(command) --help lacks: \(own)\n\(shell.stdout)")
        }
        // `help COMMAND` says the same.
        let viaHelp = try await runProgram("/bin/bash", [CLITests.Client.script, "help"] + command, environment: CLITests.environment)
        #expect(viaHelp.status == 0 && viaHelp.stdout == shell.stdout, "\(command): \(viaHelp)")
    }

    @Test func theServersExampleStaysOnOneLine() async throws {
        let wide = try await Self.help(productPath("tofu-rpc"), [], columns: "1000")
        let examples = wide.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  ") && $0.contains("| tofu-rpc") }
        #expect(!examples.isEmpty, "\(wide)")
        for columns in ["", "80", "40"] {
            let lines = Set(try await Self.help(productPath("tofu-rpc"), [], columns: columns).split(separator: "\n").map(String.init))
            for example in examples {
                #expect(lines.contains(example), "tofu-rpc --help at COLUMNS=\(columns) breaks the example: \(example)")
            }
        }
    }
}
