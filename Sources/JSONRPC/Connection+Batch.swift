extension Connection {
    /// Lifecycle methods in a batch act at once, in order; the other calls run together
    /// when the batch's turn comes, and their answers go out as one array. Input thread (checked).
    func handleBatch(_ messages: [IncomingMessage], _ framing: Framing, cost: Int) -> Ending? {
        inputThread.check()
        var outcomes: [Outcome] = []
        var ending: Ending?
        for message in messages where ending == nil {
            switch message {
            case .response:
                logger.debug("ignored a response object in a batch")
            case .invalid(let error, let id):
                outcomes.append(.answer(OutgoingMessage.response(id: id, error: error)))
            case .call(let call):
                let outcome = lifecycle(call) ?? refusal(for: call) ?? .run(call)
                if case .stop(let stop) = outcome { ending = stop } else { outcomes.append(outcome) }
            }
        }
        let cancelledAnswers = outcomes.compactMap { outcome -> JSONValue? in
            switch outcome {
            case .answer(let response): return response
            case .run(let call): return call.id.map { OutgoingMessage.response(id: $0, error: .cancelled) }
            case .noAnswer, .stop: return nil
            }
        }
        let collected = outcomes
        let cancelled: JSONValue? = cancelledAnswers.isEmpty ? nil : .array(cancelledAnswers)
        let pending = RequestTracker.Pending(
            id: nil, cost: cost, isBatch: true,
            start: { [self] token in
                // Every entry is tracked at once, so a $/cancelRequest or `exit` reaches it whether
                // it runs already or waits for its turn.
                let entries = collected.map { outcome -> BatchEntry? in
                    guard case .run(let call) = outcome else { return nil }
                    let entry = BatchEntry(token: tracker.newToken())
                    tracker.track(entry.token, id: call.id, cancel: { entry.cancel() })
                    return entry
                }
                Task { [self] in
                    let answers = await runBatch(collected, entries, framing)
                    if let answers { writer.write(framing.frame(answers)) }
                    admitted.remove(cost)
                    tracker.finish(token)
                }
                tracker.track(token, id: nil, cancel: {})
            },
            dropped: { [self] in
                admitted.remove(cost)
                if let cancelled { write(cancelled, framing) }
            })
        admit(pending)
        return ending
    }

    /// Runs a batch's calls, at most `maxInFlight` at once, in order, and returns its answer
    /// (nil when every entry was a notification). Each answer is serialised as it is collected,
    /// so a batch never exists as one tree of values; once the answer passes `maxMessageBytes`,
    /// the entries not yet started are not run and answer -32600 `limitExceeded`
    /// (`batchAnswerBytes`): memory stays bounded whatever a batch asks for. A task.
    private func runBatch(_ outcomes: [Outcome], _ entries: [BatchEntry?], _ framing: Framing) async -> [UInt8]? {
        let window = max(1, limits.maxInFlight)
        var answers: [UInt8] = [UInt8(ascii: "[")]
        var next = 0
        func start(_ index: Int) {
            guard case .run(let call) = outcomes[index], let entry = entries[index] else { return }
            guard answers.count <= limits.maxMessageBytes else {
                let refused = entry.refuse(call.id.map {
                    OutgoingMessage.response(id: $0, error: .limitExceeded(
                        "batchAnswerBytes", max: limits.maxMessageBytes,
                        reason: "the batch's answer passed \(limits.maxMessageBytes) bytes before this call started; it was not run: send it again on its own or in a smaller batch"))
                })
                if refused { tracker.untrack(entry.token) }
                return
            }
            entry.start { [self] in
                let response = await perform(call, framing)
                tracker.untrack(entry.token)
                return response
            }
        }
        for index in outcomes.indices {
            while next < outcomes.count && next < index + window {
                start(next)
                next += 1
            }
            var response: JSONValue?
            if let entry = entries[index] {
                response = await entry.answer(ifCancelled: { [self] in
                    tracker.untrack(entry.token)
                    guard case .run(let call) = outcomes[index] else { return nil }
                    return call.id.map { OutgoingMessage.response(id: $0, error: .cancelled) }
                })
            } else if case .answer(let answer) = outcomes[index] {
                response = answer
            }
            guard let response else { continue }
            if answers.count > 1 { answers.append(UInt8(ascii: ",")) }
            answers.append(contentsOf: JSONCodec.serialize(response))
        }
        guard answers.count > 1 else { return nil }
        answers.append(UInt8(ascii: "]"))
        return answers
    }
}
