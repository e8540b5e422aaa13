import Posix

/// What a handler knows about the call it is answering.
public struct RequestContext: Sendable {
    /// The request's id; nil when the call is a notification.
    public let id: JSONValue?
    public let method: String
    /// The framing the call came in; notifications sent for it go out the same way.
    public let framing: Framing
    let write: @Sendable (JSONValue, Framing) -> Void
    let committed: CommittedFlag

    init(id: JSONValue?, method: String, framing: Framing, committed: CommittedFlag = CommittedFlag(), write: @escaping @Sendable (JSONValue, Framing) -> Void) {
        self.id = id
        self.method = method
        self.framing = framing
        self.committed = committed
        self.write = write
    }

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

    /// This call's context for a handler it hands its work to (e.g. a protocol layered on top
    /// that runs another method for the call): the same id, framing and commitment (the
    /// delegate's `answerEvenIfCancelled` is this call's), with the delegate's `method`, and
    /// its notifications passed through `translate`, which may rename, reshape or (nil) drop them.
    public func delegating(
        to method: String, translate: @escaping @Sendable (_ method: String, _ params: JSONValue?) -> (method: String, params: JSONValue?)?
    ) -> RequestContext {
        let original = self
        return RequestContext(id: id, method: method, framing: framing, committed: committed) { message, _ in
            // Notifications are the only messages a handler writes through its context.
            guard case .string(let name)? = message["method"], let translated = translate(name, message["params"]) else { return }
            original.notify(translated.method, params: translated.params)
        }
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

/// Answers a call on a `SerialLane`'s thread, synchronously: for quick work that blocks (a store
/// write synced to disk), which must not run on the cooperative pool nor on the input thread
/// (reads behind it would wait for the disk). The input thread hands the call to the lane, which
/// runs it and writes its answer itself when the output is idle: one thread hop. It returns the
/// result, or throws a `ResponseError`; any other error becomes -32603. A call cancelled before
/// it starts answers -32800 and never runs; once it runs, it runs to its end, and is answered
/// -32800 unless it called `answerEvenIfCancelled`. It must not wait on a peer (a TLS host, a
/// client): the calls behind it on the lane wait for it.
public typealias BlockingHandler = @Sendable (Params, RequestContext) throws -> JSONValue

/// An `ImmediateHandler` whose result is built straight in jansson, and written as text from
/// there: for the hottest answers, which would spend more making, walking and freeing their
/// `JSONValue` than jansson spends on the text.
public typealias DirectHandler = @Sendable (Params) throws -> JanssonObject?

/// What a `LaneHandler` returns: its result as a `JSONValue`, or built straight in jansson (for
/// the hottest answers, as a `DirectHandler`'s: a store write's, a point read over the network).
public enum LaneResult: ~Copyable {
    case value(JSONValue)
    case direct(JanssonObject)

    /// The result as a `JSONValue`, for the callers that want one (a batch's entry, a task).
    consuming func json() -> JSONValue {
        switch consume self {
        case .value(let value): value
        case .direct(let object): object.value()
        }
    }
}

/// A `BlockingHandler` whose result may be built in jansson (`LaneResult.direct`).
public typealias LaneResultHandler = @Sendable (Params, RequestContext) throws -> LaneResult

/// A method's handler on the input thread, of either kind.
enum Immediate: Sendable {
    case value(ImmediateHandler)
    case direct(DirectHandler)
}

/// The methods a server answers, by name.
public struct MethodTable: Sendable {
    private var handlers: [String: MethodHandler] = [:]
    private var immediateHandlers: [String: Immediate] = [:]
    private var laneHandlers: [String: LaneHandler] = [:]
    private var cancelNotifications: [String: CancelNotification] = [:]

    /// Runs on the input thread each time it has answered what one read of input held and is
    /// about to wait (for more input, for the peer to read its answers, for room in the queue),
    /// and when the input ends: what the immediate and direct handlers share across the calls
    /// of one read (one database snapshot for a pipelined client's lookups) is let go here, so
    /// it is never held while the connection waits, nor seen by a call read after it.
    public var inputPause: (@Sendable () -> Void)?

    public init() {}

    /// Adds `handler` for `method`, replacing any earlier one.
    public mutating func register(_ method: String, _ handler: @escaping MethodHandler) {
        handlers[method] = handler
        immediateHandlers[method] = nil
        laneHandlers[method] = nil
    }

    /// Adds `handler` for `method`, tried first for every call of it, with `fallback` for
    /// the calls it passes on (returns nil for).
    public mutating func register(_ method: String, immediate handler: @escaping ImmediateHandler, otherwise fallback: @escaping MethodHandler) {
        handlers[method] = fallback
        immediateHandlers[method] = .value(handler)
        laneHandlers[method] = nil
    }

    /// As `register(_:immediate:otherwise:)`, with a handler that builds its result in jansson.
    public mutating func register(_ method: String, direct handler: @escaping DirectHandler, otherwise fallback: @escaping MethodHandler) {
        handlers[method] = fallback
        immediateHandlers[method] = .direct(handler)
        laneHandlers[method] = nil
    }

    /// Adds `handler` for `method`, run on `lane`'s thread (see `BlockingHandler`). Its
    /// `handler(for:)` is a `MethodHandler` that runs it there too, for the calls that come as
    /// tasks (a batch's entries, a call another protocol delegates).
    public mutating func register(_ method: String, on lane: SerialLane, blocking handler: @escaping BlockingHandler) {
        register(method, on: lane, result: { params, context in .value(try handler(params, context)) })
    }

    /// As `register(_:on:blocking:)`, with a handler whose result may be built in jansson.
    public mutating func register(_ method: String, on lane: SerialLane, result handler: @escaping LaneResultHandler) {
        laneHandlers[method] = LaneHandler(lane: lane, run: handler)
        immediateHandlers[method] = nil
        handlers[method] = { params, context in try await lane.perform { try handler(params, context).json() } }
    }

    public func handler(for method: String) -> MethodHandler? { handlers[method] }

    /// The lane and handler of a method registered with a `BlockingHandler`.
    func laneHandler(for method: String) -> LaneHandler? { laneHandlers[method] }

    /// The method's handler on the input thread; a `DirectHandler`'s result made a `JSONValue`.
    public func immediateHandler(for method: String) -> ImmediateHandler? {
        switch immediateHandlers[method] {
        case .value(let handler)?: return handler
        case .direct(let handler)?: return { params in try handler(params)?.value() }
        case nil: return nil
        }
    }

    func immediate(for method: String) -> Immediate? { immediateHandlers[method] }

    /// Makes `method` a notification that cancels a call in flight, as LSP's `$/cancelRequest`
    /// does, for a protocol that spells cancelling otherwise: the connection handles it on its
    /// input thread, in order, with the same effect (see `CancelNotification`).
    public mutating func registerCancelNotification(_ method: String, _ notification: CancelNotification) {
        cancelNotifications[method] = notification
    }

    /// The cancel notification registered as `method`, if any.
    public func cancelNotification(for method: String) -> CancelNotification? { cancelNotifications[method] }

    /// Every method with a handler, every cancel notification, plus the lifecycle methods every
    /// `Connection` answers itself.
    public var methodNames: Set<String> {
        Set(handlers.keys).union(cancelNotifications.keys).union(Connection.builtInMethods)
    }
}

/// A lane's handler and the lane it runs on.
struct LaneHandler: Sendable {
    let lane: SerialLane
    let run: LaneResultHandler
}

/// How a cancel notification names the call it cancels: the param holding the call's id, and
/// the other params it may carry (accepted, and ignored), by name.
public struct CancelNotification: Sendable, Equatable {
    public var idParam: String
    public var otherParams: Set<String>

    public init(idParam: String, otherParams: Set<String> = []) {
        self.idParam = idParam
        self.otherParams = otherParams
    }

    /// LSP's `$/cancelRequest {id}`, which every connection answers.
    public static let lsp = CancelNotification(idParam: "id")
}
