import Logging

/// Running a call's handler, on the input thread (`ImmediateHandler`), on a lane
/// (`BlockingHandler`) or as a task (`MethodHandler`), and turning what it returned or threw
/// into the call's answer.
extension Connection {
    /// The answer of the method's `ImmediateHandler`, run here without a task; nil if the
    /// method has none or the handler passes the call on. A `DirectHandler`'s result is held
    /// as text here, in `framing` (`.noAnswer` returned). For single calls only: a batch's
    /// entries run as tasks. Input thread (its callers check).
    func immediate(_ call: Call, _ framing: Framing) -> Outcome? {
        guard let handler = methods.immediate(for: call.method) else { return nil }
        let outcome: Result<JSONValue, ResponseError>
        do {
            switch handler {
            case .value(let handler):
                guard let result = try handler(call.params) else { return nil }
                outcome = .success(result)
            case .direct(let handler):
                guard let result = try handler(call.params) else { return nil }
                if let id = call.id { writer.hold(framing.frame(JSONCodec.response(id: id, result: result))) }
                return .noAnswer
            }
        } catch {
            outcome = .failure(responseError(from: error, in: call))
        }
        return response(to: call, outcome).map(Outcome.answer) ?? .noAnswer
    }

    /// A call of a `BlockingHandler`, to admit as any call is: when its turn comes it is handed
    /// to its lane, which runs it and writes its answer. Cancelled before the lane starts it (a
    /// `$/cancelRequest`, `exit`), it answers -32800 and never runs. Input thread.
    func onLane(_ call: Call, _ handler: LaneHandler, _ framing: Framing, cost: Int) -> RequestTracker.Pending {
        RequestTracker.Pending(
            id: call.id, cost: cost, isBatch: false,
            start: { [self] token in
                let start = LaneStart()
                tracker.track(token, id: call.id, cancel: { start.cancel() })
                handler.lane.submit { [self] in
                    switch runOnLane(call, handler.run, start, framing) {
                    case .message(let response): if let response { write(response, framing) }
                    case .direct(let id, let result): writer.write(framing.frame(JSONCodec.response(id: id, result: result)))
                    }
                    admitted.remove(cost)
                    tracker.finish(token)
                }
            },
            dropped: { [self] in dropped(call, cost: cost, framing) })
    }

    /// A single call cancelled before it ran: its cost given back, and its -32800 answer, built
    /// only here (made ahead, it cost every call 6k instructions).
    func dropped(_ call: Call, cost: Int, _ framing: Framing) {
        admitted.remove(cost)
        if let id = call.id { write(OutgoingMessage.response(id: id, error: .cancelled), framing) }
    }

    /// Runs one call's lane handler unless it was cancelled first; returns its response (nil
    /// for a notification). The lane's thread.
    func runOnLane(_ call: Call, _ handler: LaneResultHandler, _ start: LaneStart, _ framing: Framing) -> LaneResponse {
        guard start.begin() else { return .message(call.id.map { OutgoingMessage.response(id: $0, error: .cancelled) }) }
        let context = RequestContext(id: call.id, method: call.method, framing: framing) { [self] message, framing in
            write(message, framing)
        }
        let failure: ResponseError
        do {
            let result = try handler(call.params, context)
            if start.isCancelled, !context.committed.isSet, let id = call.id { return .message(OutgoingMessage.response(id: id, error: .cancelled)) }
            guard let id = call.id else { return .message(nil) }
            switch consume result {
            case .value(let value): return .message(OutgoingMessage.response(id: id, result: value))
            case .direct(let object): return .direct(id: id, result: object)
            }
        } catch {
            failure = responseError(from: error, in: call)
        }
        if start.isCancelled, !context.committed.isSet, let id = call.id { return .message(OutgoingMessage.response(id: id, error: .cancelled)) }
        return .message(response(to: call, .failure(failure)))
    }

    /// Runs one call's `MethodHandler`; returns its response, or nil for a notification. A task.
    func perform(_ call: Call, _ framing: Framing) async -> JSONValue? {
        let outcome: Result<JSONValue, ResponseError>
        var committed = false
        if let handler = methods.handler(for: call.method) {
            let context = RequestContext(id: call.id, method: call.method, framing: framing) { [self] message, framing in
                write(message, framing)
            }
            do {
                outcome = .success(try await handler(call.params, context))
            } catch {
                outcome = .failure(responseError(from: error, in: call))
            }
            committed = context.committed.isSet
        } else {
            outcome = .failure(.methodNotFound(call.method))
        }
        if Task.isCancelled, !committed, let id = call.id { return OutgoingMessage.response(id: id, error: .cancelled) }
        return response(to: call, outcome)
    }

    /// A handler's error as the peer sees it: its own `ResponseError`, -32800 for cancellation,
    /// -32603 (logged) for anything else. Any thread.
    private func responseError(from error: any Error, in call: Call) -> ResponseError {
        switch error {
        case let error as ResponseError: return error
        case is CancellationError: return .cancelled
        default:
            logger.error("method '\(Self.printable(call.method))' failed: \(Self.printable(String(describing: error)))")
            return .internalError("the method failed unexpectedly; see the server's log")
        }
    }

    /// The response to `call`; nil for a notification, whose failure is logged instead. Any thread.
    private func response(to call: Call, _ outcome: Result<JSONValue, ResponseError>) -> JSONValue? {
        guard let id = call.id else {
            if case .failure(let error) = outcome {
                logger.notice("notification '\(Self.printable(call.method))' failed: \(Self.printable(error.message))")
            }
            return nil
        }
        switch outcome {
        case .success(let result): return OutgoingMessage.response(id: id, result: result)
        case .failure(let error): return OutgoingMessage.response(id: id, error: error)
        }
    }

    /// A peer's text as it goes to the log: at most 200 characters (code points), escaped as
    /// `LogText` escapes, so a method name cannot move the operator's cursor, retitle the
    /// terminal, reorder what is shown or spell an escape. Any thread.
    static func printable(_ text: String) -> String {
        LogText.escaped(ResponseError.clipped(text))
    }
}

/// A lane call's response: a message, or a result built in jansson with the call's id (written
/// as text from there); nil for a notification.
enum LaneResponse: ~Copyable {
    case message(JSONValue?)
    case direct(id: JSONValue, result: JanssonObject)

    /// The response as a message (a batch's entry).
    consuming func message() -> JSONValue? {
        switch consume self {
        case .message(let message): message
        case .direct(let id, let result): OutgoingMessage.response(id: id, result: result.value())
        }
    }
}
