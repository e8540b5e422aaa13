import TofuCore
// The HTTP/1.1 response parser: pure and synchronous (bytes in, events out, no I/O), so it can
// be fuzzed alone (fuzz/FuzzHTTP.swift compiles this file by itself). Standard library only.

/// One header field of an answer; the name lowercased.
public struct HTTPField: Sendable, Equatable {
    public let name: String
    public let value: String
}

/// The status line and header fields of one answer.
public struct HTTPResponseHead: Sendable, Equatable {
    /// The `x` of `HTTP/1.x`.
    public let minorVersion: Int
    public let status: Int
    public let reason: String
    public let fields: [HTTPField]

    /// Every value of the field `name` (any case), comma-joined in order as RFC 9110 §5.3
    /// combines repeated fields; nil when the field is absent.
    public func value(_ name: String) -> String? {
        let name = name.lowercased()
        let values = fields.filter { $0.name == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// The members of a comma-separated list field (`Connection`, `Transfer-Encoding`),
    /// lowercased, empty members dropped.
    func tokens(_ name: String) -> [String] {
        guard let value = value(name) else { return [] }
        return value.split(separator: ",").map { HTTPSyntax.trimmed(Substring($0)).lowercased() }.filter { !$0.isEmpty }
    }
}

/// What the reader found in the bytes it was fed, in order.
public enum HTTPResponseEvent: Sendable, Equatable {
    /// A 1xx interim answer (100 Continue, 103 Early Hints): skipped, the final answer follows.
    case interim(HTTPResponseHead)
    /// The final answer's head.
    case head(HTTPResponseHead)
    /// A piece of the final answer's body (chunked framing removed).
    case body([UInt8])
    /// The answer is complete. `persistent`: RFC 9112 §9.3 lets the connection carry another
    /// request (HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `keep-alive`, and a
    /// body whose end was framed rather than marked by the close).
    case end(persistent: Bool)
}

/// Every bound on what a peer can make the reader hold or count.
public struct HTTPResponseLimits: Sendable, Equatable {
    /// One head (status line and header fields, line ends included).
    public var headBytes = 64 << 10
    /// Header fields in one head.
    public var fieldCount = 256
    /// The body, after chunked framing is removed.
    public var bodyBytes = 1 << 20
    /// One chunk-size line, extensions included.
    public var chunkLineBytes = 4 << 10
    /// Chunk-size lines and chunk line ends of one answer, in total.
    public var chunkFramingBytes = 1 << 20
    /// The trailer section of a chunked body.
    public var trailerBytes = 16 << 10
    /// 1xx answers before the final one.
    public var interimAnswers = 8

    public init() {}
}

/// Why the answer cannot be read; `detail` is a sentence for the operator. Never carries the
/// peer's bytes beyond a short, escaped excerpt in “curly quotes”.
public struct HTTPResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let detail: String
    init(_ detail: String) { self.detail = detail }
    public var description: String { detail }
}

/// An RFC 9112 response parser for one answer: status line, header fields, interim 1xx answers,
/// Content-Length, chunked and close-delimited bodies; bare LF line ends tolerated. Every size,
/// length and count the peer controls is bounded by `HTTPResponseLimits` and checked without
/// overflow before it is used.
public struct HTTPResponseReader: Sendable {
    public let limits: HTTPResponseLimits
    private let bodiless: Bool

    private enum LineKind: Sendable { case status, field, chunkSize, chunkEnd, trailer }
    private enum State: Sendable {
        case line(LineKind)
        case fixed(remaining: Int)
        case chunkData(remaining: Int)
        case untilClose
        case done
    }

    private var state = State.line(.status)
    private var line: [UInt8] = []
    private var failure: HTTPResponseError?
    /// Head bytes used by the head being read.
    private var headUsed = 0
    private var status: (minor: Int, code: Int, reason: String)?
    /// The fields of the head being read (values mutable in place for obs-fold).
    private var fieldNames: [String] = []
    private var fieldValues: [String] = []
    private var interimCount = 0
    private var bodyUsed = 0
    private var chunkFramingUsed = 0
    private var trailerUsed = 0
    private var persistent = false

    /// Whether any byte of an answer has arrived.
    public private(set) var hasReceivedBytes = false
    /// Whether bytes arrived after the end of the answer (the connection then cannot be trusted
    /// to carry another request).
    public private(set) var hasSurplus = false
    /// Whether the answer is complete.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// `bodilessRequest`: the request was HEAD, whose answer has no body whatever its headers say.
    public init(limits: HTTPResponseLimits = HTTPResponseLimits(), bodilessRequest: Bool = false) {
        self.limits = limits
        self.bodiless = bodilessRequest
    }

    /// Reads `input`, the next bytes from the connection. After an error, every call throws it.
    public mutating func feed(_ input: [UInt8]) throws(HTTPResponseError) -> [HTTPResponseEvent] {
        if let failure { throw failure }
        if !input.isEmpty { hasReceivedBytes = true }
        var events: [HTTPResponseEvent] = []
        do throws(HTTPResponseError) {
            var index = input.startIndex
            while index < input.endIndex {
                let available = input.endIndex - index
                switch state {
                case .done:
                    hasSurplus = true
                    return events
                case .line(let kind):
                    let room = lineRoom(kind)
                    if let newline = input[index...].firstIndex(of: 10) {
                        guard newline - index <= room - line.count else { throw overlong(kind) }
                        line.append(contentsOf: input[index..<newline])
                        index = newline + 1
                        try account(kind, bytes: line.count + 1)
                        if line.last == 13 { line.removeLast() }
                        let text = line
                        line.removeAll(keepingCapacity: true)
                        try take(text, as: kind, into: &events)
                    } else {
                        guard available <= room - line.count else { throw overlong(kind) }
                        line.append(contentsOf: input[index...])
                        index = input.endIndex
                    }
                case .fixed(let remaining):
                    let count = min(remaining, available)
                    events.append(.body(Array(input[index..<(index + count)])))
                    index += count
                    bodyUsed += count
                    if count == remaining { finishAnswer(into: &events) } else { state = .fixed(remaining: remaining - count) }
                case .chunkData(let remaining):
                    let count = min(remaining, available)
                    events.append(.body(Array(input[index..<(index + count)])))
                    index += count
                    bodyUsed += count
                    state = count == remaining ? .line(.chunkEnd) : .chunkData(remaining: remaining - count)
                case .untilClose:
                    guard available <= limits.bodyBytes - bodyUsed else {
                        throw HTTPResponseError("the answer's body exceeds \(limits.bodyBytes) bytes, more than a token answer can need")
                    }
                    events.append(.body(Array(input[index...])))
                    bodyUsed += available
                    index = input.endIndex
                }
            }
            return events
        } catch {
            failure = error
            throw error
        }
    }

    /// The connection ended (the peer closed it). Completes a close-delimited body; anything
    /// else unfinished is an error.
    public mutating func finish() throws(HTTPResponseError) -> [HTTPResponseEvent] {
        if let failure { throw failure }
        var events: [HTTPResponseEvent] = []
        switch state {
        case .done:
            return []
        case .untilClose:
            persistent = false
            finishAnswer(into: &events)
            return events
        case .line(.status) where !hasReceivedBytes:
            failure = HTTPResponseError("the connection closed before any byte of an answer")
        case .line(.status), .line(.field):
            failure = HTTPResponseError("the connection closed in the middle of the answer's headers")
        default:
            failure = HTTPResponseError("the connection closed before the answer's body was complete")
        }
        throw failure ?? HTTPResponseError("the connection closed")
    }

    // MARK: - Lines

    /// Bytes the current line may still take, its line feed not included.
    private func lineRoom(_ kind: LineKind) -> Int {
        switch kind {
        case .status, .field: return max(0, limits.headBytes - headUsed - 1)
        case .chunkSize: return max(0, min(limits.chunkLineBytes, limits.chunkFramingBytes - chunkFramingUsed - 1))
        case .chunkEnd: return 1  // the CR of CRLF
        case .trailer: return max(0, limits.trailerBytes - trailerUsed - 1)
        }
    }

    private func overlong(_ kind: LineKind) -> HTTPResponseError {
        switch kind {
        case .status, .field: return HTTPResponseError("the answer's headers exceed \(limits.headBytes) bytes")
        case .chunkSize:
            return limits.chunkLineBytes >= limits.chunkFramingBytes - chunkFramingUsed
                ? HTTPResponseError("the chunked answer's framing exceeds \(limits.chunkFramingBytes) bytes")
                : HTTPResponseError("a chunk-size line exceeds \(limits.chunkLineBytes) bytes")
        case .chunkEnd: return HTTPResponseError("a chunk is not followed by a line end (the chunk size is wrong)")
        case .trailer: return HTTPResponseError("the chunked answer's trailer section exceeds \(limits.trailerBytes) bytes")
        }
    }

    /// Counts a complete line (line feed included) against its budget; `lineRoom` keeps every
    /// sum below its limit, so none of these can overflow.
    private mutating func account(_ kind: LineKind, bytes: Int) throws(HTTPResponseError) {
        switch kind {
        case .status, .field: headUsed += bytes
        case .chunkSize, .chunkEnd:
            chunkFramingUsed += bytes
            guard chunkFramingUsed <= limits.chunkFramingBytes else {
                throw HTTPResponseError("the chunked answer's framing exceeds \(limits.chunkFramingBytes) bytes")
            }
        case .trailer: trailerUsed += bytes
        }
    }

    private mutating func take(_ text: [UInt8], as kind: LineKind, into events: inout [HTTPResponseEvent]) throws(HTTPResponseError) {
        switch kind {
        case .status:
            // Empty lines before the status line (after a 1xx, say) are skipped.
            guard !text.isEmpty else { return }
            status = try Self.statusLine(text)
            state = .line(.field)
        case .field:
            if text.isEmpty {
                try endOfHead(into: &events)
            } else {
                try field(text)
            }
        case .chunkSize:
            let size = try chunkSize(text)
            state = size == 0 ? .line(.trailer) : .chunkData(remaining: size)
        case .chunkEnd:
            guard text.isEmpty else { throw overlong(.chunkEnd) }
            state = .line(.chunkSize)
        case .trailer:
            // Trailer fields are bounded and ignored: nothing tofu reads is sent there.
            if text.isEmpty { finishAnswer(into: &events) }
        }
    }

    private static func statusLine(_ text: [UInt8]) throws(HTTPResponseError) -> (minor: Int, code: Int, reason: String) {
        // HTTP-version SP 3DIGIT [SP reason-phrase]; a missing reason (and its space) is tolerated.
        let prefix = Array("HTTP/1.".utf8)
        guard text.count >= 12, Array(text[0..<7]) == prefix, HTTPSyntax.isDigit(text[7]), text[8] == 32,
            HTTPSyntax.isDigit(text[9]), HTTPSyntax.isDigit(text[10]), HTTPSyntax.isDigit(text[11]),
            text.count == 12 || text[12] == 32
        else {
            throw HTTPResponseError("the answer is not HTTP/1.x (its first line is \(HTTPSyntax.excerpt(text)))")
        }
        let code = Int(text[9] - 48) * 100 + Int(text[10] - 48) * 10 + Int(text[11] - 48)
        guard (100...599).contains(code) else { throw HTTPResponseError("the answer's status \(code) is not an HTTP status") }
        let reason = text.count > 13 ? String(decoding: text[13...], as: UTF8.self) : ""
        return (Int(text[7] - 48), code, reason)
    }

    private mutating func field(_ text: [UInt8]) throws(HTTPResponseError) {
        if text[0] == 32 || text[0] == 9 {
            // obs-fold (RFC 9112 §5.2): a continuation of the previous field, joined with a space;
            // before any field it is consumed without further processing (§2.2).
            guard !fieldValues.isEmpty else { return }
            let more = HTTPSyntax.trimmed(Substring(decoding: text, as: UTF8.self))
            fieldValues[fieldValues.count - 1] += fieldValues[fieldValues.count - 1].isEmpty ? more : " " + more
            return
        }
        guard fieldNames.count < limits.fieldCount else {
            throw HTTPResponseError("the answer has more than \(limits.fieldCount) header fields")
        }
        guard let colon = text.firstIndex(of: 58) else {
            throw HTTPResponseError("a header line of the answer has no colon (\(HTTPSyntax.excerpt(text)))")
        }
        // Whitespace between name and colon is removed, as a proxy must (RFC 9112 §5.1).
        var nameEnd = colon
        while nameEnd > 0, text[nameEnd - 1] == 32 || text[nameEnd - 1] == 9 { nameEnd -= 1 }
        let name = text[0..<nameEnd]
        guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenCharacter) else {
            throw HTTPResponseError("a header name of the answer is not a token (\(HTTPSyntax.excerpt(text)))")
        }
        let value = HTTPSyntax.trimmed(Substring(decoding: text[(colon + 1)...], as: UTF8.self))
        fieldNames.append(String(decoding: name, as: UTF8.self).lowercased())
        fieldValues.append(value)
    }

    private mutating func endOfHead(into events: inout [HTTPResponseEvent]) throws(HTTPResponseError) {
        guard let status else { throw HTTPResponseError("the answer has no status line") }
        let fields = zip(fieldNames, fieldValues).map { HTTPField(name: $0, value: $1) }
        let head = HTTPResponseHead(minorVersion: status.minor, status: status.code, reason: status.reason, fields: fields)
        self.status = nil
        fieldNames = []
        fieldValues = []
        headUsed = 0
        if (100...199).contains(head.status) {
            guard head.status != 101 else { throw HTTPResponseError("the answer switches protocols (101), which tofu did not ask for") }
            interimCount += 1
            guard interimCount <= limits.interimAnswers else {
                throw HTTPResponseError("the answer sent more than \(limits.interimAnswers) interim (1xx) answers and no final one")
            }
            events.append(.interim(head))
            state = .line(.status)
            return
        }
        events.append(.head(head))
        let connection = head.tokens("connection")
        persistent = !connection.contains("close") && (head.minorVersion >= 1 || connection.contains("keep-alive"))
        // RFC 9112 §6.3, in its order.
        if bodiless || head.status == 204 || head.status == 304 {
            finishAnswer(into: &events)
            return
        }
        if head.value("transfer-encoding") != nil {
            let codings = head.tokens("transfer-encoding")
            guard codings == ["chunked"] else {
                throw HTTPResponseError(
                    "the answer uses the transfer coding \(HTTPSyntax.excerpt(Array(codings.joined(separator: ", ").utf8))), which tofu did not ask for")
            }
            // With Content-Length as well, or in HTTP/1.0, Transfer-Encoding wins but the framing
            // is suspect (request smuggling, RFC 9112 §6.1, §6.3): the connection is not reused.
            if head.value("content-length") != nil || head.minorVersion == 0 { persistent = false }
            state = .line(.chunkSize)
            return
        }
        if let lengthText = head.value("content-length") {
            let length = try contentLength(lengthText)
            if length == 0 {
                finishAnswer(into: &events)
            } else {
                state = .fixed(remaining: length)
            }
            return
        }
        persistent = false
        state = .untilClose
    }

    /// Content-Length: digits only; a list ("5, 5", or the field repeated) only of one value
    /// (RFC 9110 §8.6); never more than the body bound, checked digit by digit so no length
    /// overflows whatever its number of digits.
    private func contentLength(_ text: String) throws(HTTPResponseError) -> Int {
        var length: Int?
        for member in text.split(separator: ",", omittingEmptySubsequences: false) {
            let digits = HTTPSyntax.trimmed(member)
            guard !digits.isEmpty, digits.utf8.allSatisfy(HTTPSyntax.isDigit) else {
                throw HTTPResponseError("the answer's Content-Length \(HTTPSyntax.excerpt(Array(text.utf8))) is not a number")
            }
            var value = 0
            for digit in digits.utf8 {
                let shifted = value.multipliedReportingOverflow(by: 10)
                let next = shifted.partialValue.addingReportingOverflow(Int(digit - 48))
                value = next.partialValue
                guard !shifted.overflow, !next.overflow, value <= limits.bodyBytes else {
                    throw HTTPResponseError(
                        "the answer announces a body of \(HTTPSyntax.excerpt(Array(digits.utf8))) bytes, more than the \(limits.bodyBytes) a token answer can need")
                }
            }
            guard length == nil || length == value else {
                throw HTTPResponseError("the answer's Content-Length values disagree (\(HTTPSyntax.excerpt(Array(text.utf8))))")
            }
            length = value
        }
        guard let length else { throw HTTPResponseError("the answer's Content-Length is empty") }
        return length
    }

    /// chunk-size [BWS ";" extensions]: hex digits only, and never more than the body bound
    /// still allows, checked digit by digit.
    private func chunkSize(_ text: [UInt8]) throws(HTTPResponseError) -> Int {
        let budget = limits.bodyBytes - bodyUsed
        var size = 0
        var index = 0
        while index < text.count, let digit = HTTPSyntax.hexValue(text[index]) {
            let shifted = size.multipliedReportingOverflow(by: 16)
            let next = shifted.partialValue.addingReportingOverflow(digit)
            size = next.partialValue
            guard !shifted.overflow, !next.overflow, size <= budget else {
                throw HTTPResponseError(
                    "the chunk size \(HTTPSyntax.excerpt(text)) (hexadecimal) would take the answer's body past \(limits.bodyBytes) bytes")
            }
            index += 1
        }
        guard index > 0 else { throw HTTPResponseError("invalid chunk size \(HTTPSyntax.excerpt(text))") }
        while index < text.count, text[index] == 32 || text[index] == 9 { index += 1 }
        guard index == text.count || text[index] == 59 else {
            throw HTTPResponseError("invalid chunk size \(HTTPSyntax.excerpt(text))")
        }
        return size
    }

    private mutating func finishAnswer(into events: inout [HTTPResponseEvent]) {
        state = .done
        events.append(.end(persistent: persistent))
    }
}

/// Byte classes of RFC 9110's grammar, and a safe excerpt of peer text for messages.
enum HTTPSyntax {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    static func hexValue(_ byte: UInt8) -> Int? { ASCII.hexValue(byte).map(Int.init) }

    /// tchar: the characters of a header name.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func trimmed(_ text: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isSpace($0) }), let end = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[start...end])
    }

    /// At most 40 bytes of peer text in “curly quotes”, printable ASCII only (anything else as
    /// \xNN), for a message; the quotes cannot occur inside, so the excerpt can be found again
    /// (and withheld, see `DnacAuthentication`).
    static func excerpt(_ bytes: [UInt8]) -> String {
        "\u{201C}" + escaped(bytes.prefix(40)) + (bytes.count > 40 ? "…" : "") + "\u{201D}"
    }

    /// `bytes` as an excerpt shows them: printable ASCII but `'` and `\`, the rest as \xNN.
    static func escaped(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7F && byte != 0x27 && byte != 0x5C {
                text.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text
    }
}
