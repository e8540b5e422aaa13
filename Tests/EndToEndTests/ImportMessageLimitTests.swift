import Foundation
import TestSupport
import Testing

/// `tofu import` and `tofu.sh import` when one host's records make a call larger than the
/// server takes: tofu-rpc skips the message and answers -32600 `limitExceeded` with id null (it
/// could not read the id). A client that waits for its own id waits forever.
@Suite struct ImportMessageLimitTests {
    /// An export whose one host has more records than a call may carry: with both clients'
    /// 64 MiB, 70 events of 1 MiB each did it (the Swift tofu hung; found by review); here a
    /// tofu-rpc with a 100,000-byte limit (a wrapper given as TOFU_RPC) and one event of 200 kB.
    static func oversizedExport() -> String {
        let records: [[String: Any]] = [
            ["type": "header", "format": "tofu-export", "version": 1],
            [
                "type": "event", "host": "127.0.0.1_9", "at": "2026-01-01T00:00:00Z", "event": "pinned",
                "sha256Fingerprint": Array(repeating: "AB", count: 32).joined(separator: ":"), "detail": String(repeating: "x", count: 200_000),
            ],
            ["type": "end"],
        ]
        return records.map(Wire.json).joined(separator: "\n") + "\n"
    }

    static func smallServer() throws -> String {
        let wrapper = temporaryDirectory("tofu-small-rpc") + "/tofu-rpc"
        try "#!/bin/sh\nexec '\(productPath("tofu-rpc"))' \"$@\" --max-message-bytes 100000\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
        return wrapper
    }

    static func importsOversizedExport(_ client: CLITests.Client) async throws {
        let (executable, prefix) = client.command
        var environment = CLITests.environment
        environment["TOFU_RPC"] = try smallServer()
        let result: CommandResult
        do {
            result = try await runProgram(
                executable, prefix + ["import", "--store", newStorePath()], stdin: oversizedExport(), environment: environment,
                timeout: TestTime.bound(.seconds(30)))
        } catch PeerError.timeout {
            Issue.record("\(client): import hung on the server's answer with id null")
            return
        }
        #expect(result.status != 0, "\(client): \(result.stderr)")
        #expect(result.stderr.contains("over the limit"), "\(client): \(result.stderr)")
    }

    @Test func theShellClientReportsTheRefusal() async throws {
        try await Self.importsOversizedExport(.shell)
    }

    @Test
    func theSwiftClientReportsTheRefusal() async throws {
        try await Self.importsOversizedExport(.swift)
    }
}
