/// What a handler knows about the call it is answering.
public struct RequestContext: Sendable {
    /// The request's id; nil when the call is a notification.
    public let id: JSONValue?
    public let method: String
    /// The framing the call came in; notifications sent for it go out the same way.
    public let framing: Framing
    let send: @Sendable (JSONValue, Framing) -> Void

    /// Sends a notification to the peer (e.g. `$/progress`) in this call's framing.
    public func notify(_ method: String, params: JSONValue?) {
        send(OutgoingMessage.notification(method: method, params: params), framing)
    }
}

/// Answers one method. It returns the result, or throws a `ResponseError`; any other error
/// becomes -32603 and a cancelled task's answer becomes -32800.
public typealias MethodHandler = @Sendable (Params, RequestContext) async throws -> JSONValue

/// The methods a server answers, by name.
public struct MethodTable: Sendable {
    private var handlers: [String: MethodHandler] = [:]

    public init() {}

    /// Adds `handler` for `method`, replacing any earlier one.
    public mutating func register(_ method: String, _ handler: @escaping MethodHandler) {
        handlers[method] = handler
    }

    public func handler(for method: String) -> MethodHandler? { handlers[method] }

    /// Every method with a handler, plus the lifecycle methods every `Connection` answers itself.
    public var methodNames: Set<String> { Set(handlers.keys).union(Connection.builtInMethods) }
}
