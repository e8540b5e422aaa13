import Foundation
import TofuCore

/// Cisco DNA Center's token request, over the connection whose certificate was checked.
///
/// `POST /dna/system/api/v1/auth/token` with HTTP Basic auth; releases before 1.2.6 answer
/// 404 there and serve `/api/system/v1/auth/token`, which is tried next: over the same
/// connection when RFC 9112 lets it carry another request, otherwise (or when the controller
/// closed it without saying so) over a new connection, and only once that connection presents
/// the very same certificate. Credentials never cross a connection whose certificate was not
/// checked, and every error says what was sent where.
public enum DnacAuthentication {
    public static let paths = ["/dna/system/api/v1/auth/token", "/api/system/v1/auth/token"]

    /// The controller's answer to the token request (the last one tried).
    public static func requestToken(
        over connection: TLSConnection, username: String, password: String, timeoutMilliseconds: Int
    ) throws(HTTPExchangeError) -> HTTPResponse {
        let deadline = Deadline(milliseconds: timeoutMilliseconds)
        let credentials = Data("\(username):\(password)".utf8).base64EncodedString()
        let (newer, older) = (paths[0], paths[1])
        // What the controller answered may be quoted in an error; never if it echoes the secrets.
        let secrets = [credentials, password]
        func answered(_ failure: ExchangeFailure) -> String { withholdingEchoes(of: secrets, in: failure.detail) }
        var exchange = HTTPExchange(connection: connection, deadline: deadline)
        let first: HTTPResponse
        do {
            first = try wiping(request(newer, host: connection.host, credentials: credentials)) { bytes throws(ExchangeFailure) in try exchange.send(bytes, path: newer) }
        } catch {
            let sent = error.requestSent
                ? "the credentials were sent once, over the checked connection, to \(newer)"
                : "the request with the credentials to \(newer) could not be sent completely, over the checked connection"
            throw HTTPExchangeError(detail: "\(answered(error)); \(sent)")
        }
        guard first.status == 404 else { return first }

        var sent = "the credentials were sent once, over the checked connection, to \(newer) (answered 404)"
        if exchange.isReusable {
            do {
                return try wiping(request(older, host: connection.host, credentials: credentials)) { bytes throws(ExchangeFailure) in try exchange.send(bytes, path: older) }
            } catch where error.endedBeforeAnswer {
                // The controller closed the connection after the 404 without saying so.
                sent = error.requestSent
                    ? "the credentials were sent twice over the checked connection: to \(newer) (answered 404) and to \(older) (the connection ended before any answer)"
                    : "the credentials were sent once, over the checked connection, to \(newer) (answered 404); that connection ended before the request to \(older) could be sent"
            } catch {
                let twice = error.requestSent
                    ? "the credentials were sent twice over the checked connection: to \(newer) (answered 404) and to \(older)"
                    : "\(sent); sending the request to \(older) over the same connection failed"
                throw HTTPExchangeError(detail: "\(answered(error)); \(twice)")
            }
        }
        let fresh = try reopen(like: connection, deadline: deadline, sent: sent, older: older)
        var second = HTTPExchange(connection: fresh, deadline: deadline)
        do {
            return try wiping(request(older, host: connection.host, credentials: credentials)) { bytes throws(ExchangeFailure) in try second.send(bytes, path: older) }
        } catch {
            let how = error.requestSent ? "and to \(older)" : "and an attempt to send them to \(older) failed,"
            throw HTTPExchangeError(
                detail: "\(answered(error)); \(sent), \(how) over a new connection that presented the same certificate")
        }
    }

    /// `detail` with every excerpt of the answer (“…”, see `HTTPSyntax.excerpt`) withheld if any
    /// 4 characters of a secret, written as an excerpt writes them (`'`, `\` and non-ASCII bytes
    /// escaped), appear in it: a controller that echoes the request must not get the password or
    /// its base64 form into an error message, a log or a terminal, whole or cut at the excerpt's end.
    static func withholdingEchoes(of secrets: [String], in detail: String) -> String {
        let echoed = secrets.contains { secret in
            let characters = Array(HTTPSyntax.escaped(Array(secret.utf8)))
            let width = min(4, characters.count)
            guard width > 0 else { return false }
            return (0...(characters.count - width)).contains { detail.contains(String(characters[$0..<($0 + width)])) }
        }
        guard echoed else { return detail }
        var result = ""
        var quoted = false
        for character in detail {
            switch character {
            case "\u{201C}" where !quoted:
                result += "\u{201C}withheld: it may echo the credentials\u{201D}"
                quoted = true
            case "\u{201D}" where quoted:
                quoted = false
            default:
                if !quoted { result.append(character) }
            }
        }
        return result
    }

    /// Runs `body` with a request that carries the credentials, then wipes the request's bytes
    /// (the Swift strings it was made from cannot be wiped reliably: core dumps are off for that).
    private static func wiping<T, E: Error>(_ request: consuming [UInt8], _ body: ([UInt8]) throws(E) -> T) throws(E) -> T {
        var bytes = request
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        return try body(bytes)
    }

    private static func request(_ path: String, host: HostKey, credentials: String) -> [UInt8] {
        Array(
            ("POST \(path) HTTP/1.1\r\nHost: \(host.hostForURL):\(host.port)\r\nAuthorization: Basic \(credentials)\r\n"
                + "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 0\r\nUser-Agent: tofu\r\n\r\n").utf8)
    }

    /// A new connection to the same host for the older path, accepted only if it presents the
    /// certificate the checked connection presented; nothing is sent on it otherwise.
    private static func reopen(
        like connection: TLSConnection, deadline: Deadline, sent: String, older: String
    ) throws(HTTPExchangeError) -> TLSConnection {
        let fresh: TLSConnection
        do {
            fresh = try TLSConnection(host: connection.host, deadline: deadline, cancel: connection.cancelFlag)
        } catch {
            throw HTTPExchangeError(
                detail: "\(sent); the controller closed that connection, and reconnecting for \(older) failed (\(error.detail)), so nothing more was sent")
        }
        guard let checked = connection.presented?.leaf, let presented = fresh.presented?.leaf else {
            throw HTTPExchangeError(detail: "\(sent); the new connection for \(older) presented no certificate, and nothing was sent on it")
        }
        guard presented.sha256Fingerprint == checked.sha256Fingerprint else {
            throw HTTPExchangeError(
                detail: "\(sent); the controller closed that connection, and the new connection for \(older) presented a different certificate (SHA-256 \(presented.sha256Fingerprint), where the checked one was \(checked.sha256Fingerprint)), and nothing was sent on it. Something else may be answering at this address: check the controller's certificate with verifyCert before adding it again",
                presentedOnReconnect: presented)
        }
        return fresh
    }
}
