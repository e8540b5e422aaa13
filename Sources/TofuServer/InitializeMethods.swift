import JSONRPC

/// `initialize` and `initialized`, which editor clients (vscode-languageclient, pygls, Neovim's
/// and Emacs's LSP clients) send before anything else. tofu needs no handshake: its methods
/// answer with or without one; the answer says who answers, `{capabilities: {}, serverInfo}`.
/// A protocol layered on top (MCP) answers the `initialize` meant for it and passes the rest here.
public enum InitializeMethods {
    /// The methods answered here.
    public static let names: Set<String> = ["initialize", "initialized"]

    /// Who answers: `{name: "tofu-rpc", version}`, the version of protocol/openrpc.json.
    public static let serverInfo: JSONValue = [
        "name": "tofu-rpc", "version": ProtocolDocument.value["info"]?["version"] ?? "unknown",
    ]

    /// The params of an `initialize`, checked where they are read. Both LSP and MCP define many
    /// more and add new ones: unlike tofu's own methods, `initialize` accepts any name, and
    /// checks the type of the ones protocol/openrpc.json lists.
    public struct Request: Sendable {
        /// MCP's `protocolVersion`: present only in an MCP client's `initialize`.
        public let protocolVersion: String?

        public static let maxVersionLength = 100

        public init(_ params: Params) throws(ResponseError) {
            let members: [String: JSONValue]
            switch params.value {
            case nil: members = [:]
            case .object(let object)?: members = object
            default: throw .invalidParams(field: nil, "params must be given by name (an object)")
            }
            if let version = members["protocolVersion"], !version.isNull {
                guard let text = version.stringValue, !text.isEmpty, text.utf8.count <= Self.maxVersionLength else {
                    throw .invalidParams(
                        field: "protocolVersion", "must be a protocol revision such as \"2025-11-25\" (a string of 1 to \(Self.maxVersionLength) bytes)")
                }
                protocolVersion = text
            } else {
                protocolVersion = nil
            }
            for field in ["capabilities", "clientInfo"] {
                if let value = members[field], !value.isNull, value.objectValue == nil {
                    throw .invalidParams(field: field, "must be an object, got \(value.typeName)")
                }
            }
            if let processId = members["processId"], !processId.isNull, Int(param: processId) == nil {
                throw .invalidParams(field: "processId", "must be an integer or null, got \(processId.typeName)")
            }
        }
    }

    static func register(in table: inout MethodTable) {
        table.register("initialize", immediate: { params in try answer(params) }, otherwise: { params, _ in try answer(params) })
        // A notification (LSP sends `{}`); sent as a request, it is answered null.
        table.register("initialized", immediate: { params in try initialized(params) }, otherwise: { params, _ in try initialized(params) })
    }

    private static func answer(_ params: Params) throws -> JSONValue {
        _ = try Request(params)
        return ["capabilities": [:], "serverInfo": serverInfo]
    }

    private static func initialized(_ params: Params) throws -> JSONValue {
        _ = try params.named(allowing: [])
        return .null
    }
}
