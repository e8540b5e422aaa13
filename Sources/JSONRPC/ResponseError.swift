/// An error answer: what a handler throws to make the response an error object.
///
/// `data` always carries a stable `kind` string, so clients branch on `kind` (or `code`),
/// never on the wording of `message`, which is written for people.
public struct ResponseError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public var data: JSONValue?

    public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// Builds an error whose `data` is `{kind, …details}`.
    public init(code: ErrorCode, kind: String, message: String, details: [String: JSONValue] = [:]) {
        var data = details
        data["kind"] = .string(kind)
        self.init(code: code, message: message, data: .object(data))
    }

    /// The error object as it appears in a response.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}

extension ResponseError {
    public static func parseError(_ reason: String, line: Int, column: Int, position: Int) -> ResponseError {
        ResponseError(
            code: .parseError, kind: "parseError",
            message: "Parse error: \(reason) (line \(line), column \(column))",
            details: [
                "reason": .string(reason), "line": .int(Int64(line)), "column": .int(Int64(column)),
                "position": .int(Int64(position)),
            ])
    }

    public static func invalidRequest(_ reason: String) -> ResponseError {
        ResponseError(
            code: .invalidRequest, kind: "invalidRequest", message: "Invalid Request: \(reason)",
            details: ["reason": .string(reason)])
    }

    /// A configured limit was passed (`limit` names it: messageBytes, depth, batchEntries).
    public static func limitExceeded(_ limit: String, max: Int, reason: String) -> ResponseError {
        ResponseError(
            code: .invalidRequest, kind: "limitExceeded", message: "Invalid Request: \(reason)",
            details: ["limit": .string(limit), "max": .int(Int64(max))])
    }

    public static func methodNotFound(_ method: String) -> ResponseError {
        let shown = clipped(method)
        return ResponseError(
            code: .methodNotFound, kind: "methodNotFound", message: "Method not found: \(shown)",
            details: ["method": .string(shown)])
    }

    /// A peer's text as it is echoed in an error: at most 200 code points, never the megabytes
    /// a peer may send. Code points, not characters: one character may hold any number of them
    /// (a letter and its combining marks), and counting characters reads the whole text.
    public static func clipped(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let end = scalars.index(scalars.startIndex, offsetBy: 200, limitedBy: scalars.endIndex), end != scalars.endIndex else { return text }
        return String(scalars[..<end]) + "…"
    }

    /// Invalid params, naming the offending field (`field` is nil when params as a whole are wrong).
    public static func invalidParams(field: String?, _ reason: String) -> ResponseError {
        var details: [String: JSONValue] = ["reason": .string(reason)]
        let field = field.map(clipped)
        if let field { details["field"] = .string(field) }
        let subject = field.map { "'\($0)' " } ?? ""
        return ResponseError(
            code: .invalidParams, kind: "invalidParams", message: "Invalid params: \(subject)\(reason)",
            details: details)
    }

    public static func internalError(_ reason: String) -> ResponseError {
        ResponseError(code: .internalError, kind: "internal", message: "Internal error: \(reason)")
    }

    public static let cancelled = ResponseError(
        code: .requestCancelled, kind: "cancelled", message: "Request cancelled")
}
