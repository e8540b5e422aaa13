import JSONRPC
import Logging
import Testing
import TofuServer
import TofuStore

@testable import TofuMCP

/// The tools come from protocol/openrpc.json, never from a second copy of its schemas.
@Suite struct ToolCatalogTests {
    static let catalog = ToolCatalog(document: ProtocolDocument.value) { _ in true }

    /// Every documented method of tofu's is a tool, and nothing of the protocol's machinery.
    @Test func everyDocumentedMethodButTheLifecycleIsATool() {
        let documented = ProtocolDocument.methodNames
        let machinery = Connection.builtInMethods.union(InitializeMethods.names).union(["rpc.discover"])
        #expect(Set(Self.catalog.tools.map(\.name)) == documented.subtracting(machinery))
        #expect(Self.catalog.listing["tools"]?.arrayValue?.count == Self.catalog.tools.count)
    }

    /// A method the document gains is a tool with no edit in TofuMCP: its params become the
    /// input schema, its result the output schema (wrapped when it is not an object), and the
    /// components it reaches travel with it.
    @Test func aMethodTheDocumentGainsIsATool() throws {
        var document = ProtocolDocument.value.objectValue ?? [:]
        var methods = document["methods"]?.arrayValue ?? []
        methods.append([
            "name": "exportSomething", "summary": "Exports.", "paramStructure": "by-name",
            "params": [
                ["name": "host", "required": true, "schema": ["$ref": "#/components/schemas/HostKey"], "description": "Which host."],
                ["name": "limit", "required": false, "schema": ["type": "integer", "minimum": 1]],
            ],
            "result": ["name": "line", "schema": ["type": "string"]],
        ])
        document["methods"] = .array(methods)
        let catalog = ToolCatalog(document: .object(document)) { _ in true }
        let tool = try #require(catalog.tool(named: "exportSomething"))
        let input = tool.definition["inputSchema"]
        #expect(input?["properties"]?["host"]?["$ref"] == "#/$defs/HostKey")
        #expect(input?["properties"]?["host"]?["description"] == "Which host.")
        #expect(input?["$defs"]?["HostKey"] == ProtocolDocument.value["components"]?["schemas"]?["HostKey"])
        #expect(input?["required"] == ["host"])
        #expect(input?["additionalProperties"] == false)
        #expect(tool.wrapsResult)
        #expect(tool.definition["outputSchema"]?["properties"]?["result"] == ["type": "string"])
        #expect(tool.definition["outputSchema"]?["type"] == "object")
        // No guidance written for it: no annotations, so clients assume the cautious defaults.
        #expect(tool.definition["annotations"] == nil)
        #expect(tool.definition["description"] == "Exports.")
    }

    /// Output schemas describe objects (MCP requires it): verifyCert's oneOf gains `type`,
    /// and a reference reaches every component it needs, and no other.
    @Test func schemasStandAlone() throws {
        let verify = try #require(Self.catalog.tool(named: "verifyCert"))
        let output = try #require(verify.definition["outputSchema"])
        #expect(output["type"] == "object" && output["oneOf"]?.arrayValue?.count == 2)
        #expect(!verify.wrapsResult)
        let definitions = Set(output["$defs"]?.objectValue?.keys.map { $0 } ?? [])
        #expect(definitions.isSuperset(of: ["VerifyResult", "Pin", "Certificate", "StagedCertificate", "Fingerprint", "Timestamp", "HostKey"]))
        #expect(!definitions.contains("DnacServer") && !definitions.contains("HistoryEvent"))
        #expect(!output.description.contains("#/components/"))
        for tool in Self.catalog.tools {
            for key in ["inputSchema", "outputSchema"] {
                let schema = try #require(tool.definition[key])
                #expect(schema["type"] == "object", "\(tool.name) \(key)")
                #expect(schema["$schema"] == .string(ToolCatalog.dialect))
                #expect(!schema.description.contains("#/components/"), "\(tool.name) \(key) points outside itself")
            }
        }
    }

    /// MCP carries progress tokens in `_meta`: the param is not an argument.
    @Test func progressTokenIsNotAnArgument() throws {
        let verify = try #require(Self.catalog.tool(named: "verifyCert"))
        #expect(verify.takesProgressToken)
        #expect(verify.definition["inputSchema"]?["properties"]?["progressToken"] == nil)
        #expect(verify.definition["inputSchema"]?["properties"]?["all"] != nil)
        #expect(Self.catalog.tools.filter(\.takesProgressToken).map(\.name) == ["verifyCert"])
    }

    /// The annotations say what each method does to the store and the network.
    @Test func annotationsTellTheTruth() throws {
        func hints(_ name: String) throws -> JSONValue { try #require(Self.catalog.tool(named: name)?.definition["annotations"]) }
        for name in ["listCerts", "certHistory", "listDnacServers"] {
            #expect(try hints(name)["readOnlyHint"] == true, "\(name)")
            #expect(try hints(name)["openWorldHint"] == false, "\(name)")
        }
        // verifyCert writes lastVerifiedAt and history, and dials the host.
        #expect(try hints("verifyCert")["readOnlyHint"] == false)
        #expect(try hints("verifyCert")["openWorldHint"] == true)
        for name in ["deleteCert", "removeDnacServer", "addDnacServer"] {
            #expect(try hints(name)["destructiveHint"] == true, "\(name)")
            #expect(try hints(name)["readOnlyHint"] == false, "\(name)")
        }
        #expect(try hints("addDnacServer")["openWorldHint"] == true)
        #expect(try hints("addDnacServer")["idempotentHint"] == false)
        // Guidance only for methods that exist.
        #expect(Set(ToolGuidance.forMethod.keys).isSubset(of: ProtocolDocument.methodNames))
    }

    /// The version asked for when tofu serves it, else the newest.
    @Test func negotiation() {
        #expect(MCPServer.negotiate("2025-11-25") == "2025-11-25")
        #expect(MCPServer.negotiate("2025-06-18") == "2025-06-18")
        #expect(MCPServer.negotiate("2025-03-26") == "2025-11-25")
        #expect(MCPServer.negotiate("2026-07-28") == "2025-11-25")
        #expect(MCPServer.negotiate("2099-01-01") == "2025-11-25")
    }

    /// The revisions the protocol document lists for `initialize` are the ones served.
    @Test func theDocumentListsTheRevisionsServed() throws {
        let initialize = try #require(ProtocolDocument.value["methods"]?.arrayValue?.first { $0["name"] == "initialize" })
        let mcp = try #require(initialize["result"]?["schema"]?["oneOf"]?.arrayValue?.first { $0["properties"]?["protocolVersion"] != nil })
        #expect(mcp["properties"]?["protocolVersion"]?["enum"] == .array(MCPServer.revisions.map(JSONValue.string)))
    }

    /// tofu-rpc's table with MCP installed answers tofu's methods, LSP's handshake and MCP's.
    @Test func installedTableAnswersMCPsMethods() {
        var table = TofuMethods.table(store: PinStore(path: "/nonexistent/never-opened.sqlite"), logger: Logger(label: "test"))
        let before = table.methodNames
        MCPServer.install(in: &table)
        #expect(table.methodNames == before.union([
            "ping", "tools/list", "tools/call", "prompts/list", "prompts/get", "notifications/initialized", "notifications/cancelled",
        ]))
        #expect(table.cancelNotification(for: "notifications/cancelled") == CancelNotification(idParam: "requestId", otherParams: ["reason", "_meta"]))
    }
}
