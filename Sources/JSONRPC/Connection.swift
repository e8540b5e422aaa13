import Dispatch
import Logging
import Locking

#if canImport(Glibc)
    import Glibc
#endif

/// A JSON-RPC 2.0 server on a pair of file descriptors (stdin and stdout for `tofu-rpc`).
///
/// Reading and framing happen on a thread of their own; each call runs as a task, so calls
/// are answered concurrently and possibly out of order, and a slow one never delays the
/// rest. Memory is bounded whatever the peer does: input by the limits, output by
/// back-pressure (while more than `maxMessageBytes` of answers are unwritten because the
/// peer is not reading, nothing more is read and no queued call starts), batches by running
/// one at a time. The connection itself answers the lifecycle methods (`shutdown`, `exit`,
/// `$/cancelRequest`, as in LSP); everything else goes to the `MethodTable`.
public final class Connection: Sendable {
    /// How the connection ended, and the process exit status it stands for.
    public enum Ending: Sendable, Equatable {
        /// The input ended; every call read was answered. Status 0.
        case endOfInput
        /// `exit` after `shutdown`. Status 0.
        case exit
        /// `exit` without `shutdown` (LSP says: status 1).
        case exitWithoutShutdown
        /// The framing could not be recovered; `reason` was logged. Status 2.
        case framingError(String)

        public var exitStatus: Int32 {
            switch self {
            case .endOfInput, .exit: 0
            case .exitWithoutShutdown: 1
            case .framingError: 2
            }
        }
    }

    /// Methods every connection answers itself.
    public static let builtInMethods: Set<String> = ["shutdown", "exit", "$/cancelRequest"]

    private struct Running: Sendable {
        let id: JSONValue?
        let cancel: @Sendable () -> Void
    }

    private struct State: Sendable {
        var nextToken: UInt64 = 0
        var running: [UInt64: Running] = [:]
        var messagesInFlight = 0
        /// One batch runs at a time: its answer is one array held until its last entry is done.
        var batchRunning = false
        var shutdownRequested = false
        /// Tokens whose task finished before it was tracked.
        var finished: Set<UInt64> = []
        /// Messages waiting for a slot, in arrival order.
        var queue = FIFO<Pending>()
        var queuedBytes = 0
        /// `run` waiting for every message to be answered.
        var drained: CheckedContinuation<Void, Never>?

        var isIdle: Bool { messagesInFlight == 0 && queue.isEmpty }

        /// Whether `pending` may start now as far as batches go (slots and output aside).
        func mayStart(_ pending: Pending) -> Bool { !(pending.isBatch && batchRunning) }

        /// The head of the queue, taken if it may start; a batch taken holds the batch slot.
        mutating func popStartable() -> Pending? {
            guard let head = queue.first, mayStart(head), let next = queue.popFirst() else { return nil }
            queuedBytes -= next.size
            if next.isBatch { batchRunning = true }
            return next
        }

        /// The waiter to resume, if every message is now answered.
        mutating func takeDrainedWaiter() -> CheckedContinuation<Void, Never>? {
            guard isIdle, let waiter = drained else { return nil }
            drained = nil
            return waiter
        }
    }

    /// A message waiting for its turn; `start` runs it under the token it is given.
    private struct Pending: Sendable {
        /// The id a `$/cancelRequest` names to drop it from the queue (single requests only).
        let id: JSONValue?
        /// What it costs while it waits: its bytes, plus `parsedCallCost` per call.
        let size: Int
        let framing: Framing
        /// What to answer if it is dropped before it runs (nil: nothing, e.g. a notification).
        let cancelledAnswer: JSONValue?
        var isBatch = false
        let start: @Sendable (UInt64) -> Void
    }

    /// What one parsed call waiting in the queue costs beyond its bytes (about 900 bytes were
    /// measured for a small request): the queue's bound is on memory, not on bytes read.
    private static let parsedCallCost = 1024

    private let input: Int32
    private let methods: MethodTable
    private let limits: Limits
    private let logger: Logger
    private let writer: OutputWriter
    private let state = Locked(State())
    private let roomInQueue = DispatchSemaphore(value: 0)

    public init(input: Int32, output: Int32, methods: MethodTable, limits: Limits = Limits(), logger: Logger) {
        JSONCodec.prepare()
        self.input = input
        self.methods = methods
        self.limits = limits
        self.logger = logger
        self.writer = OutputWriter(fd: output, bound: limits.maxMessageBytes) { error in
            logger.warning("the peer stopped reading our output (\(String(cString: strerror(error)))); answers are dropped")
        }
    }

    /// Serves until the input ends or `exit` arrives; then finishes (or, on `exit`,
    /// cancels) the calls in flight, flushes every answer and returns how it ended.
    public func run() async -> Ending {
        writer.whenRoom { [weak self] in self?.startQueued() }
        defer { writer.whenRoom(nil) }
        let ending = await withCheckedContinuation { (continuation: CheckedContinuation<Ending, Never>) in
            DetachedThread.start(name: "tofu-rpc input") { [self] in
                let ending = readLoop()
                // The answers to the last chunk (e.g. to a final line without a newline) may be
                // queued unannounced; queued calls may be waiting for them to be written.
                writer.announce()
                continuation.resume(returning: ending)
            }
        }
        switch ending {
        case .framingError(let reason):
            logger.error("closing: unrecoverable framing on input: \(reason)")
        case .exit, .exitWithoutShutdown:
            let (running, queued) = state.withLock { state in
                (Array(state.running.values), state.queue.removeAll())
            }
            for pending in queued { answerCancelled(pending) }
            for running in running { running.cancel() }
        case .endOfInput:
            break
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if state.isIdle { return true }
                state.drained = continuation
                return false
            }
            if idle { continuation.resume() }
        }
        await writer.flush()
        writer.stop()
        return ending
    }

    // MARK: - Reading (on the input thread)

    private func readLoop() -> Ending {
        var decoder = FrameDecoder(maxMessageBytes: limits.maxMessageBytes, maxHeaderBytes: limits.maxHeaderBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                if count < 0 { logger.warning("reading input failed: \(String(cString: strerror(errno)))") }
                for event in decoder.finish() {
                    writer.waitForRoom()
                    if let ending = handle(event) { return ending }
                }
                return .endOfInput
            }
            let events = chunk.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            for event in events {
                // A peer that does not read its answers is not read from either.
                writer.waitForRoom()
                if let ending = handle(event) { return ending }
            }
            writer.announce()
        }
    }

    private func handle(_ event: FrameDecoder.Event) -> Ending? {
        switch event {
        case .fatal(let reason):
            return .framingError(reason)
        case .oversized(let framing, let size):
            let described = size.map { "\($0) bytes" } ?? "a line"
            reply(
                OutgoingMessage.response(
                    id: .null,
                    error: .limitExceeded(
                        "messageBytes", max: limits.maxMessageBytes,
                        reason: "message of \(described) is over the limit of \(limits.maxMessageBytes) bytes; it was skipped")),
                framing)
            return nil
        case .message(let bytes, let framing):
            return handleMessage(bytes, framing)
        }
    }

    private func handleMessage(_ bytes: [UInt8], _ framing: Framing) -> Ending? {
        let value: JSONValue
        do {
            value = try JSONCodec.parse(bytes, maxDepth: limits.maxDepth)
        } catch {
            switch error {
            case .syntax(let reason, let line, let column, let position):
                reply(OutgoingMessage.response(id: .null, error: .parseError(reason, line: line, column: column, position: position)), framing)
            case .tooDeep(let limit, let id):
                reply(
                    OutgoingMessage.response(
                        id: id ?? .null,
                        error: .limitExceeded("depth", max: limit, reason: "message nests deeper than \(limit) levels")),
                    framing)
            }
            return nil
        }
        guard case .array(let entries) = value else {
            return handleSingle(IncomingMessage(value), framing, size: bytes.count + Self.parsedCallCost)
        }
        if entries.isEmpty {
            reply(OutgoingMessage.response(id: .null, error: .invalidRequest("empty batch")), framing)
            return nil
        }
        if entries.count > limits.maxBatchEntries {
            let reason = "batch of \(entries.count) entries is over the limit of \(limits.maxBatchEntries)"
            reply(OutgoingMessage.response(id: .null, error: .limitExceeded("batchEntries", max: limits.maxBatchEntries, reason: reason)), framing)
            return nil
        }
        return handleBatch(entries.map(IncomingMessage.init), framing, size: bytes.count + entries.count * Self.parsedCallCost)
    }

    /// What became of one entry: an answer now, a call to run, or none.
    private enum Outcome {
        case none
        case answer(JSONValue)
        case run(Call)
        case stop(Ending)
    }

    private func handleSingle(_ message: IncomingMessage, _ framing: Framing, size: Int) -> Ending? {
        switch message {
        case .response:
            logger.debug("ignored a response object: this server sends no requests")
        case .invalid(let error, let id):
            reply(OutgoingMessage.response(id: id, error: error), framing)
        case .call(let call):
            if let outcome = builtIn(call) ?? refusal(for: call) ?? immediate(call) {
                switch outcome {
                case .answer(let response): reply(response, framing)
                case .stop(let ending): return ending
                case .none, .run: break
                }
                return nil
            }
            let cancelled = call.id.map { OutgoingMessage.response(id: $0, error: .cancelled) }
            admit(Pending(id: call.id, size: size, framing: framing, cancelledAnswer: cancelled) { [self] token in
                let task = Task { [self] in
                    if let response = await perform(call, framing) { send(response, framing) }
                    finishMessage(token)
                }
                track(token, id: call.id, cancel: { task.cancel() })
            })
        }
        return nil
    }

    /// Lifecycle methods in a batch act at once, in order; the other calls run together
    /// when the batch's turn comes, and their answers go out as one array.
    private func handleBatch(_ messages: [IncomingMessage], _ framing: Framing, size: Int) -> Ending? {
        var outcomes: [Outcome] = []
        var ending: Ending?
        for message in messages where ending == nil {
            switch message {
            case .response:
                logger.debug("ignored a response object in a batch")
            case .invalid(let error, let id):
                outcomes.append(.answer(OutgoingMessage.response(id: id, error: error)))
            case .call(let call):
                let outcome = builtIn(call) ?? refusal(for: call) ?? .run(call)
                if case .stop(let stop) = outcome { ending = stop } else { outcomes.append(outcome) }
            }
        }
        let cancelledAnswers = outcomes.compactMap { outcome -> JSONValue? in
            switch outcome {
            case .answer(let response): return response
            case .run(let call): return call.id.map { OutgoingMessage.response(id: $0, error: .cancelled) }
            case .none, .stop: return nil
            }
        }
        let collected = outcomes
        let cancelled: JSONValue? = cancelledAnswers.isEmpty ? nil : .array(cancelledAnswers)
        var pending = Pending(id: nil, size: size, framing: framing, cancelledAnswer: cancelled) { [self] token in
            // Every entry is tracked at once, so a $/cancelRequest or `exit` reaches it whether
            // it runs already or waits for its turn.
            let entries = collected.map { outcome -> BatchEntry? in
                guard case .run(let call) = outcome else { return nil }
                let entry = BatchEntry(token: nextToken())
                track(entry.token, id: call.id, cancel: { entry.cancel() })
                return entry
            }
            Task { [self] in
                let answers = await runBatch(collected, entries, framing)
                if let answers { writer.send(framing.frame(answers)) }
                finishMessage(token, batch: true)
            }
            track(token, id: nil, cancel: {})
        }
        pending.isBatch = true
        admit(pending)
        return ending
    }

    /// Runs a batch's calls, at most `maxInFlight` at once, in order, and returns its answer
    /// (nil when every entry was a notification). Each answer is serialised as it is collected,
    /// so a batch never exists as one tree of values; once the answer passes `maxMessageBytes`,
    /// the entries not yet started are not run and answer -32600 `limitExceeded`
    /// (`batchAnswerBytes`): memory stays bounded whatever a batch asks for.
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
                if refused { untrack(entry.token) }
                return
            }
            entry.start { [self] in
                let response = await perform(call, framing)
                untrack(entry.token)
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
                    untrack(entry.token)
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

    // MARK: - Lifecycle methods

    /// The answer to a lifecycle method, or nil for any other method.
    private func builtIn(_ call: Call) -> Outcome? {
        switch call.method {
        case "exit":
            let shutDown = state.withLock { $0.shutdownRequested }
            return .stop(shutDown ? .exit : .exitWithoutShutdown)
        case "shutdown":
            let alreadyShutDown = state.withLock { state in
                defer { state.shutdownRequested = true }
                return state.shutdownRequested
            }
            guard let id = call.id else { return Outcome.none }
            if alreadyShutDown {
                return .answer(OutgoingMessage.response(id: id, error: .invalidRequest("shutdown was already requested; send 'exit'")))
            }
            return .answer(OutgoingMessage.response(id: id, result: .null))
        case "$/cancelRequest":
            let target: JSONValue
            do {
                target = try call.params.named(allowing: ["id"]).required("id")
            } catch {
                return call.id.map { .answer(OutgoingMessage.response(id: $0, error: error)) } ?? Outcome.none
            }
            let (cancels, dequeued) = state.withLock { state in
                let cancels = state.running.values.filter { $0.id == target }.map(\.cancel)
                let dequeued = state.queue.remove { $0.id == target }
                state.queuedBytes -= dequeued.reduce(0) { $0 + $1.size }
                return (cancels, dequeued)
            }
            for cancel in cancels { cancel() }
            for pending in dequeued { answerCancelled(pending) }
            if !dequeued.isEmpty { roomInQueue.signal() }
            return call.id.map { .answer(OutgoingMessage.response(id: $0, result: .null)) } ?? Outcome.none
        default:
            return nil
        }
    }

    /// After `shutdown`, LSP accepts nothing but `exit`.
    private func refusal(for call: Call) -> Outcome? {
        guard state.withLock({ $0.shutdownRequested }) else { return nil }
        guard let id = call.id else { return Outcome.none }
        return .answer(OutgoingMessage.response(id: id, error: .invalidRequest("the server is shutting down; only 'exit' is accepted")))
    }

    /// The answer of the method's `ImmediateHandler`, run here on the input thread; nil if it
    /// has none or passes the call on. A single call only: a batch's entries run as tasks.
    private func immediate(_ call: Call) -> Outcome? {
        guard let handler = methods.immediateHandler(for: call.method) else { return nil }
        let outcome: Result<JSONValue, ResponseError>
        do {
            guard let result = try handler(call.params) else { return nil }
            outcome = .success(result)
        } catch {
            outcome = .failure(responseError(from: error, in: call))
        }
        return response(to: call, outcome).map(Outcome.answer) ?? Outcome.none
    }

    // MARK: - Running calls

    /// Answers -32800 for a queued message that will never run.
    private func answerCancelled(_ pending: Pending) {
        if let answer = pending.cancelledAnswer { send(answer, pending.framing) }
    }

    /// Runs one call; returns its response, or nil for a notification.
    private func perform(_ call: Call, _ framing: Framing) async -> JSONValue? {
        let outcome: Result<JSONValue, ResponseError>
        var committed = false
        if let handler = methods.handler(for: call.method) {
            let context = RequestContext(id: call.id, method: call.method, framing: framing) { [self] message, framing in
                send(message, framing)
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
    /// -32603 (logged) for anything else.
    private func responseError(from error: any Error, in call: Call) -> ResponseError {
        switch error {
        case let error as ResponseError: return error
        case is CancellationError: return .cancelled
        default:
            logger.error("method '\(Self.printable(call.method))' failed: \(Self.printable(String(describing: error)))")
            return .internalError("the method failed unexpectedly; see the server's log")
        }
    }

    /// The response to `call`; nil for a notification, whose failure is logged instead.
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

    /// Starts a message now if fewer than `maxInFlight` are running and none is queued before
    /// it, else queues it in arrival order (the input thread only gets here when the output has
    /// room). While queued requests take more than `maxMessageBytes`, the input thread stops
    /// reading until some finish: memory stays bounded, and a script piping thousands of
    /// requests gets every answer instead of errors.
    private func admit(_ pending: Pending) {
        let startNow = state.withLock { state -> Bool in
            if state.queue.isEmpty && state.messagesInFlight < limits.maxInFlight && state.mayStart(pending) {
                state.messagesInFlight += 1
                if pending.isBatch { state.batchRunning = true }
                return true
            }
            state.queue.append(pending)
            state.queuedBytes += pending.size
            return false
        }
        if startNow { pending.start(nextToken()) }
        while state.withLock({ $0.queuedBytes > limits.maxMessageBytes && !$0.queue.isEmpty }) {
            writer.announce()
            roomInQueue.wait()
        }
    }

    /// Starts queued messages while there are free slots and the output is within its bound
    /// (called when the output drains back within it).
    private func startQueued() {
        let started = state.withLock { state -> [Pending] in
            var started: [Pending] = []
            while state.messagesInFlight < limits.maxInFlight, writer.hasRoom, let next = state.popStartable() {
                state.messagesInFlight += 1
                started.append(next)
            }
            return started
        }
        for pending in started {
            pending.start(nextToken())
            roomInQueue.signal()
        }
    }

    private func nextToken() -> UInt64 {
        state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
    }

    /// Registers a running task, unless it already finished before it could be tracked.
    private func track(_ token: UInt64, id: JSONValue?, cancel: @escaping @Sendable () -> Void) {
        state.withLock { state in
            if state.finished.remove(token) == nil {
                state.running[token] = Running(id: id, cancel: cancel)
            }
        }
    }

    private func untrack(_ token: UInt64) {
        state.withLock { state in
            if state.running.removeValue(forKey: token) == nil { state.finished.insert(token) }
        }
    }

    /// A message is answered: the next queued one (if any, and if the output has room)
    /// takes its slot; else the slot is freed, and `run` learns when the last one is done.
    private func finishMessage(_ token: UInt64, batch: Bool = false) {
        let (next, drained) = state.withLock { state -> (Pending?, CheckedContinuation<Void, Never>?) in
            if batch { state.batchRunning = false }
            if writer.hasRoom, let next = state.popStartable() {
                return (next, nil)
            }
            state.messagesInFlight -= 1
            return (nil, state.takeDrainedWaiter())
        }
        if let next {
            next.start(nextToken())
            roomInQueue.signal()
        }
        untrack(token)
        drained?.resume()
    }

    /// A peer's text as it goes to the log: at most 200 characters, with every control and
    /// bidirectional-override character written as `\u{…}`, so a method name cannot move the
    /// operator's cursor, retitle the terminal or reorder what is shown.
    static func printable(_ text: String) -> String {
        var shown = ""
        for scalar in ResponseError.clipped(text).unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                shown += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    private func send(_ message: JSONValue, _ framing: Framing) {
        writer.send(framing.frame(JSONCodec.serialize(message)))
    }

    /// An answer from the input thread: written once the chunk of input it came in is handled.
    private func reply(_ message: JSONValue, _ framing: Framing) {
        writer.enqueue(framing.frame(JSONCodec.serialize(message)))
    }
}
