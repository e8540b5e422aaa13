import Foundation
import TestSupport
import Testing

/// One version everywhere: `tofu --version`, `tofu-rpc --version`, `tofu.sh --version`, what
/// `rpc.discover` answers (`info.version`) and protocol/openrpc.json in the repository.
@Suite struct VersionTests {
    @Test func everyPlaceSaysTheSameVersion() async throws {
        let tofu = try await runProgram(productPath("tofu"), ["--version"])
        let server = try await runProgram(productPath("tofu-rpc"), ["--version"])
        let shell = try await runProgram("/bin/bash", [CLITests.Client.script, "--version"], environment: CLITests.environment)
        for result in [tofu, server, shell] {
            #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
        }
        let version = tofu.stdout.trimmingCharacters(in: .newlines)
        #expect(version.wholeMatch(of: /\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?/) != nil, "not a version: '\(version)'")
        #expect(server.stdout == version + "\n", "tofu-rpc --version: \(server.stdout)")
        #expect(shell.stdout == version + "\n", "tofu.sh --version: \(shell.stdout)")

        let discovered = try ServerProcess()
        let answer = try await discovered.call("rpc.discover", id: 1)
        let info = try #require((answer.object["result"] as? [String: Any])?["info"] as? [String: Any])
        #expect(info["version"] as? String == version, "rpc.discover: \(info)")
        discovered.closeInput()
        _ = try await discovered.waitForExit()

        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(DiscoverTests.repositoryDocument.utf8)) as? [String: Any])
        #expect((document["info"] as? [String: Any])?["version"] as? String == version, "protocol/openrpc.json")
    }
}
