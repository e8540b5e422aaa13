import JSONRPC
import TofuCore
import TofuServer

/// One `tools/call`: runs the tool's method with the call's arguments as its params, and
/// answers as MCP's tool results do.
///
/// - The result: `structuredContent` is the method's result (valid against the output schema),
///   `content` one text block a person reads (`ToolText`).
/// - tofu's typed errors (-32001…-32006) are results too, with `isError: true`, the message and
///   remedy as text, and `structuredContent` `{code, message, data}`: the model reads them and
///   acts. So are malformed arguments (-32602) from MCP 2025-11-25 on; 2025-06-18 made those a
///   JSON-RPC error. A call that is itself malformed (no tool name, an unknown tool, arguments
///   that are not an object) is a JSON-RPC error, -32602, as are a cancelled call (-32800) and
///   an internal error (-32603).
/// - Progress: a call with `_meta.progressToken` to a method that reports progress for a run
///   over every pin (`verifyCert {all: true}`) gets `notifications/progress {progressToken,
///   progress, total, message}` after each host.
/// - The arguments are never logged nor echoed; errors name an argument, never its value.
struct ToolCall: Sendable {
    let methods: MethodTable
    let catalog: ToolCatalog
    let session: MCPServer.Session

    func run(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let envelope = try MCPServer.envelope(params)
        guard let nameValue = envelope["name"], !nameValue.isNull else { throw ResponseError.invalidParams(field: "name", "is required: the tool to call") }
        guard let name = nameValue.stringValue else { throw ResponseError.invalidParams(field: "name", "must be a string, got \(nameValue.typeName)") }
        guard let tool = catalog.tool(named: name), let handler = methods.handler(for: name) else {
            throw ResponseError(
                code: .invalidParams, kind: "unknownTool", message: "Unknown tool: \(ResponseError.clipped(name)) (tools/list lists them)",
                details: ["field": "name", "tool": .string(ResponseError.clipped(name))])
        }
        var arguments: [String: JSONValue]
        switch envelope["arguments"] {
        case nil, .null?: arguments = [:]
        case .object(let members)?: arguments = members
        case let other?: throw ResponseError.invalidParams(field: "arguments", "must be an object, got \(other.typeName)")
        }
        let progressToken = try Self.progressToken(envelope["_meta"])

        do {
            if tool.takesProgressToken {
                if arguments["progressToken"] != nil {
                    throw ResponseError.invalidParams(field: "progressToken", "is not an argument of this tool: MCP carries it as _meta.progressToken")
                }
                // tofu reports progress for runs over every pin; a single host has none to report.
                if let progressToken, arguments["all"] == .bool(true) { arguments["progressToken"] = progressToken }
            }
            let delegate = context.delegating(to: name) { method, params in
                guard method == "$/progress", let progressToken, params?["token"] == progressToken, let value = params?["value"] else { return nil }
                var progress: [String: JSONValue] = ["progressToken": progressToken, "progress": value["done"] ?? 0]
                if let total = value["total"] { progress["total"] = total }
                if let host = value["host"]?.stringValue, let status = value["status"]?.stringValue { progress["message"] = .string("\(host): \(status)") }
                return ("notifications/progress", .object(progress))
            }
            let result = try await handler(Params(.object(arguments)), delegate)
            return [
                "content": [["type": "text", "text": .string(ToolText.result(of: name, result))]],
                "structuredContent": tool.wrapsResult ? ["result": result] : result,
                "isError": false,
            ]
        } catch let error as ResponseError {
            let typed = TofuErrorCode(rawValue: error.code.rawValue) != nil
            guard typed || (error.code == .invalidParams && session.reportsArgumentErrorsAsToolResults) else { throw error }
            return [
                "content": [["type": "text", "text": .string(ToolText.failure(error))]],
                "structuredContent": ["code": .int(Int64(error.code.rawValue)), "message": .string(error.message), "data": error.data ?? .null],
                "isError": true,
            ]
        }
    }

    /// `_meta.progressToken`: a string or an integer, as MCP defines it.
    private static func progressToken(_ meta: JSONValue?) throws(ResponseError) -> JSONValue? {
        guard let meta, !meta.isNull else { return nil }
        guard meta.objectValue != nil else { throw .invalidParams(field: "_meta", "must be an object, got \(meta.typeName)") }
        guard let token = meta["progressToken"], !token.isNull else { return nil }
        guard token.stringValue != nil || token.intValue != nil else {
            throw .invalidParams(field: "progressToken", "must be a string or an integer, got \(token.typeName)")
        }
        // Repeated in every notification: bounded as tofu's own progressToken is.
        if let text = token.stringValue, text.utf8.count > ProgressToken.maxBytes {
            throw .invalidParams(field: "progressToken", "must be a string of at most \(ProgressToken.maxBytes) bytes, or an integer")
        }
        return token
    }
}
