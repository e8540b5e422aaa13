import Foundation
import TestSupport
import Testing

/// Third-party clients nobody here wrote, against the real tofu-rpc: the official MCP Python SDK
/// (an agent, Tests/Clients/mcp_agent.py) and pygls's LanguageClient (an editor,
/// Tests/Clients/lsp_editor.py). Each script checks everything it sees and exits non-zero,
/// saying why, at the first thing that is not so; it says what it saw on success.
///
/// `make test` installs the clients (the versions it pins) and sets TOFU_TEST_PYTHON to the
/// interpreter that has them and TOFU_REQUIRE_CLIENTS=1, under which a missing client fails
/// these tests. Without it, they run when `python3` has the clients.
@Suite struct RealClientTests {
    static let environment = ProcessInfo.processInfo.environment
    static let python = environment["TOFU_TEST_PYTHON"] ?? "python3"
    static let required = environment["TOFU_REQUIRE_CLIENTS"] == "1"

    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Clients/\(name)").path
    }

    /// Whether to run a client's test: when the interpreter imports its `modules`, and always when required.
    static func available(_ modules: String) async -> Bool {
        if required { return true }
        return (try? await runProgram("/usr/bin/env", [python, "-c", "import \(modules)"]))?.status == 0
    }

    static func run(_ name: String) async throws -> CommandResult {
        try await runProgram("/usr/bin/env", [python, script(name), productPath("tofu-rpc"), TLSPeers.script], timeout: TestTime.bound(.seconds(300)))
    }

    @Test(.enabled("needs the mcp package (make test installs it)") { await available("mcp, jsonschema") })
    func theOfficialMCPPythonSDK() async throws {
        let result = try await Self.run("mcp_agent.py")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        // Every tool of the document, however many it has (mcp_agent checks none was left out).
        #expect(result.stdout.contains(/mcp_agent: [0-9]+ tools called, the outage walked, progress and cancel seen, the prompt read/), "\(result.stdout)")
    }

    @Test(.enabled("needs the pygls package (make test installs it)") { await available("pygls, lsprotocol") })
    func pyglsLanguageClient() async throws {
        let result = try await Self.run("lsp_editor.py")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("lsp_editor: initialized, listCerts and verifyCert answered, shut down with status 0"), "\(result.stdout)")
    }
}
