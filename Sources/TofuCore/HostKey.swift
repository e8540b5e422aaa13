#if canImport(Glibc)
    import Glibc
#endif

/// A pinned host's identity: PI's `<host>_<port>` key, e.g. `192.0.2.10_443`,
/// `dnac.example.com_443`, `2001:db8::5_443`.
///
/// Accepted as input: that form, a bare host (port 443), `host:port`, `[v6]` and
/// `[v6]:port`, a bare IPv6 address (port 443). Normalised so one host has one key: names
/// lowercased without a trailing dot, IPv6 in RFC 5952 form, port 1–65535.
public struct HostKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The host: a lowercase name, an IPv4 address, or an IPv6 address in RFC 5952 form (no brackets).
    public let host: String
    public let port: Int

    public static let defaultPort = 443

    /// The canonical key, `<host>_<port>`.
    public var description: String { "\(host)_\(port)" }

    /// The host as it goes into a URL or `host:port` (IPv6 in brackets).
    public var hostForURL: String { isIPv6 ? "[\(host)]" : host }

    public var isIPv6: Bool { host.contains(":") }

    /// Whether the host is an IP address (no DNS lookup needed, no SNI sent).
    public var isIPAddress: Bool { isIPv6 || HostKey.ipv4(host) != nil }

    public init(host: String, port: Int) throws(HostKeyError) {
        guard (1...65535).contains(port) else { throw HostKeyError(input: "\(host):\(port)", reason: "port \(port) is outside 1–65535") }
        self.host = try HostKey.normalisedHost(host, input: host)
        self.port = port
    }

    /// A key read back from tofu's own store, where only normalised keys are ever written.
    public init(stored host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses any accepted spelling of a host key.
    public init(parsing input: String) throws(HostKeyError) {
        // 253 for the longest name, brackets and a port: anything much longer is no host key.
        guard input.utf8.count <= 300 else { throw HostKeyError(input: input, reason: "it is \(input.utf8.count) bytes, longer than any host key") }
        let text = input.trimmingWhitespace()
        guard !text.isEmpty else { throw HostKeyError(input: input, reason: "it is empty") }
        var hostPart: Substring
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw HostKeyError(input: input, reason: "'[' without a closing ']'")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if let separator = rest.first {
                guard separator == ":" || separator == "_" else {
                    throw HostKeyError(input: input, reason: "expected ':port' or '_port' after ']'")
                }
                portPart = rest.dropFirst()
            }
            guard hostPart.contains(":") else {
                throw HostKeyError(input: input, reason: "brackets are for IPv6 addresses only")
            }
        } else if let underscore = text.lastIndex(of: "_") {
            hostPart = text[..<underscore]
            portPart = text[text.index(after: underscore)...]
        } else if text.utf8.lazy.filter({ $0 == UInt8(ascii: ":") }).count == 1, let colon = text.firstIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            hostPart = text[...]
        }
        let port: Int
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(portPart) else {
                throw HostKeyError(input: input, reason: "port '\(portPart)' is not a number from 1 to 65535")
            }
            guard (1...65535).contains(value) else {
                throw HostKeyError(input: input, reason: "port \(value) is outside 1–65535")
            }
            port = value
        } else {
            port = HostKey.defaultPort
        }
        self.host = try HostKey.normalisedHost(String(hostPart), input: input)
        self.port = port
    }

    public static func < (lhs: HostKey, rhs: HostKey) -> Bool { lhs.description < rhs.description }

    // MARK: - Hosts

    private static func normalisedHost(_ host: String, input: String) throws(HostKeyError) -> String {
        guard !host.isEmpty else { throw HostKeyError(input: input, reason: "the host is empty") }
        if host.contains(":") {
            if host.contains("%") {
                throw HostKeyError(input: input, reason: "IPv6 zone indexes (%…) are not supported")
            }
            guard let canonical = ipv6(host) else {
                throw HostKeyError(input: input, reason: "'\(host)' is not a valid IPv6 address")
            }
            return canonical
        }
        if let address = ipv4(host) { return address }
        return try hostname(host, input: input)
    }

    /// The dotted-quad form when `text` is an IPv4 address (leading zeros are refused by
    /// inet_pton, so `192.0.2.010` cannot be read as octal by one tool and decimal by another).
    static func ipv4(_ text: String) -> String? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return text
    }

    /// RFC 5952 text of an IPv6 address (glibc's inet_ntop writes that form).
    static func ipv6(_ text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func hostname(_ host: String, input: String) throws(HostKeyError) -> String {
        guard host.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw HostKeyError(input: input, reason: "'\(host)' has non-ASCII characters; give an internationalised name in its xn-- (punycode) form")
        }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else {
            throw HostKeyError(input: input, reason: "'\(host)' is not a valid host name (1–253 characters)")
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty else {
                throw HostKeyError(input: input, reason: "'\(host)' has an empty label (two dots in a row, or a leading dot)")
            }
            guard label.utf8.count <= 63 else {
                throw HostKeyError(input: input, reason: "'\(host)' has a label longer than 63 characters")
            }
            guard label.utf8.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }) else {
                throw HostKeyError(input: input, reason: "'\(host)' is neither an IP address nor a host name (letters, digits, '-' and '.' only)")
            }
            guard label.first != "-", label.last != "-" else {
                throw HostKeyError(input: input, reason: "'\(host)' has a label that starts or ends with '-'")
            }
        }
        if let last = labels.last, last.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            throw HostKeyError(input: input, reason: "'\(host)' is not a valid IPv4 address")
        }
        return name
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// A host key that could not be read; `input` is the offending value as given.
public struct HostKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public var description: String {
        let shown = input.count > 80 ? input.prefix(80) + "…" : Substring(input)
        return "'\(shown)' is not a host key: \(reason)"
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        // Most input has none: a printable ASCII byte at each end cannot be whitespace.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return self[...]
        }
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
            return ""
        }
        return self[first...last]
    }
}
