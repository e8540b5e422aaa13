/// A certificate's SHA-256 fingerprint in the form `openssl x509 -fingerprint -sha256`
/// prints: uppercase hex pairs joined by colons.
public struct Fingerprint: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    /// Reads 32 bytes of hex in any case, with or without colons (also the `sha256 Fingerprint=`
    /// prefix openssl prints, so its output can be pasted as is). Nil for anything else.
    public init?(parsing text: String) {
        var hex = Substring(text.trimmingWhitespace())
        if let equals = hex.lastIndex(of: "="), hex[..<equals].lowercased().contains("fingerprint") {
            hex = hex[hex.index(after: equals)...]
        }
        let digits = hex.filter { $0 != ":" }
        guard digits.count == 64, digits.allSatisfy(\.isHexDigit) else { return nil }
        let upper = digits.uppercased()
        var pairs: [Substring] = []
        var index = upper.startIndex
        while index < upper.endIndex {
            let next = upper.index(index, offsetBy: 2)
            pairs.append(upper[index..<next])
            index = next
        }
        description = pairs.joined(separator: ":")
    }

    /// The fingerprint of a digest's 32 bytes.
    public init(digest: [UInt8]) {
        description = digest.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
