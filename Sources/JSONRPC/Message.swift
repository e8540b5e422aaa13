/// One call read from the wire: a request (it has an `id`) or a notification (it has none).
public struct Call: Sendable, Equatable {
    /// The id, echoed verbatim in the response; nil for a notification. A request may
    /// carry `null` as its id: it is still answered, with `null`.
    public var id: JSONValue?
    public var method: String
    public var params: Params

    public init(id: JSONValue?, method: String, params: Params = Params(nil)) {
        self.id = id
        self.method = method
        self.params = params
    }
}

/// What one JSON value from the wire turned out to be.
enum IncomingMessage: Sendable, Equatable {
    case call(Call)
    /// A response object (`result` or `error`, no `method`): tofu never sends requests, so
    /// it is logged and ignored; answering it could make two peers loop.
    case response
    /// Not a valid Request object; answered with this error and `id` (null when the id
    /// itself could not be read).
    case invalid(ResponseError, id: JSONValue)

    init(_ value: JSONValue) {
        guard case .object(let members) = value else {
            self = .invalid(.invalidRequest("expected a Request object, got \(value.typeName)"), id: .null)
            return
        }
        let id = members["id"]
        let echoedID: JSONValue
        switch id {
        case nil, .null?: echoedID = .null
        case .string?, .int?, .double?: echoedID = id ?? .null
        case let other?:
            self = .invalid(.invalidRequest("'id' must be a string, a number or null, got \(other.typeName)"), id: .null)
            return
        }
        guard members["jsonrpc"] == .string("2.0") else {
            self = .invalid(.invalidRequest("'jsonrpc' must be exactly \"2.0\""), id: echoedID)
            return
        }
        guard let methodValue = members["method"] else {
            if members["result"] != nil || members["error"] != nil {
                self = .response
            } else {
                self = .invalid(.invalidRequest("'method' is missing"), id: echoedID)
            }
            return
        }
        guard case .string(let method) = methodValue else {
            self = .invalid(.invalidRequest("'method' must be a string, got \(methodValue.typeName)"), id: echoedID)
            return
        }
        var params = members["params"]
        switch params {
        case nil, .array?, .object?: break
        // `params: null` is absent params: pygls sends it for every call without arguments.
        case .null?: params = nil
        case let other?:
            self = .invalid(.invalidRequest("'params' must be an object or an array, got \(other.typeName)"), id: echoedID)
            return
        }
        self = .call(Call(id: id, method: method, params: Params(params)))
    }
}

/// The JSON of outgoing messages.
enum OutgoingMessage {
    static func response(id: JSONValue, result: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id, "result": result])
    }

    static func response(id: JSONValue, error: ResponseError) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id, "error": error.json])
    }

    static func notification(method: String, params: JSONValue?) -> JSONValue {
        var object: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { object["params"] = params }
        return .object(object)
    }
}
