import TofuCore

/// One HTTP/1.1 response, bounded: what a DNA Center answered.
public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names lowercased; a repeated field's values comma-joined.
    public let headers: [String: String]
    public let body: [UInt8]
    /// The request path it answers.
    public let path: String
}

/// Why the token request failed: `detail` says what went wrong and what was sent where.
public struct HTTPExchangeError: Error, Sendable, CustomStringConvertible {
    public let detail: String
    /// The certificate a new connection presented when it was not the checked one (the
    /// controller closed the checked connection after the 404 on the newer token path, and
    /// the reconnection for the older path met another certificate). Nothing was sent on that
    /// connection; the caller records the mismatch.
    public let presentedOnReconnect: CertificateSummary?

    init(detail: String, presentedOnReconnect: CertificateSummary? = nil) {
        self.detail = detail
        self.presentedOnReconnect = presentedOnReconnect
    }

    public var description: String { detail }
}

/// A request/answer exchange that failed, and whether another connection may be tried.
struct ExchangeFailure: Error {
    let detail: String
    /// Whether every byte of the request was handed to TLS.
    let requestSent: Bool
    /// The connection ended (closed or reset) before any byte of an answer: on a reused
    /// connection, the server had closed it without saying so.
    let endedBeforeAnswer: Bool
}

/// One request at a time over a `TLSConnection`, read with `HTTPResponseReader`: bounded in
/// size (the reader's limits) and in time (`deadline`).
struct HTTPExchange {
    private let connection: TLSConnection
    private let deadline: Deadline
    /// Whether another request may go over this connection: RFC 9112 §9.3 allows it, and the
    /// peer sent nothing after the last answer (bytes there would be read as the next answer:
    /// response splitting).
    private(set) var isReusable = true

    init(connection: TLSConnection, deadline: Deadline) {
        self.connection = connection
        self.deadline = deadline
    }

    /// Sends `request` and reads the (final) answer to it.
    mutating func send(_ request: [UInt8], path: String) throws(ExchangeFailure) -> HTTPResponse {
        isReusable = false
        do {
            try connection.write(request, deadline: deadline)
        } catch {
            let ended = error.reason == .reset
            throw ExchangeFailure(detail: Self.describe(error, doing: "sending the request"), requestSent: false, endedBeforeAnswer: ended)
        }
        var reader = HTTPResponseReader()
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var closed = false
        while true {
            var events: [HTTPResponseEvent]
            do {
                let bytes = try connection.read(maximum: 16 << 10, deadline: deadline)
                if bytes.isEmpty {
                    closed = true
                    events = try reader.finish()
                } else {
                    events = try reader.feed(bytes)
                }
            } catch let error as ProbeFailure {
                let ended = error.reason == .reset && !reader.hasReceivedBytes
                throw ExchangeFailure(detail: Self.describe(error, doing: "reading the answer"), requestSent: true, endedBeforeAnswer: ended)
            } catch let error as HTTPResponseError {
                throw ExchangeFailure(detail: error.detail, requestSent: true, endedBeforeAnswer: closed && !reader.hasReceivedBytes)
            } catch {
                throw ExchangeFailure(detail: "reading the answer failed: \(error)", requestSent: true, endedBeforeAnswer: false)
            }
            for event in events {
                switch event {
                case .interim: continue
                case .head(let final): head = final
                case .body(let bytes): body += bytes
                case .end(let persistent):
                    guard let head else {
                        throw ExchangeFailure(detail: "the answer ended without a status line", requestSent: true, endedBeforeAnswer: false)
                    }
                    isReusable = persistent && !reader.hasSurplus
                    var headers: [String: String] = [:]
                    for field in head.fields where headers[field.name] == nil { headers[field.name] = head.value(field.name) }
                    return HTTPResponse(status: head.status, headers: headers, body: body, path: path)
                }
            }
        }
    }

    private static func describe(_ failure: ProbeFailure, doing what: String) -> String {
        switch failure.reason {
        case .timeout: return "no complete answer before the deadline"
        case .cancelled: return "the call was cancelled while \(what)"
        default: return "\(what) failed: \(failure.detail)"
        }
    }
}
