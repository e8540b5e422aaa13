import JSONRPC
import Posix
import TofuServer

/// MCP (the Model Context Protocol, stdio transport) on tofu-rpc's connection, beside tofu's
/// own methods and LSP's handshake: an agent's `initialize` (its params carry
/// `protocolVersion`), `notifications/initialized`, `ping`, `tools/list`, `tools/call` (one tool
/// per tofu method, see `ToolCatalog`), `prompts/list`, `prompts/get` (`RecoveryPrompt`),
/// `notifications/cancelled` (as `$/cancelRequest`), and `notifications/progress` for a
/// `tools/call` carrying `_meta.progressToken`.
///
/// Served: the handshake-era revisions with structured tool output, 2025-11-25 and 2025-06-18.
/// The stateless 2026-07-28 revision is not: its `server/discover` answers -32601, which tells a
/// client that speaks both (the official SDKs) to use the handshake.
public enum MCPServer {
    /// The MCP revisions served, newest first.
    public static let revisions = ["2025-11-25", "2025-06-18"]

    /// The revision to answer an `initialize` asking for `requested`: that one if it is served,
    /// else the newest (the client then decides whether to go on), as MCP's lifecycle says.
    public static func negotiate(_ requested: String) -> String {
        revisions.contains(requested) ? requested : revisions[0]
    }

    /// Adds MCP to `table`, which holds tofu's methods (and LSP's `initialize`, which answers
    /// every `initialize` that is not an MCP client's): their tools run the handlers `table` has now.
    public static func install(in table: inout MethodTable) {
        let session = Session()
        let methods = table
        // Built at the first tools/list or tools/call: most runs of tofu-rpc (each `tofu` command
        // starts one) never meet an agent, and should not pay for it at start.
        let catalog = Lazy { ToolCatalog(document: ProtocolDocument.value) { methods.handler(for: $0) != nil } }
        let editorInitialize = table.immediateHandler(for: "initialize")

        let initialize: ImmediateHandler = { params in
            let request = try InitializeMethods.Request(params)
            guard let requested = request.protocolVersion else { return try editorInitialize?(params) ?? ["capabilities": [:]] }
            return try session.initialize(requested)
        }
        table.register("initialize", immediate: initialize, otherwise: { params, _ in try initialize(params) ?? .null })
        register(&table, "notifications/initialized") { _ in .null }
        register(&table, "ping") { params in
            _ = try envelope(params)
            return [:]
        }
        register(&table, "tools/list") { params in
            if let cursor = try envelope(params)["cursor"], !cursor.isNull {
                throw ResponseError.invalidParams(field: "cursor", "is not a cursor this server gave: tools/list has one page")
            }
            return catalog.value.listing
        }
        table.register("tools/call") { params, context in
            try await ToolCall(methods: methods, catalog: catalog.value, session: session).run(params, context)
        }
        register(&table, "prompts/list") { params in
            if let cursor = try envelope(params)["cursor"], !cursor.isNull {
                throw ResponseError.invalidParams(field: "cursor", "is not a cursor this server gave: prompts/list has one page")
            }
            return ["prompts": [RecoveryPrompt.listing]]
        }
        register(&table, "prompts/get") { params in
            let members = try envelope(params)
            guard let name = members["name"]?.stringValue else { throw ResponseError.invalidParams(field: "name", "is required: the prompt's name") }
            guard name == RecoveryPrompt.name else {
                throw ResponseError.invalidParams(field: "name", "names no prompt of this server (it has: \(RecoveryPrompt.name))")
            }
            let arguments = members["arguments"] ?? .null
            guard arguments.isNull || arguments.objectValue != nil else {
                throw ResponseError.invalidParams(field: "arguments", "must be an object, got \(arguments.typeName)")
            }
            return try RecoveryPrompt.get(arguments.objectValue ?? [:])
        }
        table.registerCancelNotification("notifications/cancelled", CancelNotification(idParam: "requestId", otherParams: ["reason", "_meta"]))
    }

    /// MCP's own methods, answered on the connection's input thread: they take microseconds.
    private static func register(_ table: inout MethodTable, _ method: String, _ handler: @escaping ImmediateHandler) {
        table.register(method, immediate: handler, otherwise: { params, _ in try handler(params) ?? .null })
    }

    /// The params of an MCP request, which MCP defines as an object its revisions may add
    /// members to (and `_meta` to any): read by name, unknown names ignored.
    static func envelope(_ params: Params) throws(ResponseError) -> [String: JSONValue] {
        switch params.value {
        case nil: return [:]
        case .object(let members)?: return members
        default: throw .invalidParams(field: nil, "params must be an object")
        }
    }

    static let instructions = """
        tofu keeps the pinned TLS certificates (trust on first use) of Cisco DNA Center controllers, as Cisco Prime \
        Infrastructure does. When a controller's certificate changes (a new CSR, a redeploy), every connection to it is \
        refused until its pin is replaced: the outage tofu helps recover from. Look first: listCerts (the pins, PI's \
        lines), verifyCert (what a host presents now, against its pin), certHistory (what changed, when). Changing trust \
        is a person's decision: when verifyCert or addDnacServer reports a mismatch, show the pinned and presented \
        fingerprints to a person, and re-pin (addDnacServer with acceptFingerprint, or deleteCert then addDnacServer) \
        only after they have confirmed the presented fingerprint with the controller's administrator. deleteCert takes \
        expectedFingerprint, the fingerprint you just listed, so a pin you did not look at is never deleted. Tool \
        arguments may be logged by the MCP host: do not ask for a controller's password; use addDnacServer with \
        checkCredentials false and let a person check the credentials with the tofu CLI. The prompt \
        recover-certificate-mismatch walks the recovery step by step.
        """

    /// A value made on first use, once.
    final class Lazy<Value: Sendable>: Sendable {
        private let make: @Sendable () -> Value
        private let made = Locked<Value?>(nil)

        init(_ make: @escaping @Sendable () -> Value) { self.make = make }

        var value: Value {
            made.withLock { made in
                if let made { return made }
                let value = make()
                made = value
                return value
            }
        }
    }

    /// What one connection negotiated.
    final class Session: Sendable {
        private let revision = Locked<String?>(nil)

        /// The answer to an MCP client's `initialize`. Once per connection: a second one would
        /// switch the revision under a session in progress (and with it how argument errors
        /// are reported), so it is refused and changes nothing.
        func initialize(_ requested: String) throws(ResponseError) -> JSONValue {
            let negotiated = negotiate(requested)
            let earlier = revision.withLock { revision -> String? in
                if let revision { return revision }
                revision = negotiated
                return nil
            }
            if let earlier {
                throw .invalidRequest("this MCP session is already initialized (revision \(earlier)); a new session needs a new tofu-rpc")
            }
            var serverInfo = InitializeMethods.serverInfo.objectValue ?? [:]
            serverInfo["title"] = "tofu certificate pin store"
            return [
                "protocolVersion": .string(negotiated),
                "capabilities": ["tools": ["listChanged": false], "prompts": ["listChanged": false]],
                "serverInfo": .object(serverInfo),
                "instructions": .string(instructions),
            ]
        }

        /// Malformed tool arguments are a tool result with `isError` (so the model can correct
        /// them) from 2025-11-25 on, and a -32602 error before. Without `initialize`: the newest.
        var reportsArgumentErrorsAsToolResults: Bool {
            revision.withLock { $0 } != "2025-06-18"
        }
    }
}
