import Foundation
import Posix

/// One message the server wrote, as the peer saw it on the pipe.
public struct Received: Sendable, CustomStringConvertible {
    public init(framing: String, text: String) {
        self.framing = framing
        self.text = text
    }

    /// "ndjson" or "lsp".
    public let framing: String
    public let text: String

    /// The message parsed by Foundation (independent of the server's jansson code).
    public var json: Any { (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? NSNull() }
    public var object: [String: Any] { json as? [String: Any] ?? [:] }
    public var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    public var description: String { "[\(framing)] \(text)" }
}

/// Reads what a server writes to a file descriptor, on a thread of its own, and splits it
/// into messages with a small decoder of its own (not the server's), so a framing bug in
/// the server cannot cancel out in the tests.
public final class PeerReader: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var messages: [Received] = []
        var ended = false
        var garbage: String?
    }

    private let state = Locked(State())

    /// Reads `fd` to its end; `closingAtEnd`, the reader owns it and closes it there.
    public init(fd: Int32, closingAtEnd: Bool = false) {
        readOnItsOwnThread(fd, closingAtEnd: closingAtEnd) { [self] chunk in
            state.withLock { state in
                guard let chunk else {
                    state.ended = true
                    return
                }
                state.buffer.append(contentsOf: chunk)
                Self.split(&state)
            }
        }
    }

    /// The next message, waiting up to `timeout`.
    public func next(timeout: Duration = TestTime.bound(.seconds(60))) async throws -> Received {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (message, ended, garbage) = state.withLock { state -> (Received?, Bool, String?) in
                (state.messages.isEmpty ? nil : state.messages.removeFirst(), state.ended, state.garbage)
            }
            if let message { return message }
            if let garbage { throw PeerError.unframed(garbage) }
            if ended { throw PeerError.endOfOutput }
            if ContinuousClock.now >= deadline { throw PeerError.timeout }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The next `count` messages.
    public func next(_ count: Int, timeout: Duration = TestTime.bound(.seconds(60))) async throws -> [Received] {
        var received: [Received] = []
        for _ in 0..<count { received.append(try await next(timeout: timeout)) }
        return received
    }

    /// Waits until the server closes its output; returns what is left unread.
    public func drain(timeout: Duration = TestTime.bound(.seconds(20))) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while !state.withLock({ $0.ended }) {
            if ContinuousClock.now >= deadline { throw PeerError.timeout }
            try await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { state in
            defer { state.messages.removeAll() }
            return state.messages
        }
    }

    /// Bytes received that are not (yet) a complete message.
    public var leftover: [UInt8] { state.withLock { $0.buffer } }

    private static func split(_ state: inout State) {
        while true {
            guard let start = state.buffer.firstIndex(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) else {
                state.buffer.removeAll()
                return
            }
            let rest = Array(state.buffer[start...])
            if rest.first == UInt8(ascii: "{") || rest.first == UInt8(ascii: "[") {
                guard let newline = rest.firstIndex(of: 0x0A) else { return }
                state.messages.append(Received(framing: "ndjson", text: String(decoding: rest[..<newline], as: UTF8.self)))
                state.buffer = Array(rest[(newline + 1)...])
                continue
            }
            let prefix = "Content-Length: "
            guard rest.count >= prefix.utf8.count else { return }
            guard rest.starts(with: Array(prefix.utf8)) else {
                state.garbage = String(decoding: rest.prefix(200), as: UTF8.self)
                return
            }
            let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
            guard let end = rest.indices.first(where: { rest[$0...].starts(with: separator) }) else { return }
            let digits = String(decoding: rest[prefix.utf8.count..<end], as: UTF8.self)
            guard let length = Int(digits) else {
                state.garbage = "bad Content-Length '\(digits)'"
                return
            }
            let bodyStart = end + 4
            guard rest.count >= bodyStart + length else { return }
            state.messages.append(Received(framing: "lsp", text: String(decoding: rest[bodyStart..<(bodyStart + length)], as: UTF8.self)))
            state.buffer = Array(rest[(bodyStart + length)...])
        }
    }
}

public enum PeerError: Error, CustomStringConvertible {
    case timeout
    case endOfOutput
    case unframed(String)

    public var description: String {
        switch self {
        case .timeout: "timed out waiting for the server"
        case .endOfOutput: "the server closed its output"
        case .unframed(let text): "the server wrote something that is not a framed message: \(text)"
        }
    }
}

extension Received {
    /// The error object's code, or nil for a result.
    public var errorCode: Int? { (object["error"] as? [String: Any])?["code"] as? Int }
    /// The error object's `data`.
    public var errorData: [String: Any]? { (object["error"] as? [String: Any])?["data"] as? [String: Any] }
    /// The error's stable `data.kind`.
    public var errorKind: String? { errorData?["kind"] as? String }
}

extension Received {
    /// The error's `data.reason`, or "".
    public var errorReason: String { errorData?["reason"] as? String ?? "" }
}

/// Reads `fd` to its end on a thread of its own, handing each chunk to `body`, then nil; closes
/// it there when `closingAtEnd` (the caller gave it away: a test runner that starts thousands of
/// programs must not keep a descriptor of each).
func readOnItsOwnThread(_ fd: Int32, closingAtEnd: Bool = false, _ body: @escaping @Sendable ([UInt8]?) -> Void) {
    DetachedThread.start(name: "test reader") {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while let count = try? FileIO.read(fd, into: &chunk), count > 0 {
            body(Array(chunk[..<count]))
        }
        if closingAtEnd { close(fd) }
        body(nil)
    }
}
