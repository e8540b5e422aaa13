import Foundation

/// The password a PostgreSQL URI may carry, kept out of every message: libpq quotes parts of a
/// URI it cannot read (`invalid percent-encoded token: "…"`, the whole URI for a broken IPv6
/// address), and a password may be one of them.
enum URISecrets {
    /// The password of `uri`'s user information and its `password=` parameters, as written and
    /// percent-decoded.
    static func of(_ uri: String) -> [String] {
        guard let schemeEnd = uri.range(of: "://") else { return [] }
        let rest = uri[schemeEnd.upperBound...]
        var found: [Substring] = []
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            found.append(authority[authority.index(after: colon)..<at])
        }
        if let query = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: query)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2 && percentDecoded(parts[0]) == "password" { found.append(parts[1]) }
            }
        }
        var secrets = Set<String>()
        for secret in found where !secret.isEmpty {
            secrets.insert(String(secret))
            secrets.insert(percentDecoded(secret))
        }
        return secrets.sorted { $0.count > $1.count }
    }

    /// `message` without any of `secrets`; withheld whole when a short one (which a plain
    /// replacement would leave guessable, and which would mangle the words) is in it.
    static func scrub(_ message: String, _ secrets: [String]) -> String {
        var scrubbed = message
        for secret in secrets where scrubbed.contains(secret) {
            guard secret.count >= 4 else {
                return "libpq could not use the connection parameters (its words are withheld: they would show a secret of the URI)"
            }
            scrubbed = scrubbed.replacingOccurrences(of: secret, with: "********")
        }
        return scrubbed
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
               let low = utf8.index(high, offsetBy: 1, limitedBy: utf8.endIndex), low < utf8.endIndex,
               let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
