import Foundation

/// One HTTP/1.1 response, bounded: what a DNA Center answered.
public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names lowercased.
    public let headers: [String: String]
    public let body: [UInt8]
    /// The request path it answers.
    public let path: String
}

/// Why an HTTP exchange over an established TLS connection failed.
public struct HTTPExchangeError: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public var description: String { detail }
}

/// A minimal HTTP/1.1 client for one request at a time over a `TLSConnection`: bounded in
/// header size, body size and time; Content-Length, chunked and close-delimited bodies.
struct HTTPExchange {
    static let maxHeaderBytes = 64 << 10
    static let maxBodyBytes = 1 << 20

    private let connection: TLSConnection
    private let deadline: Deadline
    private var buffer: [UInt8] = []
    private var ended = false

    init(connection: TLSConnection, deadline: Deadline) {
        self.connection = connection
        self.deadline = deadline
    }

    /// Sends `request` and reads the response to it.
    mutating func send(_ request: [UInt8], path: String) throws(HTTPExchangeError) -> HTTPResponse {
        do {
            try connection.write(request, deadline: deadline)
        } catch {
            throw HTTPExchangeError(detail: "sending the request failed: \(error.detail)")
        }
        let head = try readHead()
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]), (100...599).contains(status) else {
            throw HTTPExchangeError(detail: "the answer is not HTTP/1.x (status line '\(lines[0].prefix(80))')")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body: [UInt8]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try readChunked()
        } else if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0 else { throw HTTPExchangeError(detail: "invalid Content-Length '\(lengthText)'") }
            guard length <= Self.maxBodyBytes else {
                throw HTTPExchangeError(detail: "the answer announces \(length) bytes, more than the \(Self.maxBodyBytes) a token answer can need")
            }
            body = try readExactly(length)
        } else {
            body = try readToEnd()
        }
        return HTTPResponse(status: status, headers: headers, body: body, path: path)
    }

    /// Whether the peer closed the connection (so another request needs a new one).
    var isClosed: Bool { ended }

    private mutating func fill() throws(HTTPExchangeError) {
        guard !ended else { throw HTTPExchangeError(detail: "the connection closed before the answer was complete") }
        let chunk: [UInt8]
        do {
            chunk = try connection.read(maximum: 16 << 10, deadline: deadline)
        } catch {
            throw HTTPExchangeError(detail: error.reason == .timeout ? "no complete answer before the deadline" : "reading the answer failed: \(error.detail)")
        }
        if chunk.isEmpty { ended = true } else { buffer += chunk }
    }

    private mutating func readHead() throws(HTTPExchangeError) -> [UInt8] {
        let separator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = firstIndex(of: separator) {
                let head = Array(buffer[..<end])
                buffer.removeFirst(end + 4)
                return head
            }
            guard buffer.count <= Self.maxHeaderBytes else { throw HTTPExchangeError(detail: "the answer's headers exceed \(Self.maxHeaderBytes) bytes") }
            try fill()
        }
    }

    private mutating func readLine() throws(HTTPExchangeError) -> String {
        while true {
            if let end = firstIndex(of: [13, 10]) {
                let line = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return line
            }
            guard buffer.count <= 1024 else { throw HTTPExchangeError(detail: "a chunk header is too long") }
            try fill()
        }
    }

    private mutating func readExactly(_ count: Int) throws(HTTPExchangeError) -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return bytes
    }

    private mutating func readChunked() throws(HTTPExchangeError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeText = try readLine().split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw HTTPExchangeError(detail: "invalid chunk size '\(sizeText.prefix(20))'")
            }
            if size == 0 {
                while try !readLine().isEmpty {}
                return body
            }
            guard body.count + size <= Self.maxBodyBytes else { throw HTTPExchangeError(detail: "the chunked answer exceeds \(Self.maxBodyBytes) bytes") }
            body += try readExactly(size)
            guard try readLine().isEmpty else { throw HTTPExchangeError(detail: "a chunk is not followed by CRLF") }
        }
    }

    private mutating func readToEnd() throws(HTTPExchangeError) -> [UInt8] {
        while !ended {
            guard buffer.count <= Self.maxBodyBytes else { throw HTTPExchangeError(detail: "the answer exceeds \(Self.maxBodyBytes) bytes") }
            try fill()
        }
        defer { buffer.removeAll() }
        return buffer
    }

    private func firstIndex(of pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for start in 0...(buffer.count - pattern.count) where buffer[start] == pattern[0] {
            if Array(buffer[start..<(start + pattern.count)]) == pattern { return start }
        }
        return nil
    }
}
