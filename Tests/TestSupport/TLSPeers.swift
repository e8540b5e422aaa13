import Foundation

/// One listening peer of the fixture: its id there, and where it listens.
public struct Peer: Sendable {
    public let id: Int
    public let host: String
    public let port: Int

    public init(id: Int, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }

    /// The host key tofu is given for it: `127.0.0.1:PORT` or `[::1]:PORT`.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    /// The canonical key tofu answers with: `127.0.0.1_PORT`, `::1_PORT`.
    public var key: String { "\(host)_\(port)" }
}

/// TLS servers, a fake DNA Center and hostile peers on loopback, run by
/// Tests/Fixtures/tls_peers.py (Python's ssl module, i.e. OpenSSL). Each test starts its own.
public final class TLSPeers: Sendable {
    private let process: ServerProcess

    public static let script: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls_peers.py").path
    }()

    public init() throws {
        process = try ServerProcess("/usr/bin/env", arguments: ["python3", Self.script])
    }

    private func command(_ command: [String: Any]) async throws -> [String: Any] {
        process.send(line: Wire.json(command))
        let answer = try await process.reader.next(timeout: .seconds(60)).object
        guard answer["ok"] as? Bool == true else {
            throw FactoryError(message: "fixture refused \(command["op"] ?? ""): \(answer["error"] ?? answer) \(process.stderr)")
        }
        return answer
    }

    /// Starts `count` listeners of one mode (see the script: tls, silent, close, http, drip,
    /// reset, alert) on `host`.
    public func listen(
        _ mode: String, host: String = "127.0.0.1", certificate: TestCertificate? = nil, chainPath: String? = nil, count: Int = 1,
        dnac: [String: Any]? = nil
    ) async throws -> [Peer] {
        var request: [String: Any] = ["op": "listen", "mode": mode, "host": host, "count": count]
        if let certificate {
            request["cert"] = chainPath ?? certificate.certificatePath
            request["key"] = certificate.keyPath
        }
        if let dnac { request["dnac"] = dnac }
        let answer = try await command(request)
        let ids = answer["ids"] as? [Int] ?? []
        let ports = answer["ports"] as? [Int] ?? []
        return zip(ids, ports).map { Peer(id: $0, host: host, port: $1) }
    }

    public func listen(_ mode: String, host: String = "127.0.0.1", certificate: TestCertificate? = nil, dnac: [String: Any]? = nil) async throws -> Peer {
        let peers = try await listen(mode, host: host, certificate: certificate, count: 1, dnac: dnac)
        guard let peer = peers.first else { throw FactoryError(message: "no listener started") }
        return peer
    }

    /// One listener with options of its mode (e.g. clientcert's `tls` and `require`).
    public func listen(_ mode: String, certificate: TestCertificate, options: [String: Any], dnac: [String: Any]? = nil) async throws -> Peer {
        var request: [String: Any] = ["op": "listen", "mode": mode, "host": "127.0.0.1", "count": 1]
        request["cert"] = certificate.certificatePath
        request["key"] = certificate.keyPath
        request.merge(options) { _, new in new }
        if let dnac { request["dnac"] = dnac }
        let answer = try await command(request)
        guard let id = (answer["ids"] as? [Int])?.first, let port = (answer["ports"] as? [Int])?.first else {
            throw FactoryError(message: "no listener started")
        }
        return Peer(id: id, host: "127.0.0.1", port: port)
    }

    /// The controller regenerates (or re-issues) its certificate: same port, new certificate.
    public func present(_ certificate: TestCertificate, on peer: Peer, chainPath: String? = nil) async throws {
        _ = try await command(["op": "set_cert", "id": peer.id, "cert": chainPath ?? certificate.certificatePath, "key": certificate.keyPath])
    }

    /// Each new connection gets the next of `certificates`, round robin.
    public func alternate(_ certificates: [TestCertificate], on peer: Peer) async throws {
        _ = try await command(["op": "alternate", "id": peer.id, "certs": certificates.map { [$0.certificatePath, $0.keyPath] }])
    }

    /// Changes the fake DNA Center's behaviour or credentials.
    public func dnac(_ peer: Peer, _ options: [String: Any]) async throws {
        var request = options
        request["op"] = "dnac"
        request["id"] = peer.id
        _ = try await command(request)
    }

    /// Every HTTP request the peer received: method, path, headers, body.
    public func requests(_ peer: Peer) async throws -> [[String: Any]] {
        try await command(["op": "requests", "id": peer.id])["requests"] as? [[String: Any]] ?? []
    }

    /// TCP connections the peer accepted.
    public func connections(_ peer: Peer) async throws -> Int {
        try await command(["op": "connections", "id": peer.id])["connections"] as? Int ?? -1
    }

    /// A port on `host` where nothing listens, and nothing else will: it stays bound, never
    /// listening, for the rest of the test process (a connection is refused at once). Released
    /// at once, it was soon another test's TLS peer, and a probe of it met a certificate.
    public static func closedPort(host: String = "127.0.0.1") -> Int {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        // Close-on-exec: the processes a test starts must not hold it too.
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = withUnsafePointer(to: &storage) { pointer -> UInt16 in
            family == AF_INET6
                ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port }
                : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }
        }
        return Int(UInt16(bigEndian: port))
    }

    public func stop() {
        process.closeInput()
    }

    deinit { process.closeInput() }
}
