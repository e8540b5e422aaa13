import Foundation
import TofuCore

/// Cisco DNA Center's token request, over the connection whose certificate was checked.
///
/// `POST /dna/system/api/v1/auth/token` with HTTP Basic auth; releases before 1.2.6 answer
/// 404 there and serve `/api/system/v1/auth/token`, which is tried next. If the controller
/// closed the connection after the 404, the second request goes over a new connection, and
/// only after that connection presents the very same certificate: credentials never cross a
/// connection whose certificate was not checked.
public enum DnacAuthentication {
    public static let paths = ["/dna/system/api/v1/auth/token", "/api/system/v1/auth/token"]

    /// The controller's answer to the token request (the last one tried).
    public static func requestToken(
        over connection: TLSConnection, username: String, password: String, timeoutMilliseconds: Int
    ) throws(HTTPExchangeError) -> HTTPResponse {
        let deadline = Deadline(milliseconds: timeoutMilliseconds)
        let credentials = Data("\(username):\(password)".utf8).base64EncodedString()
        var exchange = HTTPExchange(connection: connection, deadline: deadline)
        var response = try exchange.send(request(paths[0], host: connection.host, credentials: credentials), path: paths[0])
        guard response.status == 404 else { return response }
        if exchange.isClosed || response.headers["connection"]?.lowercased() == "close" {
            exchange = HTTPExchange(connection: try reopen(like: connection, deadline: deadline), deadline: deadline)
        }
        response = try exchange.send(request(paths[1], host: connection.host, credentials: credentials), path: paths[1])
        return response
    }

    private static func request(_ path: String, host: HostKey, credentials: String) -> [UInt8] {
        Array(
            ("POST \(path) HTTP/1.1\r\nHost: \(host.hostForURL):\(host.port)\r\nAuthorization: Basic \(credentials)\r\n"
                + "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 0\r\nUser-Agent: tofu\r\n\r\n").utf8)
    }

    private static func reopen(like connection: TLSConnection, deadline: Deadline) throws(HTTPExchangeError) -> TLSConnection {
        let fresh: TLSConnection
        do {
            fresh = try TLSConnection(host: connection.host, deadline: deadline, cancel: connection.cancelFlag)
        } catch {
            throw HTTPExchangeError(detail: "reconnecting for the older token path failed: \(error.detail)")
        }
        guard let checked = connection.presented?.leaf.sha256Fingerprint, fresh.presented?.leaf.sha256Fingerprint == checked else {
            throw HTTPExchangeError(detail: "on reconnecting, the controller presented a different certificate; no credentials were sent")
        }
        return fresh
    }
}
