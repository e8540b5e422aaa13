import JSONRPC
import TofuServer

/// One MCP tool: one of tofu's methods, as `tools/list` shows it and `tools/call` runs it.
struct Tool: Sendable {
    /// The method's name, which is the tool's.
    let name: String
    /// The tool as `tools/list` lists it: name, title, description, inputSchema, outputSchema, annotations.
    let definition: JSONValue
    /// The method's result is not an object, and `structuredContent` must be one: it is given
    /// as `{result: …}`, as the output schema says.
    let wrapsResult: Bool
    /// The method reports progress with a `progressToken` param, which MCP carries in
    /// `_meta.progressToken` instead: the param is left out of the input schema.
    let takesProgressToken: Bool
}

/// tofu's methods as MCP tools, derived from protocol/openrpc.json when the server starts, so a
/// method the document gains is a tool without an edit here, and no schema is written twice.
///
/// Every documented method is a tool but the protocol's own machinery: the lifecycle methods
/// (the connection's built-ins, `initialize`, `initialized`), notifications, and JSON-RPC's
/// `rpc.` methods. Each param becomes a property of the input schema (its description with it;
/// `additionalProperties: false`, as tofu refuses unknown names); the result schema is the
/// output schema. `#/components/schemas/…` references become `#/$defs/…`, with the schemas they
/// reach copied into the tool's own `$defs`: every schema stands alone (JSON Schema 2020-12,
/// MCP's default dialect), as MCP clients resolve references within the schema only.
struct ToolCatalog: Sendable {
    /// The tools, in the document's order.
    let tools: [Tool]
    /// The `tools/list` result.
    let listing: JSONValue

    static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// Methods that are protocol machinery, not tofu's work.
    static func isTool(_ method: JSONValue) -> Bool {
        guard let name = method["name"]?.stringValue else { return false }
        if Connection.builtInMethods.contains(name) || InitializeMethods.names.contains(name) || name.hasPrefix("rpc.") { return false }
        return method["x-notification"] != .bool(true)
    }

    /// The tools of `document` whose method `available` says the server answers.
    init(document: JSONValue, available: (String) -> Bool) {
        let components = document["components"]?["schemas"]?.objectValue ?? [:]
        var tools: [Tool] = []
        for method in document["methods"]?.arrayValue ?? [] where Self.isTool(method) {
            guard let name = method["name"]?.stringValue, available(name) else { continue }
            tools.append(Self.tool(method, name: name, components: components))
        }
        self.tools = tools
        listing = ["tools": .array(tools.map(\.definition))]
    }

    func tool(named name: String) -> Tool? { tools.first { $0.name == name } }

    private static func tool(_ method: JSONValue, name: String, components: [String: JSONValue]) -> Tool {
        var properties: [String: JSONValue] = [:]
        var required: [JSONValue] = []
        var takesProgressToken = false
        for param in method["params"]?.arrayValue ?? [] {
            guard let paramName = param["name"]?.stringValue else { continue }
            if paramName == "progressToken" {
                takesProgressToken = true
                continue
            }
            var schema = param["schema"]?.objectValue ?? [:]
            if schema["description"] == nil, let description = param["description"] { schema["description"] = description }
            properties[paramName] = .object(schema)
            if param["required"] == .bool(true) { required.append(.string(paramName)) }
        }
        var input: [String: JSONValue] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { input["required"] = .array(required) }

        let derived = outputSchema(method["result"]?["schema"] ?? [:], components: components)
        var output = derived.schema
        output["$schema"] = .string(dialect)
        input["$schema"] = .string(dialect)
        let inputValue = standalone(.object(input), components: components)
        let outputValue = standalone(.object(output), components: components)

        let guidance = ToolGuidance.forMethod[name]
        let documented = [method["summary"]?.stringValue, method["description"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        var definition: [String: JSONValue] = [
            "name": .string(name),
            "description": .string([guidance?.advice, documented].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n\n")),
            "inputSchema": inputValue,
            "outputSchema": outputValue,
        ]
        if let guidance {
            definition["title"] = .string(guidance.title)
            definition["annotations"] = guidance.annotations
        }
        return Tool(name: name, definition: .object(definition), wrapsResult: derived.wrapsResult, takesProgressToken: takesProgressToken)
    }

    /// A result schema as an output schema, which MCP requires to describe an object: as it is
    /// when it does (a `oneOf` of objects gains `type: object`), else wrapped as `{result}`.
    private static func outputSchema(_ schema: JSONValue, components: [String: JSONValue]) -> (schema: [String: JSONValue], wrapsResult: Bool) {
        var object = schema.objectValue ?? [:]
        if describesObject(schema, components: components) {
            if object["type"] == nil { object["type"] = "object" }
            return (object, false)
        }
        return (["type": "object", "required": ["result"], "additionalProperties": false, "properties": ["result": schema]], true)
    }

    /// Whether every value `schema` accepts is an object.
    private static func describesObject(_ schema: JSONValue, components: [String: JSONValue], depth: Int = 0) -> Bool {
        guard depth < 16 else { return false }
        if let reference = schema["$ref"]?.stringValue {
            guard let target = component(reference, in: components) else { return false }
            return describesObject(target, components: components, depth: depth + 1)
        }
        if schema["type"] == "object" { return true }
        for keyword in ["oneOf", "anyOf"] {
            if let alternatives = schema[keyword]?.arrayValue, !alternatives.isEmpty {
                return alternatives.allSatisfy { describesObject($0, components: components, depth: depth + 1) }
            }
        }
        return false
    }

    private static let componentPrefix = "#/components/schemas/"

    private static func component(_ reference: String, in components: [String: JSONValue]) -> JSONValue? {
        guard reference.hasPrefix(componentPrefix) else { return nil }
        return components[String(reference.dropFirst(componentPrefix.count))]
    }

    /// `schema` with its component references pointed at its own `$defs`, which holds every
    /// component it reaches.
    private static func standalone(_ schema: JSONValue, components: [String: JSONValue]) -> JSONValue {
        var reached: [String: JSONValue] = [:]
        var pending = referencedComponents(schema)
        while let name = pending.popLast() {
            guard reached[name] == nil, let component = components[name] else { continue }
            reached[name] = repointed(component)
            pending += referencedComponents(component)
        }
        guard var object = repointed(schema).objectValue else { return schema }
        if !reached.isEmpty { object["$defs"] = .object(reached) }
        return .object(object)
    }

    private static func referencedComponents(_ value: JSONValue) -> [String] {
        switch value {
        case .object(let members):
            var names: [String] = []
            for (key, member) in members {
                if key == "$ref", let reference = member.stringValue, reference.hasPrefix(componentPrefix) {
                    names.append(String(reference.dropFirst(componentPrefix.count)))
                } else {
                    names += referencedComponents(member)
                }
            }
            return names
        case .array(let elements):
            return elements.flatMap(referencedComponents)
        default:
            return []
        }
    }

    private static func repointed(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var copy: [String: JSONValue] = [:]
            for (key, member) in members {
                if key == "$ref", let reference = member.stringValue, reference.hasPrefix(componentPrefix) {
                    copy[key] = .string("#/$defs/" + reference.dropFirst(componentPrefix.count))
                } else {
                    copy[key] = repointed(member)
                }
            }
            return .object(copy)
        case .array(let elements):
            return .array(elements.map(repointed))
        default:
            return value
        }
    }
}
