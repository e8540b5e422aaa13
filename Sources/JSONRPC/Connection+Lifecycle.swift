/// The lifecycle methods every connection answers itself, as LSP defines them: `shutdown`,
/// `exit`, `$/cancelRequest`; and the cancel notifications of other protocols, which the
/// method table registers (`MethodTable.registerCancelNotification`) and which act as
/// `$/cancelRequest` does.
extension Connection {
    /// The outcome of a lifecycle method, or nil for any other method. Input thread (its
    /// callers check): lifecycle methods act in the order they were read.
    func lifecycle(_ call: Call) -> Outcome? {
        switch call.method {
        case "exit":
            return .stop(shutdownRequested.load(ordering: .relaxed) ? .exit : .exitWithoutShutdown)
        case "shutdown":
            let alreadyShutDown = shutdownRequested.exchange(true, ordering: .relaxed)
            guard let id = call.id else { return .noAnswer }
            if alreadyShutDown {
                return .answer(OutgoingMessage.response(id: id, error: .invalidRequest("shutdown was already requested; send 'exit'")))
            }
            return .answer(OutgoingMessage.response(id: id, result: .null))
        case "$/cancelRequest":
            return cancel(call, as: .lsp)
        default:
            return methods.cancelNotification(for: call.method).map { cancel(call, as: $0) }
        }
    }

    /// Cancels the call in flight (or waiting) that `call` names, as `notification` reads it.
    /// Sent as a request, it is answered: null, or why its params are wrong. Input thread.
    private func cancel(_ call: Call, as notification: CancelNotification) -> Outcome {
        let target: JSONValue
        do {
            target = try call.params.named(allowing: notification.otherParams.union([notification.idParam])).required(notification.idParam)
        } catch {
            if call.id == nil { logger.debug("ignored '\(Self.printable(call.method))': \(error.message)") }
            return call.id.map { .answer(OutgoingMessage.response(id: $0, error: error)) } ?? .noAnswer
        }
        tracker.cancel(id: target)
        return call.id.map { .answer(OutgoingMessage.response(id: $0, result: .null)) } ?? .noAnswer
    }

    /// After `shutdown`, LSP accepts nothing but `exit`: the refusal, or nil before `shutdown`.
    /// Input thread.
    func refusal(for call: Call) -> Outcome? {
        guard shutdownRequested.load(ordering: .relaxed) else { return nil }
        guard let id = call.id else { return .noAnswer }
        return .answer(OutgoingMessage.response(id: id, error: .invalidRequest("the server is shutting down; only 'exit' is accepted")))
    }
}
