#if canImport(Glibc)
    import Glibc
#endif

/// A pinned host's identity: PI's `<host>_<port>` key, e.g. `192.0.2.10_443`,
/// `dnac.example.com_443`, `2001:db8::5_443`.
///
/// Accepted as input: that form, a bare host (port 443), `host:port`, `[v6]` and
/// `[v6]:port`, a bare IPv6 address (port 443). Normalised so one host has one key: names
/// lowercased without a trailing dot, IPv6 in RFC 5952 form, port 1–65535.
///
/// An address has exactly one spelling: every other text the system resolver would connect to
/// that address (`0x7f000001`, `127.1`, `0177.0.0.1`, `::ffff:127.0.0.1`, …) is refused, naming
/// the address, so a second spelling can never become a second pin around the first. A name and
/// its addresses stay separate keys: tofu does not resolve names to compare them.
public struct HostKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The host: a lowercase name, an IPv4 address, or an IPv6 address in RFC 5952 form (no brackets).
    public let host: String
    public let port: Int
    /// The canonical key, `<host>_<port>`: made once, since every read and answer uses it.
    public let description: String

    public static let defaultPort = 443
    private static let defaultPortSuffix = "_" + String(defaultPort)

    private init(normalisedHost host: String, port: Int) {
        self.init(normalisedHost: host, port: port, description: host + "_" + String(port))
    }

    private init(normalisedHost host: String, port: Int, description: String) {
        self.host = host
        self.port = port
        self.description = description
    }

    public static func == (lhs: HostKey, rhs: HostKey) -> Bool { lhs.port == rhs.port && lhs.host == rhs.host }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(host)
        hasher.combine(port)
    }

    /// The host as it goes into a URL or `host:port` (IPv6 in brackets).
    public var hostForURL: String { isIPv6 ? "[\(host)]" : host }

    public var isIPv6: Bool { host.contains(":") }

    /// Whether the host is an IP address (no DNS lookup needed, no SNI sent).
    public var isIPAddress: Bool { isIPv6 || HostKey.ipv4(host) != nil }

    public init(host: String, port: Int) throws(HostKeyError) {
        guard (1...65535).contains(port) else { throw HostKeyError(input: "\(host):\(port)", reason: "port \(port) is outside 1–65535") }
        self.init(normalisedHost: try HostKey.normalisedHost(host, input: host), port: port)
    }

    /// Parses any accepted spelling of a host key.
    public init(parsing input: String) throws(HostKeyError) {
        if let key = HostKey.plainName(input) {
            self = key
            return
        }
        try self.init(parsingInFull: input)
    }

    /// The key of `input` when it is a plain host name, already normalised, with or without
    /// `_port` (what scripts and tofu's own answers send): lowercase labels of letters, digits
    /// and inner hyphens, the last beginning with a letter (so no spelling of an IPv4 address),
    /// no trailing dot; nil for anything else, which `init(parsingInFull:)` reads. One pass over
    /// the bytes, where the full parser takes several.
    static func plainName(_ input: String) -> HostKey? {
        var input = input
        let parts: (hostEnd: Int, port: Int)? = input.withUTF8 { bytes in
            guard !bytes.isEmpty, bytes.count <= 253 + 6 else { return nil }
            var hostEnd = bytes.count
            var labelStart = 0
            var labelsValid = true
            for (index, byte) in bytes.enumerated() {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    continue
                case UInt8(ascii: "-"):
                    // Not first in its label (nor last: checked where the label ends).
                    if index == labelStart { labelsValid = false }
                case UInt8(ascii: "."):
                    if index == labelStart || index - labelStart > 63 || bytes[index - 1] == UInt8(ascii: "-") { labelsValid = false }
                    labelStart = index + 1
                case UInt8(ascii: "_") where hostEnd == bytes.count:
                    hostEnd = index
                default:
                    return nil
                }
                guard labelsValid else { return nil }
                if hostEnd != bytes.count { break }
            }
            // The last label: not empty, at most 63 bytes, no hyphen at its end, a letter first.
            guard hostEnd > labelStart, hostEnd - labelStart <= 63, hostEnd <= 253, bytes[hostEnd - 1] != UInt8(ascii: "-"),
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[labelStart])
            else { return nil }
            guard hostEnd < bytes.count else { return (hostEnd, HostKey.defaultPort) }
            // The port: 1 to 5 decimal digits, 1–65535 (leading zeros read as the full parser reads them).
            let digits = bytes.count - hostEnd - 1
            guard (1...5).contains(digits) else { return nil }
            var port = 0
            for byte in bytes[(hostEnd + 1)...] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                port = port * 10 + Int(byte - UInt8(ascii: "0"))
            }
            guard (1...65535).contains(port) else { return nil }
            return (hostEnd, port)
        }
        guard let parts else { return nil }
        let utf8 = input.utf8
        if parts.hostEnd == utf8.count { return HostKey(normalisedHost: input, port: defaultPort, description: input + defaultPortSuffix) }
        let host = String(Substring(utf8[..<utf8.index(utf8.startIndex, offsetBy: parts.hostEnd)]))
        // The input is the key itself when it names its port without leading zeros.
        if utf8[utf8.index(utf8.startIndex, offsetBy: parts.hostEnd + 1)] != UInt8(ascii: "0") {
            return HostKey(normalisedHost: host, port: parts.port, description: input)
        }
        return HostKey(normalisedHost: host, port: parts.port)
    }

    /// Parses any accepted spelling of a host key, in full.
    init(parsingInFull input: String) throws(HostKeyError) {
        // 253 for the longest name, brackets and a port: anything much longer is no host key.
        guard input.utf8.count <= 300 else { throw HostKeyError(input: input, reason: "it is \(input.utf8.count) bytes, longer than any host key") }
        let text = input.trimmingWhitespace()
        guard !text.isEmpty else { throw HostKeyError(input: input, reason: "it is empty") }
        // In ASCII text each character is one byte (CR LF aside, which the separators sought
        // here never are), so the separators are found byte by byte, without grapheme breaking.
        let ascii = text.utf8.allSatisfy { $0 < 0x80 }
        var hostPart: Substring
        var portPart: Substring?
        if ascii ? text.utf8.first == UInt8(ascii: "[") : text.hasPrefix("[") {
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
        } else if let underscore = ascii ? text.utf8.lastIndex(of: UInt8(ascii: "_")) : text.lastIndex(of: "_") {
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
        self.init(normalisedHost: try HostKey.normalisedHost(String(hostPart), input: input), port: port)
    }

    public static func < (lhs: HostKey, rhs: HostKey) -> Bool { lhs.description < rhs.description }

    // MARK: - Hosts

    private static func normalisedHost(_ host: String, input: String) throws(HostKeyError) -> String {
        guard !host.isEmpty else { throw HostKeyError(input: input, reason: "the host is empty") }
        // inet_pton sees a C string: text after a NUL would be ignored by it, yet kept in the key.
        guard !host.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw HostKeyError(input: input, reason: "the host has control characters")
        }
        let ascii = host.utf8.allSatisfy { $0 < 0x80 }
        if ascii ? host.utf8.contains(UInt8(ascii: ":")) : host.contains(":") {
            if host.contains("%") {
                throw HostKeyError(
                    input: input,
                    reason: "IPv6 zone indexes (%…) are not supported: a link-local address names a different host on each interface")
            }
            guard let canonical = ipv6(host) else {
                throw HostKeyError(input: input, reason: "'\(host)' is not a valid IPv6 address")
            }
            try refuseIPv6Aliases(host, input: input)
            return canonical
        }
        if let address = ipv4(host) {
            if address == "0.0.0.0" { throw unspecified(host, loopback: "127.0.0.1", input: input) }
            return address
        }
        return try hostname(host, input: input)
    }

    /// The dotted-quad form when `text` is an IPv4 address in its one canonical spelling: four
    /// decimal numbers without leading zeros (inet_pton's rule). Every other numeric spelling
    /// is refused by `hostname`, naming this form.
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

    /// IPv6 spellings of an IPv4 host (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96), and
    /// the unspecified address `::`, which connects to this machine. NAT64's 64:ff9b::/96 stays
    /// an IPv6 address of its own: it reaches the IPv4 host only through a translator, if any.
    private static func refuseIPv6Aliases(_ host: String, input: String) throws(HostKeyError) {
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return }
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        let v4 = bytes[12...].map(String.init).joined(separator: ".")
        if bytes.allSatisfy({ $0 == 0 }) { throw unspecified(host, loopback: "::1", input: input) }
        if bytes[..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            if v4 == "0.0.0.0" { throw unspecified(host, loopback: "127.0.0.1", input: input) }
            throw HostKeyError(input: input, reason: "'\(host)' is \(v4) written as an IPv4-mapped IPv6 address, and connects to \(v4); use \(v4)")
        }
        if bytes[..<12].allSatisfy({ $0 == 0 }) && bytes[12...] != [0, 0, 0, 1] {
            throw HostKeyError(
                input: input,
                reason: "'\(host)' is an IPv4-compatible IPv6 address (deprecated by RFC 4291 §2.5.5.1); for the IPv4 host use \(v4)")
        }
    }

    private static func unspecified(_ host: String, loopback: String, input: String) -> HostKeyError {
        HostKeyError(
            input: input,
            reason: "'\(host)' is the unspecified address, which connects to this machine itself; use \(loopback), or the controller's own address")
    }

    private static func hostname(_ host: String, input: String) throws(HostKeyError) -> String {
        guard host.utf8.allSatisfy({ $0 < 0x80 }) else {
            if let address = numericIPv4(folding: host) {
                throw HostKeyError(input: input, reason: "'\(host)' is \(address) written with non-ASCII characters; use \(address)")
            }
            throw HostKeyError(input: input, reason: "'\(host)' has non-ASCII characters; give an internationalised name in its xn-- (punycode) form")
        }
        // From here on the name is ASCII without control characters (`normalisedHost` refused
        // those): each character is one byte, and the name is read byte by byte.
        var name = host.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) ? host.lowercased() : host
        if name.utf8.last == UInt8(ascii: ".") { name.removeLast() }
        if let address = numericIPv4(name) {
            if address == "0.0.0.0" { throw unspecified(host, loopback: "127.0.0.1", input: input) }
            throw HostKeyError(input: input, reason: "'\(host)' is \(address) spelled another way; use \(address)\(octalHint(name))")
        }
        guard !name.isEmpty, name.utf8.count <= 253 else {
            throw HostKeyError(input: input, reason: "'\(host)' is not a valid host name (1–253 characters)")
        }
        var last = name.utf8[...]
        var rest = name.utf8[...]
        while true {
            let end = rest.firstIndex(of: UInt8(ascii: ".")) ?? rest.endIndex
            let label = rest[..<end]
            guard !label.isEmpty else {
                throw HostKeyError(input: input, reason: "'\(host)' has an empty label (two dots in a row, or a leading dot)")
            }
            guard label.count <= 63 else {
                throw HostKeyError(input: input, reason: "'\(host)' has a label longer than 63 characters")
            }
            guard label.allSatisfy({ isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }) else {
                throw HostKeyError(input: input, reason: "'\(host)' is neither an IP address nor a host name (letters, digits, '-' and '.' only)")
            }
            guard label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
                throw HostKeyError(input: input, reason: "'\(host)' has a label that starts or ends with '-'")
            }
            last = label
            guard end < rest.endIndex else { break }
            rest = rest[rest.index(after: end)...]
        }
        // Resolvers read a name whose last label is a number as an IPv4 address (or fail on it),
        // and no top-level domain is numeric (RFC 3696 §2): such a name is never a host name.
        if isNumber(last) {
            throw HostKeyError(
                input: input,
                reason: "'\(host)' is not a valid IPv4 address, and a host name cannot end in a number; give an IPv4 address as four decimal numbers, e.g. 192.0.2.10")
        }
        return name
    }

    private static func octalHint(_ name: String) -> String {
        let leadingZero = name.split(separator: ".").contains { $0.count > 1 && $0.first == "0" && !$0.hasPrefix("0x") }
        return leadingZero ? " (a leading 0 makes a number octal: if you meant decimal, drop the leading zeros)" : ""
    }

    /// A label that is a decimal, octal or 0x-hexadecimal number, as inet_aton reads one.
    private static func isNumber(_ bytes: Substring.UTF8View) -> Bool {
        // "0x" alone too: BSD's inet_aton reads it as 0.
        if bytes.count >= 2, bytes.first == UInt8(ascii: "0"), bytes.dropFirst().first == UInt8(ascii: "x") {
            return bytes.dropFirst(2).allSatisfy { ASCII.hexValue($0) != nil }
        }
        return !bytes.isEmpty && bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The dotted quad that inet_aton (and so getaddrinfo) reads `text` as, when it reads it as
    /// an address at all: one to four parts, each decimal, octal (leading 0) or hexadecimal (0x),
    /// the last part filling the remaining bytes (`127.1` is 127.0.0.1, `2130706433` too).
    static func numericIPv4(_ text: String) -> String? {
        // Every part must begin with a digit, the first too: most names are refused at once.
        guard let first = text.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt32] = []
        for part in parts {
            guard let value = numberPart(Array(part)) else { return nil }
            values.append(value)
        }
        let last = values.removeLast()
        guard values.allSatisfy({ $0 <= 0xFF }) else { return nil }
        let lastBits = 8 * (4 - values.count)
        guard lastBits == 32 || last < (UInt32(1) << lastBits) else { return nil }
        var address: UInt32 = 0
        for (index, value) in values.enumerated() { address |= value << (24 - 8 * index) }
        address |= last
        return [24, 16, 8, 0].map { String((address >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }

    /// One part of a numeric address, as strtoul(…, 0) reads it, if it is all number and fits 32 bits.
    private static func numberPart(_ bytes: [UInt8]) -> UInt32? {
        guard let first = bytes.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        var digits = bytes[...]
        var radix: UInt64 = 10
        if bytes.count > 2, first == UInt8(ascii: "0"), bytes[1] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            digits = bytes.dropFirst(2)
        } else if first == UInt8(ascii: "0") {
            radix = 8
        }
        var value: UInt64 = 0
        for byte in digits {
            guard let digit = ASCII.hexValue(byte), UInt64(digit) < radix else { return nil }
            value = value * radix + UInt64(digit)
            // Checked at every digit, so the product above never overflows.
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return UInt32(value)
    }

    /// The address a non-ASCII spelling stands for once IDNA-style mapping has made it ASCII:
    /// any Unicode decimal digit as its value, full-width letters as ASCII, and the dots IDNA
    /// treats as label separators (。．｡) as '.'. Only for the message: non-ASCII is refused.
    private static func numericIPv4(folding text: String) -> String? {
        var folded = ""
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                folded.unicodeScalars.append(scalar)
            } else if scalar.properties.numericType == .decimal, let value = scalar.properties.numericValue, value >= 0, value <= 9 {
                folded += String(Int(value))
            } else if ["\u{3002}", "\u{FF0E}", "\u{FF61}"].contains(scalar) {
                folded += "."
            } else if (0xFF21...0xFF5A).contains(scalar.value), let ascii = Unicode.Scalar(scalar.value - 0xFEE0) {
                folded.unicodeScalars.append(ascii)
            } else {
                return nil
            }
        }
        var name = folded.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return ipv4(name) ?? numericIPv4(name)
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
        // Cut by code points: one character can hold any number of them (combining marks).
        let scalars = input.unicodeScalars
        let shown =
            if let end = scalars.index(scalars.startIndex, offsetBy: 80, limitedBy: scalars.endIndex), end != scalars.endIndex {
                String(scalars[..<end]) + "…"
            } else {
                input
            }
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
