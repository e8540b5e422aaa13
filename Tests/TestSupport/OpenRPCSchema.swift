import Foundation

/// protocol/openrpc.json, and a checker of answers against it: every test that reads an
/// answer can ask whether the document describes it.
public struct OpenRPCDocument: @unchecked Sendable {
    public let document: [String: Any]
    public let text: String

    /// The repository's document.
    public static let repository: OpenRPCDocument = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = (try? String(contentsOf: root.appendingPathComponent("protocol/openrpc.json"), encoding: .utf8)) ?? "{}"
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return OpenRPCDocument(document: object, text: text)
    }()

    public var methods: [[String: Any]] { document["methods"] as? [[String: Any]] ?? [] }

    public func method(_ name: String) -> [String: Any]? { methods.first { $0["name"] as? String == name } }

    /// What is wrong with `answer` as an answer to `method` (empty when it conforms): a
    /// result must match the method's result schema; an error's code must be a standard one
    /// or one the method lists, with `data.kind` set.
    public func problems(answering method: String, _ answer: Received) -> [String] {
        guard let description = self.method(method) else { return ["\(method) is not in openrpc.json"] }
        if let error = answer.object["error"] as? [String: Any] {
            guard let code = error["code"] as? Int else { return ["error without a code"] }
            var problems: [String] = []
            let standard: Set<Int> = [-32700, -32600, -32601, -32602, -32603, -32800]
            let listed = (description["errors"] as? [[String: Any]] ?? []).compactMap { reference -> Int? in
                guard let path = reference["$ref"] as? String else { return reference["code"] as? Int }
                return (resolve(path) as? [String: Any])?["code"] as? Int
            }
            if !standard.contains(code) && !listed.contains(code) { problems.append("\(method) answered error \(code), which it does not list") }
            if ((error["data"] as? [String: Any])?["kind"] as? String) == nil { problems.append("error \(code) has no data.kind") }
            return problems
        }
        guard let result = answer.object["result"] else { return ["neither result nor error: \(answer)"] }
        guard let schema = (description["result"] as? [String: Any])?["schema"] else { return ["\(method) has no result schema"] }
        return validate(result, against: schema, at: "result")
    }

    func resolve(_ reference: String) -> Any? {
        var node: Any? = document
        for part in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
        return node
    }

    /// A JSON Schema subset: $ref, type (one or a list), enum, required, properties,
    /// additionalProperties false, items, oneOf, pattern, minimum, maximum, maxLength.
    public func validate(_ value: Any, against schemaNode: Any, at path: String) -> [String] {
        guard var schema = schemaNode as? [String: Any] else { return [] }
        if let reference = schema["$ref"] as? String {
            guard let resolved = resolve(reference) as? [String: Any] else { return ["\(path): unresolved \(reference)"] }
            schema = resolved
        }
        var problems: [String] = []
        if let alternatives = schema["oneOf"] as? [Any] {
            let matching = alternatives.filter { validate(value, against: $0, at: path).isEmpty }.count
            if matching != 1 { problems.append("\(path): matches \(matching) of oneOf") }
        }
        let types: [String] = (schema["type"] as? String).map { [$0] } ?? (schema["type"] as? [String] ?? [])
        if !types.isEmpty && !types.contains(where: { Self.isType(value, $0) }) {
            return problems + ["\(path): \(Self.typeName(value)) is not \(types.joined(separator: "|"))"]
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) is not one of \(allowed)")
        }
        if let string = value as? String {
            if let pattern = schema["pattern"] as? String, string.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(path): '\(string)' does not match \(pattern)")
            }
            if let maxLength = schema["maxLength"] as? Int, string.count > maxLength { problems.append("\(path): longer than \(maxLength)") }
        }
        if let number = value as? NSNumber, Self.typeName(value) != "boolean" {
            if let minimum = schema["minimum"] as? Double, number.doubleValue < minimum { problems.append("\(path): below \(minimum)") }
            if let maximum = schema["maximum"] as? Double, number.doubleValue > maximum { problems.append("\(path): above \(maximum)") }
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): missing '\(key)'")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, member) in object {
                if let property = properties[key] {
                    problems += validate(member, against: property, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): unexpected '\(key)'")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] {
            for (index, element) in array.enumerated() { problems += validate(element, against: items, at: "\(path)[\(index)]") }
        }
        return problems
    }

    static func isType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "boolean": return typeName(value) == "boolean"
        case "integer": return typeName(value) == "integer"
        case "number": return typeName(value) == "integer" || typeName(value) == "number"
        case "string": return value is String
        case "array": return value is [Any]
        case "object": return value is [String: Any]
        default: return false
        }
    }

    static func typeName(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if value is String { return "string" }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        if let number = value as? NSNumber {
            switch String(cString: number.objCType) {
            case "c": return "boolean"
            case "d", "f": return "number"
            default: return "integer"
            }
        }
        return "unknown"
    }
}
