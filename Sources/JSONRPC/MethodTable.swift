import Posix

/// What a handler knows about the call it is answering.
public struct RequestContext: Sendable {
    /// The request's id; nil when the call is a notification.
    public let id: JSONValue?
    public let method: String
    /// The framing the call came in; notifications sent for it go out the same way.
    public let framing: Framing
    let write: @Sendable (JSONValue, Framing) -> Void
    let committed = CommittedFlag()

    /// Says that this call has done something it cannot undo (e.g. written to a store or sent
    /// data to a third party): from now on its own answer, result or error, is sent even if the
    /// call is cancelled, instead of -32800, so the peer learns what happened. Thread-safe.
    public func answerEvenIfCancelled() {
        committed.set()
    }

    /// Sends a notification to the peer (e.g. `$/progress`) in this call's framing. Any thread.
    public func notify(_ method: String, params: JSONValue?) {
        write(OutgoingMessage.notification(method: method, params: params), framing)
    }
}

/// Set once a call may no longer be answered with a bare -32800 (see
/// `RequestContext.answerEvenIfCancelled`).
final class CommittedFlag: Sendable {
    private let value = Locked(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Answers one method, in a task of its own on the cooperative pool (it must not block: blocking
/// work belongs on a thread of its own). It returns the result, or throws a `ResponseError`;
/// any other error becomes -32603 and a cancelled task's answer becomes -32800.
public typealias MethodHandler = @Sendable (Params, RequestContext) async throws -> JSONValue

/// Answers a call at once, on the connection's input thread, without a task: for answers
/// that take microseconds (e.g. one indexed read), where handing the call to a task and back
/// would cost many times the work itself. It returns nil to pass the call to the method's
/// `MethodHandler` instead (e.g. one that asks for a long listing). It must never wait on the
/// network or on a lock held for long: while it runs, nothing else is read.
public typealias ImmediateHandler = @Sendable (Params) throws -> JSONValue?

/// The methods a server answers, by name.
public struct MethodTable: Sendable {
    private var handlers: [String: MethodHandler] = [:]
    private var immediateHandlers: [String: ImmediateHandler] = [:]

    public init() {}

    /// Adds `handler` for `method`, replacing any earlier one.
    public mutating func register(_ method: String, _ handler: @escaping MethodHandler) {
        handlers[method] = handler
    }

    /// Adds `handler` for `method`, tried first for every call of it, with `fallback` for
    /// the calls it passes on (returns nil for).
    public mutating func register(_ method: String, immediate handler: @escaping ImmediateHandler, otherwise fallback: @escaping MethodHandler) {
        handlers[method] = fallback
        immediateHandlers[method] = handler
    }

    public func handler(for method: String) -> MethodHandler? { handlers[method] }

    public func immediateHandler(for method: String) -> ImmediateHandler? { immediateHandlers[method] }

    /// Every method with a handler, plus the lifecycle methods every `Connection` answers itself.
    public var methodNames: Set<String> { Set(handlers.keys).union(Connection.builtInMethods) }
}
