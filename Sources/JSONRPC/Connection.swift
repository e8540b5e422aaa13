import Logging
import Posix
import Synchronization

/// A JSON-RPC 2.0 server on a pair of file descriptors (e.g. a process's stdin and stdout).
///
/// Reading and framing happen on a thread of their own; each call runs as a task, so calls
/// are answered concurrently and possibly out of order, and a slow one never delays the
/// rest. Memory is bounded whatever the peer does: input by the limits, output by
/// back-pressure (while more than `maxMessageBytes` of answers are unwritten because the
/// peer is not reading, nothing more is read and no queued call starts), batches by running
/// one at a time. The connection itself answers the lifecycle methods (`shutdown`, `exit`,
/// `$/cancelRequest`, as in LSP); everything else goes to the `MethodTable`.
///
/// Threads: `run` is awaited by a task and never blocks the cooperative pool. It starts the
/// input thread, which reads, frames and parses, answers the lifecycle methods and the
/// immediate handlers, and admits every other call to the `RequestTracker`; admitted calls run
/// as tasks on the cooperative pool, or, for a `BlockingHandler`, on its `SerialLane`'s thread.
/// A small answer is written by the thread that has it when the output is idle; the rest, and
/// everything while the peer is slow to read, by the `OutputWriter`'s output thread. Only the
/// input and output threads block on the descriptors and on back-pressure; a lane blocks only
/// in its handlers' own work.
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

    /// What the input thread made of one call (or one entry of a batch).
    enum Outcome {
        /// Handled, and nothing to answer (a notification).
        case noAnswer
        case answer(JSONValue)
        /// To run as a task (entries of a batch only: a single call is admitted instead).
        case run(Call)
        /// The connection ends (`exit`).
        case stop(Ending)
    }

    /// What one parsed call waiting in the queue costs beyond its bytes (about 900 bytes were
    /// measured for a small request): the queue's bound is on memory, not on bytes read.
    static let parsedCallCost = 1024
    /// What one parsed JSON value costs beyond its text, at most: a `JSONValue` and its share of
    /// the array or dictionary holding it (24 to 80 bytes were measured).
    static let parsedValueCost = 64
    /// The messages admitted and not yet answered may cost this many `maxMessageBytes`, and
    /// `admittedCallCost` for each call that may run, before reading stops (see `AdmittedCost`):
    /// small calls never meet the bound, whatever the limits; a few big ones do.
    static let admittedCostFactor = 4
    static let admittedCallCost = 4096

    let methods: MethodTable
    let limits: Limits
    let logger: Logger
    let writer: OutputWriter
    let tracker: RequestTracker
    let admitted: AdmittedCost
    let inputThread: ThreadRole
    /// `shutdown` was received: LSP then accepts only `exit`.
    let shutdownRequested = Atomic<Bool>(false)
    private let input: Int32
    private let inputThreadName: String

    /// Serves on `input` and `output`, which it does not close. The threads it starts are
    /// named `inputThreadName` and `outputThreadName` (15 bytes are kept), as `top -H` and
    /// debuggers show them. Any thread.
    public init(
        input: Int32, output: Int32, methods: MethodTable, limits: Limits = Limits(), logger: Logger,
        inputThreadName: String = "jsonrpc-input", outputThreadName: String = "jsonrpc-output"
    ) {
        JSONCodec.prepare()
        self.input = input
        self.methods = methods
        self.limits = limits
        self.logger = logger
        self.inputThreadName = inputThreadName
        let inputThread = ThreadRole("input")
        self.inputThread = inputThread
        let writer = OutputWriter(fd: output, bound: limits.maxMessageBytes, threadName: outputThreadName, inputThread: inputThread) { error in
            logger.warning("the peer stopped reading our output (\(error)); answers are dropped")
        }
        self.writer = writer
        self.tracker = RequestTracker(maxInFlight: limits.maxInFlight, maxQueuedCost: limits.maxMessageBytes) { writer.hasRoom }
        let messages = limits.maxMessageBytes.multipliedReportingOverflow(by: Self.admittedCostFactor)
        let calls = limits.maxInFlight.multipliedReportingOverflow(by: Self.admittedCallCost)
        let bound = messages.partialValue.addingReportingOverflow(calls.partialValue)
        self.admitted = AdmittedCost(bound: messages.overflow || calls.overflow || bound.overflow ? .max : bound.partialValue)
    }

    /// Serves until the input ends or `exit` arrives; then finishes (or, on `exit`,
    /// cancels) the calls in flight, flushes every answer and returns how it ended.
    /// Awaited by a task (the cooperative pool), once.
    public func run() async -> Ending {
        writer.whenRoom { [weak tracker] in tracker?.startQueued() }
        defer { writer.whenRoom(nil) }
        let ending = await withCheckedContinuation { (continuation: CheckedContinuation<Ending, Never>) in
            DetachedThread.start(name: inputThreadName) { [self] in
                inputThread.claim()
                let ending = readLoop()
                // The answers to the last chunk (e.g. to a final line without a newline) may be
                // held; queued calls may be waiting for them to be written.
                writer.writeHeld()
                continuation.resume(returning: ending)
            }
        }
        switch ending {
        case .framingError(let reason):
            logger.error("closing: unrecoverable framing on input: \(reason)")
        case .exit, .exitWithoutShutdown:
            tracker.cancelAll()
        case .endOfInput:
            break
        }
        await tracker.waitUntilIdle()
        await writer.flush()
        writer.stop()
        return ending
    }

    // MARK: - Reading (the input thread)

    private func readLoop() -> Ending {
        var decoder = FrameDecoder(maxMessageBytes: limits.maxMessageBytes, maxHeaderBytes: limits.maxHeaderBytes)
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        defer { pauseInput() }
        while true {
            pauseInput()
            let count: Int
            do {
                count = try FileIO.read(input, into: &chunk)
            } catch {
                logger.warning("reading input failed: \(error)")
                count = 0
            }
            if count == 0 {
                for event in decoder.finish() {
                    writer.waitForRoom(beforeSleeping: pauseInput)
                    admitted.waitForRoom(beforeSleeping: writeHeldAndPause)
                    if let ending = handle(event) { return ending }
                }
                return .endOfInput
            }
            let events = chunk.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            for event in events {
                // A peer that does not read its answers is not read from either, nor one whose
                // calls hold too much memory.
                writer.waitForRoom(beforeSleeping: pauseInput)
                admitted.waitForRoom(beforeSleeping: writeHeldAndPause)
                if let ending = handle(event) { return ending }
            }
            // Let go first: a write that blocks after all (a shared pipe, a terminal) must not
            // keep what the handlers shared, e.g. a database snapshot.
            pauseInput()
            writer.writeHeld()
        }
    }

    /// Input thread (checked).
    private func handle(_ event: FrameDecoder.Event) -> Ending? {
        inputThread.check()
        switch event {
        case .fatal(let reason):
            return .framingError(reason)
        case .oversized(let framing, let size):
            let described = size.map { "\($0) bytes" } ?? "a line"
            answerOnInputThread(
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
        var values = 0
        do {
            switch try JSONCodec.message(bytes, maxDepth: limits.maxDepth, values: &values) {
            case .call(let call): return handleSingle(.call(call), framing, cost: Self.cost(bytes.count, values: values, calls: 1))
            case .other(let other): value = other
            }
        } catch {
            switch error {
            case .syntax(let reason, let line, let column, let position):
                answerOnInputThread(OutgoingMessage.response(id: .null, error: .parseError(reason, line: line, column: column, position: position)), framing)
            case .tooDeep(let limit, let id):
                answerOnInputThread(
                    OutgoingMessage.response(
                        id: id ?? .null,
                        error: .limitExceeded("depth", max: limit, reason: "message nests deeper than \(limit) levels")),
                    framing)
            }
            return nil
        }
        guard case .array(let entries) = value else {
            return handleSingle(IncomingMessage(value), framing, cost: Self.cost(bytes.count, values: values, calls: 1))
        }
        if entries.isEmpty {
            answerOnInputThread(OutgoingMessage.response(id: .null, error: .invalidRequest("empty batch")), framing)
            return nil
        }
        if entries.count > limits.maxBatchEntries {
            let reason = "batch of \(entries.count) entries is over the limit of \(limits.maxBatchEntries)"
            answerOnInputThread(
                OutgoingMessage.response(id: .null, error: .limitExceeded("batchEntries", max: limits.maxBatchEntries, reason: reason)), framing)
            return nil
        }
        return handleBatch(entries.map(IncomingMessage.init), framing, cost: Self.cost(bytes.count, values: values, calls: entries.count))
    }

    /// What a message of `bytes` bytes, parsed into `values` JSON values and `calls` calls, holds
    /// in memory while it waits or runs. Its counts are bounded by the bytes read: no overflow.
    static func cost(_ bytes: Int, values: Int, calls: Int) -> Int {
        bytes + values * parsedValueCost + calls * parsedCallCost
    }

    private func handleSingle(_ message: IncomingMessage, _ framing: Framing, cost: Int) -> Ending? {
        switch message {
        case .response:
            logger.debug("ignored a response object: this server sends no requests")
        case .invalid(let error, let id):
            answerOnInputThread(OutgoingMessage.response(id: id, error: error), framing)
        case .call(let call):
            if let outcome = lifecycle(call) ?? refusal(for: call) ?? immediate(call, framing) {
                switch outcome {
                case .answer(let response): answerOnInputThread(response, framing)
                case .stop(let ending): return ending
                case .noAnswer, .run: break
                }
                return nil
            }
            if let handler = methods.laneHandler(for: call.method) {
                admit(onLane(call, handler, framing, cost: cost))
                return nil
            }
            let pending = RequestTracker.Pending(
                id: call.id, cost: cost, isBatch: false,
                start: { [self] token in
                    let task = Task { [self] in
                        if let response = await perform(call, framing) { write(response, framing) }
                        admitted.remove(cost)
                        tracker.finish(token)
                    }
                    tracker.track(token, id: call.id, cancel: { task.cancel() })
                },
                dropped: { [self] in dropped(call, cost: cost, framing) })
            admit(pending)
        }
        return nil
    }

    /// Starts `pending` or queues it; while the queue is over its bound, reading stops until
    /// some finish (what this thread holds is written first). Input thread.
    func admit(_ pending: RequestTracker.Pending) {
        admitted.add(pending.cost)
        tracker.admit(pending)
        tracker.waitForRoomInQueue(beforeSleeping: writeHeldAndPause)
    }

    /// What the input thread does before it sleeps for room: what it holds across one read let
    /// go, and its held answers written. Input thread.
    private func writeHeldAndPause() {
        pauseInput()
        writer.writeHeld()
    }

    /// What the input thread lets go before it waits (see `MethodTable.inputPause`). Input thread.
    private func pauseInput() {
        methods.inputPause?()
    }

    // MARK: - Writing

    /// Writes any message (an answer from a task or a lane, a notification, -32800 for a
    /// dropped call) at once, in `framing`: on the calling thread when it is small and the
    /// output idle (see `OutputWriter.write`). Any thread.
    func write(_ message: JSONValue, _ framing: Framing) {
        writer.write(framing.frame(JSONCodec.serialize(message)))
    }

    /// Answers from the input thread: held, and written with the other answers to the same
    /// chunk of input once it is handled. Input thread (checked by the writer).
    func answerOnInputThread(_ response: JSONValue, _ framing: Framing) {
        writer.hold(framing.frame(JSONCodec.serialize(response)))
    }
}
