/// Splits a byte stream into messages: a pure state machine, fed arbitrary chunks.
///
/// The framing is detected per message from its first non-white byte: `{` or `[` starts a
/// newline-delimited JSON text; a line shaped like `Name: value` starts an LSP header block.
/// Any other line (`1`, `true`, garbage) is passed on as a newline-delimited message so the
/// server can answer it with a parse error or an Invalid Request and keep serving.
///
/// Memory never grows with what a peer claims: a line past the limit is discarded as it
/// arrives, a body whose Content-Length is past the limit is skipped, not buffered, and a
/// body within it is buffered as it arrives, not reserved up front. A fatal reason says
/// where and what is wrong, never what the bytes were (a header line may hold a password).
public struct FrameDecoder: Sendable {
    public enum Event: Sendable, Equatable {
        /// A complete message body and the framing it came in.
        case message([UInt8], Framing)
        /// A message longer than the limit was skipped; the stream goes on. `size` is the
        /// announced Content-Length, or nil for a line (its length is not known yet).
        case oversized(Framing, size: Int?)
        /// The framing cannot be recovered (e.g. a header block without a valid
        /// Content-Length, or the stream ended inside a message): stop reading.
        case fatal(String)
    }

    public let maxMessageBytes: Int
    public let maxHeaderBytes: Int

    private enum State: Sendable {
        case idle
        /// Collecting a line; `startsJSON` when its first byte was `{` or `[`.
        case line(startsJSON: Bool)
        case discardingLine
        case headers(contentLength: Int?)
        case body(remaining: Int)
        case skippingBody(remaining: Int)
        case closed
    }

    private var state: State = .idle
    private var buffer: [UInt8] = []
    private var headerBytes = 0
    /// Lines of the current header block so far, for naming the one that is wrong.
    private var headerLines = 0

    /// What is reserved for a body before its bytes arrive: a Content-Length is only a claim.
    private static let bodyReservation = 64 << 10

    public init(maxMessageBytes: Int = 16 << 20, maxHeaderBytes: Int = 8 << 10) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// Whether the decoder has given up on the stream.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Feeds the next chunk of the stream; returns the events it completes, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        var rest = chunk[...]
        while !rest.isEmpty {
            switch state {
            case .closed:
                return events
            case .idle:
                guard let start = rest.firstIndex(where: { !Self.isWhitespace($0) }) else { return events }
                rest = rest[start...]
                let first = rest[start]
                state = .line(startsJSON: first == UInt8(ascii: "{") || first == UInt8(ascii: "["))
                buffer.removeAll(keepingCapacity: true)
            case .line(let startsJSON):
                let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
                let piece = rest[..<(newline ?? rest.endIndex)]
                // A line that may turn out to be a header is held to the larger of the two limits.
                let limit = startsJSON ? maxMessageBytes : max(maxMessageBytes, maxHeaderBytes)
                if piece.count > limit - buffer.count {
                    buffer.removeAll()
                    events.append(.oversized(.newlineDelimited, size: nil))
                    state = .discardingLine
                    continue
                }
                buffer.append(contentsOf: piece)
                guard let newline else { return events }
                rest = rest[(newline + 1)...]
                if !startsJSON, let header = Self.header(in: buffer) {
                    headerBytes = buffer.count + 1
                    headerLines = 1
                    buffer.removeAll(keepingCapacity: true)
                    if headerBytes > maxHeaderBytes {
                        return events + [close("header block longer than \(maxHeaderBytes) bytes")]
                    }
                    state = .headers(contentLength: nil)
                    if let failure = accept(header, into: nil) { return events + [close(failure)] }
                } else {
                    events.append(.message(Self.trimmingCR(buffer), .newlineDelimited))
                    state = .idle
                }
            case .discardingLine:
                guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else { return events }
                rest = rest[(newline + 1)...]
                state = .idle
            case .headers(let contentLength):
                let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
                let piece = rest[..<(newline ?? rest.endIndex)]
                headerBytes += piece.count + (newline == nil ? 0 : 1)
                if headerBytes > maxHeaderBytes {
                    return events + [close("header block longer than \(maxHeaderBytes) bytes")]
                }
                buffer.append(contentsOf: piece)
                guard let newline else { return events }
                rest = rest[(newline + 1)...]
                let line = Self.trimmingCR(buffer)
                buffer.removeAll(keepingCapacity: true)
                if !line.isEmpty {
                    headerLines += 1
                    guard let header = Self.header(in: line) else {
                        return events + [close("line \(headerLines) of a header block is not 'Name: value'")]
                    }
                    if let failure = accept(header, into: contentLength) { return events + [close(failure)] }
                    continue
                }
                guard let length = contentLength else {
                    return events + [close("header block without a Content-Length")]
                }
                if length > maxMessageBytes {
                    events.append(.oversized(.contentLength, size: length))
                    state = length == 0 ? .idle : .skippingBody(remaining: length)
                } else if length == 0 {
                    events.append(.message([], .contentLength))
                    state = .idle
                } else {
                    buffer.reserveCapacity(min(length, Self.bodyReservation))
                    state = .body(remaining: length)
                }
            case .body(let remaining):
                let take = min(remaining, rest.count)
                buffer.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                if take == remaining {
                    events.append(.message(buffer, .contentLength))
                    buffer = []
                    state = .idle
                } else {
                    state = .body(remaining: remaining - take)
                }
            case .skippingBody(let remaining):
                let take = min(remaining, rest.count)
                rest = rest.dropFirst(take)
                state = take == remaining ? .idle : .skippingBody(remaining: remaining - take)
            }
        }
        return events
    }

    /// Feeds a chunk held in an array.
    public mutating func feed(_ chunk: [UInt8]) -> [Event] {
        chunk.withUnsafeBytes { feed($0) }
    }

    /// The stream has ended: a final line without a newline is still a message; a stream
    /// that ends inside a header block or a body is reported.
    public mutating func finish() -> [Event] {
        defer { state = .closed }
        switch state {
        case .idle, .closed, .discardingLine:
            return []
        case .line(let startsJSON):
            let line = Self.trimmingCR(buffer)
            if !startsJSON, Self.header(in: line) != nil {
                return [.fatal("input ended inside a header block")]
            }
            return [.message(line, .newlineDelimited)]
        case .headers:
            return [.fatal("input ended inside a header block")]
        case .body(let remaining):
            return [.fatal("input ended \(remaining) bytes before the end of a Content-Length body")]
        case .skippingBody(let remaining):
            return [.fatal("input ended \(remaining) bytes before the end of an oversized body")]
        }
    }

    // MARK: - Headers

    private struct Header {
        var name: String
        var value: String
    }

    /// Applies one header; returns the reason when the block is unrecoverable.
    private mutating func accept(_ header: Header, into contentLength: Int?) -> String? {
        guard header.name.lowercased() == "content-length" else {
            // Content-Type and any other header are allowed and carry nothing we need.
            return nil
        }
        if contentLength != nil { return "more than one Content-Length header" }
        let digits = header.value.utf8
        guard !digits.isEmpty, digits.allSatisfy(Self.isDigit) else {
            return "Content-Length on line \(headerLines) of a header block is not a decimal number"
        }
        // 18 digits always fit in an Int; a longer value is refused, never parsed.
        guard digits.count <= 18, let length = Int(header.value) else {
            return "Content-Length on line \(headerLines) of a header block has more than 18 digits"
        }
        state = .headers(contentLength: length)
        return nil
    }

    private mutating func close(_ reason: String) -> Event {
        state = .closed
        buffer = []
        return .fatal(reason)
    }

    /// `Name: value` where Name is an RFC 9110 token; nil for any other line.
    private static func header(in line: [UInt8]) -> Header? {
        let line = trimmingCR(line)
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            line[..<colon].allSatisfy(isTokenByte)
        else { return nil }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = line[(colon + 1)...].drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        return Header(name: name, value: String(decoding: value, as: UTF8.self))
    }

    private static func trimmingCR(_ line: [UInt8]) -> [UInt8] {
        line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
