import Foundation
import Posix
import TestSupport
import Testing

/// MCP on tofu-rpc, message by message (NDJSON, MCP's stdio framing): what the SDK test
/// (RealClientTests) cannot show, because a good client never sends it or hides it.
@Suite struct MCPWireTests {
    /// A tofu-rpc on a store of its own, every message it writes kept.
    final class Agent: Sendable {
        let server: ServerProcess
        private let seen = Locked<[Received]>([])
        private let counter = Counter()

        init(revision: String? = "2025-11-25", store: String? = nil, arguments: [String] = []) async throws {
            server = try ServerProcess(arguments: ["--store", store ?? newStorePath()] + arguments)
            if let revision {
                let answer = try await request("initialize", InitializeTests.mcpInitialize(revision))
                #expect((answer.object["result"] as? [String: Any])?["protocolVersion"] as? String == revision, "\(answer)")
                notify("notifications/initialized")
            }
        }

        func notify(_ method: String, _ params: [String: Any]? = nil) { server.send(line: Wire.request(method, params: params)) }

        /// Sends a request and returns its answer; notifications before it are kept in `seen`.
        func request(_ method: String, _ params: [String: Any]? = nil, id: Any? = nil) async throws -> Received {
            let id = id ?? counter.next()
            server.send(line: Wire.request(method, id: id, params: params))
            return try await answer(to: id)
        }

        func answer(to id: Any) async throws -> Received {
            while true {
                let message = try await server.reader.next()
                seen.withLock { $0.append(message) }
                if message.object["id"] != nil, "\(message.object["id"] ?? "")" == "\(id)" { return message }
            }
        }

        func call(_ tool: String, _ arguments: [String: Any], meta: [String: Any]? = nil) async throws -> Received {
            var params: [String: Any] = ["name": tool, "arguments": arguments]
            if let meta { params["_meta"] = meta }
            return try await request("tools/call", params)
        }

        var messages: [Received] { seen.withLock { $0 } }

        func stop() async throws -> Int32 {
            server.closeInput()
            return try await server.waitForExit()
        }
    }

    /// The stateless 2026-07-28 revision is not served: its discovery method is not found, which
    /// tells a client that speaks both revisions (the official SDKs) to use the handshake.
    @Test func theStatelessRevisionsDiscoveryIsNotFound() async throws {
        let agent = try await Agent(revision: nil)
        let meta: [String: Any] = ["io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": [:]]
        let answer = try await agent.request("server/discover", ["_meta": meta])
        #expect(answer.errorCode == -32601, "\(answer)")
        #expect(try await agent.stop() == 0)
    }

    /// An MCP session is initialized once: a second `initialize` is refused and the revision
    /// negotiated first stays (it decides how argument errors are reported).
    @Test func aSecondInitializeIsRefusedAndChangesNothing() async throws {
        let agent = try await Agent(revision: "2025-06-18")
        let again = try await agent.request("initialize", InitializeTests.mcpInitialize("2025-11-25"))
        #expect(again.errorCode == -32600, "\(again)")
        #expect(again.text.contains("already initialized (revision 2025-06-18)"), "\(again)")
        // Still 2025-06-18: malformed arguments are a -32602 error, not an isError result.
        let answer = try await agent.call("deleteCert", ["hostname": "127.0.0.1_9"])
        #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == "hostname", "\(answer)")
        #expect(try await agent.stop() == 0)
    }

    /// `structuredContent` is the method's own result, and the text is PI's line.
    @Test func aToolsResultIsItsMethodsResult() async throws {
        let agent = try await Agent()
        let certificate = try await CertificateFactory.make()
        let pinned = try await agent.request("pinCert", ["host": "127.0.0.1:9", "pem": certificate.pem])
        #expect(OpenRPCDocument.repository.problems(answering: "pinCert", pinned).isEmpty)
        let direct = try await agent.request("listCerts", ["host": "127.0.0.1_9"])
        let tool = try await agent.call("listCerts", ["host": "127.0.0.1_9"])
        let result = try #require(tool.object["result"] as? [String: Any], "\(tool)")
        #expect(Wire.json(result["structuredContent"] ?? NSNull()) == Wire.json(direct.object["result"] ?? 0))
        #expect(result["isError"] as? Bool == false)
        let content = try #require(result["content"] as? [[String: Any]])
        #expect(content.count == 1 && content[0]["type"] as? String == "text")
        #expect(content[0]["text"] as? String == "host=127.0.0.1_9;  subject=CN = kong")
        #expect(try await agent.stop() == 0)
    }

    /// A call that is itself malformed is a JSON-RPC error; malformed arguments are a result
    /// with isError from MCP 2025-11-25 on, and a -32602 error under 2025-06-18.
    @Test(arguments: ["2025-11-25", "2025-06-18"])
    func malformedCallsAndArguments(revision: String) async throws {
        let agent = try await Agent(revision: revision)
        for params: [String: Any] in [
            [:], ["name": 5], ["name": "noSuchTool"], ["name": "listCerts", "arguments": [1]], ["name": "listCerts", "arguments": "x"],
            ["name": "verifyCert", "arguments": ["all": true], "_meta": ["progressToken": ["a": 1]]], ["name": "listCerts", "_meta": 7],
        ] {
            let answer = try await agent.request("tools/call", params)
            #expect(answer.errorCode == -32602, "\(params): \(answer)")
        }
        #expect(try await agent.request("tools/call", ["name": "noSuchTool"]).errorKind == "unknownTool")
        for (arguments, field) in [(["hostname": "127.0.0.1_9"], "hostname"), (["host": 443], "host"), (["all": true, "progressToken": "t"], "progressToken")] as [([String: Any], String)] {
            let tool = arguments["all"] == nil ? "deleteCert" : "verifyCert"
            let answer = try await agent.call(tool, arguments)
            if revision == "2025-06-18" {
                #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == field, "\(answer)")
            } else {
                let result = try #require(answer.object["result"] as? [String: Any], "\(answer)")
                #expect(result["isError"] as? Bool == true)
                let structured = try #require(result["structuredContent"] as? [String: Any])
                #expect(structured["code"] as? Int == -32602)
                #expect((structured["data"] as? [String: Any])?["field"] as? String == field, "\(structured)")
                #expect(((result["content"] as? [[String: Any]])?.first?["text"] as? String)?.contains(field) == true)
            }
        }
        // tofu's own errors are results in both revisions.
        let missing = try await agent.call("deleteCert", ["host": "127.0.0.1_9"])
        let result = try #require(missing.object["result"] as? [String: Any], "\(missing)")
        #expect(result["isError"] as? Bool == true)
        #expect((result["structuredContent"] as? [String: Any])?["code"] as? Int == -32001)
        #expect(((result["structuredContent"] as? [String: Any])?["data"] as? [String: Any])?["kind"] as? String == "certNotFound")
        #expect(try await agent.stop() == 0)
    }

    /// `_meta.progressToken` on verifyCert {all}: `notifications/progress` after each host, in
    /// MCP's shape, before the answer; never tofu's own `$/progress`. A string or an integer token.
    @Test(arguments: ["p-1", 7] as [any Sendable])
    func progressInMCPsShape(token: any Sendable) async throws {
        let agent = try await Agent()
        let certificate = try await CertificateFactory.make()
        let hosts = (0..<3).map { _ in "127.0.0.1:\(TLSPeers.closedPort())" }
        for host in hosts { _ = try await agent.request("pinCert", ["host": host, "pem": certificate.pem]) }
        let before = agent.messages.count
        let answer = try await agent.call("verifyCert", ["all": true, "timeoutMs": 2000], meta: ["progressToken": token])
        let notifications = agent.messages.dropFirst(before).dropLast().map(\.object)
        #expect(notifications.count == hosts.count, "\(notifications)")
        for (index, notification) in notifications.enumerated() {
            #expect(notification["method"] as? String == "notifications/progress", "\(notification)")
            let params = notification["params"] as? [String: Any] ?? [:]
            #expect(Set(params.keys) == ["progressToken", "progress", "total", "message"], "\(params)")
            #expect("\(params["progressToken"] ?? "")" == "\(token)")
            #expect(params["progress"] as? Int == index + 1 && params["total"] as? Int == hosts.count, "\(params)")
            #expect((params["message"] as? String)?.hasSuffix(": unreachable") == true, "\(params)")
        }
        let results = ((answer.object["result"] as? [String: Any])?["structuredContent"] as? [String: Any])?["results"] as? [Any]
        #expect(results?.count == hosts.count, "\(answer)")
        // Without a token, or for a single host: no notification.
        let quiet = agent.messages.count
        _ = try await agent.call("verifyCert", ["all": true, "timeoutMs": 2000])
        _ = try await agent.call("verifyCert", ["host": hosts[0], "timeoutMs": 2000], meta: ["progressToken": token])
        #expect(agent.messages.count == quiet + 2, "\(agent.messages.dropFirst(quiet))")
        #expect(try await agent.stop() == 0)
    }

    /// `notifications/cancelled` cancels a tool call in flight as `$/cancelRequest` does.
    @Test func notificationsCancelledCancelsACall() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let agent = try await Agent()
        agent.server.send(line: Wire.request("tools/call", id: "slow", params: ["name": "verifyCert", "arguments": ["host": silent.address, "timeoutMs": 60000]]))
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        agent.notify("notifications/cancelled", ["requestId": "slow", "reason": "the person changed their mind"])
        let answer = try await agent.answer(to: "slow")
        #expect(answer.errorCode == -32800, "\(answer)")
        // Well before the call's own 60 s deadline, however loaded the machine.
        #expect(ContinuousClock.now - started < TestTime.bound(.seconds(20)))
        #expect(try await agent.request("ping").object["result"] != nil)
        #expect(try await agent.stop() == 0)
        peers.stop()
    }

    /// The controller's password, given as a tool argument, is in nothing tofu-rpc writes, even
    /// at log level trace: not in a result, an error, a notification or the log.
    @Test func thePasswordIsNeverWritten() async throws {
        let password = "pw-agent-\u{00E9}\u{26A1}-c0ffee"
        let peers = try TLSPeers()
        let first = try await CertificateFactory.make()
        let second = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: first, dnac: ["username": "admin", "password": password])
        let agent = try await Agent(arguments: ["--log-level", "trace"])
        let add: [String: Any] = ["server": dnac.address, "username": "admin", "password": password, "confirmPassword": password, "timeoutMs": 3000]
        let pinned = try await agent.call("addDnacServer", add)
        #expect(((pinned.object["result"] as? [String: Any])?["structuredContent"] as? [String: Any])?["pinStatus"] as? String == "pinned", "\(pinned)")
        var wrong = add
        wrong["password"] = password + "x"
        wrong["confirmPassword"] = password + "x"
        _ = try await agent.call("addDnacServer", wrong)
        wrong["confirmPassword"] = password
        _ = try await agent.call("addDnacServer", wrong)
        try await peers.present(second, on: dnac)
        let mismatch = try await agent.call("addDnacServer", add)
        #expect((mismatch.object["result"] as? [String: Any])?["isError"] as? Bool == true, "\(mismatch)")
        _ = try await agent.call("addDnacServer", add.merging(["acceptFingerprint": second.fingerprint]) { _, new in new })
        _ = try await agent.request("tools/call", ["name": "addDnacServer", "arguments": add.merging(["noSuchParam": password]) { _, new in new }])
        #expect(try await agent.stop() == 0)
        let written = agent.messages.map(\.text).joined(separator: "\n") + agent.server.stderr
        #expect(written.count > 1000, "the log at level trace is missing")
        for form in [password, password + "x", "pw-agent-\\u00e9", "c0ffee"] {
            #expect(!written.contains(form), "the password was written: \(form)")
        }
        peers.stop()
    }

    /// The prompt, and what it refuses.
    @Test func thePrompt() async throws {
        let agent = try await Agent()
        let listed = try await agent.request("prompts/list")
        let prompts = (listed.object["result"] as? [String: Any])?["prompts"] as? [[String: Any]] ?? []
        #expect(prompts.map { $0["name"] as? String } == ["recover-certificate-mismatch"], "\(listed)")
        let prompt = try await agent.request("prompts/get", ["name": "recover-certificate-mismatch", "arguments": ["host": "DNAC.Example.com."]])
        let messages = (prompt.object["result"] as? [String: Any])?["messages"] as? [[String: Any]] ?? []
        let text = (messages.first?["content"] as? [String: Any])?["text"] as? String ?? ""
        #expect(messages.first?["role"] as? String == "user", "\(prompt)")
        #expect(text.contains("\"dnac.example.com_443\"") && !text.contains("DNAC.Example"), "the host is not normalised: \(text)")
        for (params, field) in [
            (["name": "recover-certificate-mismatch"], "host"), (["name": "recover-certificate-mismatch", "arguments": ["host": "a b"]], "host"),
            (["name": "recover-certificate-mismatch", "arguments": ["host": 5]], "host"), (["name": "nope"], "name"), ([:], "name"),
        ] as [([String: Any], String)] {
            let answer = try await agent.request("prompts/get", params)
            #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == field, "\(params): \(answer)")
        }
        #expect(try await agent.request("tools/list", ["cursor": "x"]).errorCode == -32602)
        #expect(try await agent.request("ping", [:]).object["result"] as? [String: Any] != nil)
        #expect(try await agent.stop() == 0)
    }
}
