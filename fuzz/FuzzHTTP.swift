// libFuzzer target: arbitrary bytes as a controller's answer to the token request, through
// HTTPResponseReader (built alone by `make fuzz`). The first two bytes pick the limits and
// where the answer is cut into pieces. Invariants checked on every input:
// - the body never exceeds the limit, and no event follows the end of the answer;
// - events come in order (interim answers, one head, body pieces, one end);
// - fed whole or in pieces, the reader reaches the same outcome (the same error, or the same answer);
// - after an error, every further call throws that error.
// Any crash, trap or sanitizer report is a bug.

struct Outcome: Equatable {
    var heads: [HTTPResponseHead] = []
    var interim = 0
    var body: [UInt8] = []
    var end: Bool?
    var error: HTTPResponseError?
}

func limits(_ selector: UInt8) -> HTTPResponseLimits {
    var limits = HTTPResponseLimits()
    if selector & 1 == 1 {
        // Small limits, so the fuzzer reaches every bound quickly.
        limits.headBytes = 200
        limits.fieldCount = 6
        limits.bodyBytes = 64
        limits.chunkLineBytes = 24
        limits.chunkFramingBytes = 96
        limits.trailerBytes = 48
        limits.interimAnswers = 2
    }
    return limits
}

func run(_ pieces: [ArraySlice<UInt8>], limits: HTTPResponseLimits, head: Bool) -> Outcome {
    var reader = HTTPResponseReader(limits: limits, bodilessRequest: head)
    var outcome = Outcome()
    func take(_ events: [HTTPResponseEvent]) {
        for event in events {
            precondition(outcome.end == nil, "an event after the end of the answer")
            switch event {
            case .interim(let head):
                precondition(outcome.heads.isEmpty, "an interim answer after the final head")
                precondition((100...199).contains(head.status) && head.status != 101)
                outcome.interim += 1
                precondition(outcome.interim <= limits.interimAnswers)
            case .head(let head):
                precondition(outcome.heads.isEmpty, "two final heads")
                precondition((200...599).contains(head.status))
                precondition(head.fields.count <= limits.fieldCount)
                outcome.heads.append(head)
            case .body(let bytes):
                precondition(!outcome.heads.isEmpty, "body before the head")
                outcome.body += bytes
                precondition(outcome.body.count <= limits.bodyBytes, "the body exceeds its limit")
            case .end(let persistent):
                precondition(!outcome.heads.isEmpty, "the end before the head")
                outcome.end = persistent
            }
        }
    }
    do {
        for piece in pieces { take(try reader.feed(Array(piece))) }
        take(try reader.finish())
        precondition(outcome.end != nil, "finish succeeded without an end")
        precondition(reader.isComplete)
    } catch {
        outcome.error = error
        // Sticky: the same error again, whatever comes next.
        do {
            _ = try reader.feed([0x0A])
            preconditionFailure("feed after an error did not throw")
        } catch {
            precondition(error == outcome.error, "a different error after the first")
        }
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let chosen = limits(bytes[0])
    let head = bytes[0] & 2 == 2
    let answer = bytes[2...]
    let whole = run([answer], limits: chosen, head: head)
    // Pieces of a fuzzer-chosen length (1 to 64 bytes).
    let step = Int(bytes[1] % 64) + 1
    var pieces: [ArraySlice<UInt8>] = []
    var start = answer.startIndex
    while start < answer.endIndex {
        let end = min(answer.endIndex, start + step)
        pieces.append(answer[start..<end])
        start = end
    }
    let split = run(pieces, limits: chosen, head: head)
    // Events before an error are not returned by the call that throws, so only the errors compare then.
    if whole.error != nil || split.error != nil {
        precondition(whole.error == split.error, "whole and split readings differ: \(whole) vs \(split)")
    } else {
        precondition(whole == split, "whole and split readings differ: \(whole) vs \(split)")
    }
    return 0
}
