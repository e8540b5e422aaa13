import Foundation
import TestSupport
import Testing

/// `initialize`, as editor (LSP) and agent (MCP) clients send it first: answered for both, in
/// the request's framing, as protocol/openrpc.json describes; never required by tofu's methods.
@Suite struct InitializeTests {
    static var documentVersion: String {
        (OpenRPCDocument.repository.document["info"] as? [String: Any])?["version"] as? String ?? "?"
    }

    static func mcpInitialize(_ version: Any) -> [String: Any] {
        ["protocolVersion": version, "capabilities": [:], "clientInfo": ["name": "test-agent", "version": "1.0"]]
    }

    /// An LSP client's handshake in Content-Length framing, then its requests, then shutdown and
    /// exit: status 0.
    @Test func anEditorsHandshake() async throws {
        let server = try ServerProcess(arguments: ["--store", newStorePath()])
        // Before any initialize, tofu's own methods answer.
        let early = try await server.call("listCerts", id: 1, framing: "lsp")
        #expect(early.object["result"] != nil, "\(early)")
        let params: [String: Any] = [
            "processId": 4242, "rootUri": NSNull(), "capabilities": ["workspace": ["applyEdit": true]],
            "clientInfo": ["name": "Neovim", "version": "0.9"], "trace": "off", "locale": "en", "workspaceFolders": NSNull(),
            "aFieldOfLSP4": ["anything": 1],
        ]
        let answer = try await server.call("initialize", id: 2, params: params, framing: "lsp")
        #expect(answer.framing == "lsp")
        let result = try #require(answer.object["result"] as? [String: Any], "\(answer)")
        #expect((result["capabilities"] as? [String: Any])?.isEmpty == true, "\(result)")
        #expect(result["serverInfo"] as? [String: String] == ["name": "tofu-rpc", "version": Self.documentVersion], "\(result)")
        #expect(OpenRPCDocument.repository.problems(answering: "initialize", answer).isEmpty, "\(OpenRPCDocument.repository.problems(answering: "initialize", answer))")
        server.send(Wire.lsp(Wire.request("initialized", params: [:])))
        let listed = try await server.call("listCerts", id: 3, framing: "lsp")
        #expect(listed.object["id"] as? Int == 3 && listed.object["result"] != nil, "the notification was answered, or the call was not: \(listed)")
        #expect(try await server.call("shutdown", id: 4, framing: "lsp").object["result"] is NSNull)
        server.send(Wire.lsp(Wire.request("exit")))
        #expect(try await server.waitForExit() == 0)
    }

    /// An MCP client's handshake: the revision it asks for when tofu serves it, else tofu's newest.
    @Test(arguments: [
        ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-11-25"), ("2024-11-05", "2025-11-25"),
        ("2026-07-28", "2025-11-25"), ("2099-01-01", "2025-11-25"),
    ])
    func anAgentsHandshake(asked: String, negotiated: String) async throws {
        let server = try ServerProcess(arguments: ["--store", newStorePath()])
        let answer = try await server.call("initialize", id: "i", params: Self.mcpInitialize(asked))
        let result = try #require(answer.object["result"] as? [String: Any], "\(answer)")
        #expect(result["protocolVersion"] as? String == negotiated)
        #expect(result["capabilities"] as? [String: [String: Bool]] == ["tools": ["listChanged": false], "prompts": ["listChanged": false]])
        #expect((result["serverInfo"] as? [String: String])?["name"] == "tofu-rpc")
        #expect((result["serverInfo"] as? [String: String])?["version"] == Self.documentVersion)
        let instructions = result["instructions"] as? String ?? ""
        for word in ["expectedFingerprint", "acceptFingerprint", "a person", "recover-certificate-mismatch", "checkCredentials false"] {
            #expect(instructions.contains(word), "the instructions do not say \(word)")
        }
        #expect(OpenRPCDocument.repository.problems(answering: "initialize", answer).isEmpty, "\(OpenRPCDocument.repository.problems(answering: "initialize", answer))")
        server.send(line: Wire.request("notifications/initialized"))
        #expect(try await server.call("ping", id: "p").object["result"] as? [String: Any] != nil)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    /// The params protocol/openrpc.json lists are checked, naming the one that is wrong; any
    /// other name is accepted, as LSP and MCP add their own.
    @Test func theListedParamsAreChecked() async throws {
        let server = try ServerProcess(arguments: ["--store", newStorePath()])
        let wrongs: [(String, Any)] = [
            ("protocolVersion", 20251125), ("protocolVersion", ""), ("protocolVersion", String(repeating: "9", count: 101)),
            ("protocolVersion", ["2025-11-25"]), ("capabilities", "all"), ("capabilities", [1]), ("clientInfo", "me"),
            ("processId", "4242"), ("processId", 1.5),
        ]
        for (field, wrong) in wrongs {
            let answer = try await server.call("initialize", id: field, params: [field: wrong])
            #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == field, "\(field) = \(wrong): \(answer)")
            #expect(OpenRPCDocument.repository.problems(answering: "initialize", answer).isEmpty)
        }
        let byPosition = try await server.call("initialize", id: "array", params: [1, 2])
        #expect(byPosition.errorCode == -32602, "\(byPosition)")
        let unknown = try await server.call("initialize", id: "other", params: ["noSuchParam": 1, "processId": NSNull()])
        #expect((unknown.object["result"] as? [String: Any])?["serverInfo"] != nil, "\(unknown)")
        let initialized = try await server.call("initialized", id: "n", params: ["noSuchParam": 1])
        #expect(initialized.errorCode == -32602, "\(initialized)")
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }
}
