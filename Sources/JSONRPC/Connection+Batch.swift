extension Connection {
    /// Lifecycle methods in a batch act at once, in order; the other calls run together
    /// when the batch's turn comes, and their answers go out as one array. The calls of a
    /// `BlockingHandler` are handed to their lane, in order, the moment the batch starts: the
    /// writes of a connection reach the lane in the order sent, a batch's among the others.
    /// Input thread (checked).
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
                var laneCalls: [LaneBatchCall?] = []
                let entries = collected.map { outcome -> BatchEntry? in
                    guard case .run(let call) = outcome else {
                        laneCalls.append(nil)
                        return nil
                    }
                    if let handler = methods.laneHandler(for: call.method) {
                        laneCalls.append(submitToLane(call, handler, framing))
                        return nil
                    }
                    laneCalls.append(nil)
                    let entry = BatchEntry(token: tracker.newToken())
                    tracker.track(entry.token, id: call.id, cancel: { entry.cancel() })
                    return entry
                }
                Task { [self, laneCalls] in
                    let answers = await runBatch(collected, entries, laneCalls, framing)
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
    private func runBatch(_ outcomes: [Outcome], _ entries: [BatchEntry?], _ laneCalls: [LaneBatchCall?], _ framing: Framing) async -> [UInt8]? {
        let window = max(1, limits.maxInFlight)
        var answers: [UInt8] = [UInt8(ascii: "[")]
        var next = 0
        func start(_ index: Int) {
            // On its lane already: refused as the others are if it has not begun there.
            if let laneCall = laneCalls[index], case .run(let call) = outcomes[index] {
                if answers.count > limits.maxMessageBytes { laneCall.refuse(call.id.map { refusal(of: $0) }) }
                return
            }
            guard case .run(let call) = outcomes[index], let entry = entries[index] else { return }
            guard answers.count <= limits.maxMessageBytes else {
                let refused = entry.refuse(call.id.map { refusal(of: $0) })
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
            if let laneCall = laneCalls[index] {
                response = await laneCall.answer()
            } else if let entry = entries[index] {
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

    /// The answer of a batch's entry not run because the batch's answer passed its bound.
    private func refusal(of id: JSONValue) -> JSONValue {
        OutgoingMessage.response(
            id: id,
            error: .limitExceeded(
                "batchAnswerBytes", max: limits.maxMessageBytes,
                reason: "the batch's answer passed \(limits.maxMessageBytes) bytes before this call started; it was not run: send it again on its own or in a smaller batch"))
    }

    /// Hands a batch's call of a `BlockingHandler` to its lane now, tracked so that a
    /// `$/cancelRequest` or `exit` reaches it; its answer is collected with the batch's. The
    /// thread that starts the batch.
    private func submitToLane(_ call: Call, _ handler: LaneHandler, _ framing: Framing) -> LaneBatchCall {
        let laneCall = LaneBatchCall()
        let token = tracker.newToken()
        tracker.track(token, id: call.id, cancel: { laneCall.start.cancel() })
        handler.lane.submit { [self] in
            laneCall.finish(runOnLane(call, handler.run, laneCall.start, framing).message())
            tracker.untrack(token)
        }
        return laneCall
    }
}
