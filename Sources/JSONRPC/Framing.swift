/// How one message is delimited on the byte stream. A response goes out in its request's framing.
public enum Framing: String, Sendable, Hashable {
    /// One JSON text per line (`\n`, `\r\n` tolerated): shell scripts, MCP-style clients.
    case newlineDelimited
    /// LSP base protocol: `Content-Length: N` header block, blank line, N bytes of JSON.
    case contentLength

    /// `body` framed for the wire. A line is framed in place: `body` is taken, not copied (a
    /// listing's answer runs to megabytes).
    public func frame(_ body: consuming [UInt8]) -> [UInt8] {
        switch self {
        case .newlineDelimited:
            var framed = body
            framed.append(UInt8(ascii: "\n"))
            return framed
        case .contentLength:
            var framed = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
            framed.append(contentsOf: body)
            return framed
        }
    }
}
