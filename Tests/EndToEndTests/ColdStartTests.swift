import Foundation
import TestSupport
import Testing

/// What a cold `tofu listcerts --host K` does before it answers, counted in instructions
/// (callgrind: the same count however loaded the machine is): work a one-line lookup does not
/// need is not done, and what it replaced still works.
@Suite struct ColdStartTests {
    /// The instructions `program` executes inside functions whose names match `function`
    /// (callgrind's --toggle-collect), and what it printed.
    static func instructions(
        in function: String, running program: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]
    ) async throws -> (count: Int, output: CommandResult) {
        let profile = temporaryDirectory("tofu-callgrind") + "/callgrind.out"
        let result = try await runProgram(
            "/usr/bin/valgrind", ["--tool=callgrind", "--callgrind-out-file=\(profile)", "--toggle-collect=\(function)", productPath(program)] + arguments,
            stdin: stdin, environment: environment, timeout: TestTime.bound(.seconds(120)))
        let collected = try #require(result.stderr.split(separator: "\n").first { $0.contains("Collected :") }, "valgrind said: \(result.stderr)")
        let count = try #require(Int(collected.split(separator: " ").last.map { $0.replacingOccurrences(of: ",", with: "") } ?? ""))
        return (count, result)
    }

    /// swift-argument-parser parses the arguments twice more, with commands of its own, to look
    /// for `--generate-completion-script`: a third of the CLI's instructions. tofu skips that
    /// look when no argument starts with it, and still answers it when one does.
    @Test func theCompletionScriptLookRunsOnlyWhenAnArgumentAsksForIt() async throws {
        let look = "*checkForCompletionScriptRequest*"
        let store = newStorePath("tofu-coldstart")
        let environment = ["TOFU_RPC": productPath("tofu-rpc"), "NO_COLOR": "1", "TOFU_STORE": ""]
        // Asked for: the look parses, and answers.
        var looking = Int.max
        for arguments in [["--generate-completion-script", "bash"], ["--generate-completion-script=zsh"], ["listcerts", "--generate-completion-script", "fish"]] {
            let completion = try await Self.instructions(in: look, running: "tofu", arguments, environment: environment)
            #expect(completion.count > 1_000_000, "\(arguments): \(completion.count) instructions: the look did not run (or callgrind did not find it)")
            #expect(completion.output.status == 0 && completion.output.stdout.contains("listcerts"), "\(arguments): \(completion.output)")
            looking = min(looking, completion.count)
        }
        // Not asked for: only the parser's test of whether to look, a thousandth of looking.
        let lookup = try await Self.instructions(in: look, running: "tofu", ["listcerts", "--host", "kong.example", "--store", store], environment: environment)
        #expect(lookup.output.status == 4, "\(lookup.output)")
        #expect(lookup.count * 1000 < looking, "the completion-script look ran for a lookup: \(lookup.count) instructions (\(looking) when asked)")
        let version = try await Self.instructions(in: look, running: "tofu", ["--version"], environment: environment)
        #expect(version.output.status == 0 && version.count * 1000 < looking, "\(version.count) instructions: \(version.output)")
    }

    /// While the look is skipped the command has a super-command name; help and usage are
    /// written after parsing, without it.
    @Test func helpAndUsageNameTofuOnce() async throws {
        let environment = ["TOFU_RPC": productPath("tofu-rpc"), "NO_COLOR": "1", "TOFU_STORE": ""]
        let help = try await runProgram(productPath("tofu"), ["listcerts", "--help"], environment: environment)
        #expect(help.status == 0 && help.stdout.contains("USAGE: tofu listcerts"), "\(help)")
        let wrong = try await runProgram(productPath("tofu"), ["listcerts", "--no-such-option"], environment: environment)
        #expect(wrong.status == 2 && wrong.stderr.contains("tofu listcerts") && !wrong.stderr.contains("tofu tofu"), "\(wrong)")
    }

    /// tofu-rpc reads the few variables it needs, not the whole environment into a dictionary
    /// (Foundation's `ProcessInfo.environment`), on the way to answering a lookup: counted by
    /// gdb (callgrind stops on a dynamically linked Swift program, as debug builds are).
    @Test func tofuRPCDoesNotCopyTheEnvironmentToAnswerALookup() async throws {
        let directory = temporaryDirectory("tofu-coldstart")
        let request = Wire.request("listCerts", id: 1, params: ["host": "kong.example"]) + "\n"
        try Data(request.utf8).write(to: URL(fileURLWithPath: directory + "/request.ndjson"))
        let script = """
            set pagination off
            set confirm off
            set breakpoint pending on
            set $copies = 0
            break $s20FoundationEssentials11ProcessInfoC11environmentSDyS2SGvg
            commands
            silent
            set $copies = $copies + 1
            continue
            end
            run < \(directory)/request.ndjson > \(directory)/answer.ndjson
            printf "environment copies: %d\\n", $copies
            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: directory + "/count.gdb"))
        let environment = ["TOFU_STORE": directory + "/store.sqlite", "TOFU_LOG_LEVEL": "warning"]
        let counted = try await runProgram("/usr/bin/timeout", ["60", "/usr/bin/gdb", "-batch", "-nx", "-x", directory + "/count.gdb", productPath("tofu-rpc")], environment: environment)
        let answer = try String(contentsOfFile: directory + "/answer.ndjson", encoding: .utf8)
        #expect(answer.contains("\"certs\":[]"), "no answer under gdb: \(answer) \(counted)")
        #expect(counted.stdout.contains("Breakpoint 1 at"), "gdb did not find ProcessInfo.environment: \(counted)")
        #expect(counted.stdout.contains("environment copies: 0"), "\(counted.stdout)")
    }
}
