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

    /// A fingerprint in exactly the form `description` has (32 uppercase ASCII hex pairs joined by
    /// colons, 95 bytes, nothing around them); nil for any other text. How a stored fingerprint
    /// is checked: tofu writes only this form, and checking it costs a pass over 95 bytes.
    public init?(exactly text: String) {
        var text = text
        let isCanonical = text.withUTF8 { bytes in
            guard bytes.count == 95 else { return false }
            func isDigit(_ byte: UInt8) -> Bool {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
            }
            // Pairs at 0, 3, 6, …, 93, each but the last followed by a colon.
            for start in stride(from: 0, to: 95, by: 3) {
                guard isDigit(bytes[start]), isDigit(bytes[start + 1]), start == 93 || bytes[start + 2] == UInt8(ascii: ":") else { return false }
            }
            return true
        }
        guard isCanonical else { return nil }
        description = text
    }

    /// The fingerprint of a digest's 32 bytes.
    public init(digest: [UInt8]) {
        self = digest.withUnsafeBytes { Fingerprint(digest: $0) }
    }

    /// The fingerprint of a digest's bytes (32 for SHA-256), written straight into its text.
    public init(digest: UnsafeRawBufferPointer) {
        let hex: StaticString = "0123456789ABCDEF"
        let length = digest.isEmpty ? 0 : 3 * digest.count - 1
        description = String(unsafeUninitializedCapacity: length) { text in
            hex.withUTF8Buffer { digits in
                for (index, byte) in digest.enumerated() {
                    if index > 0 { text[3 * index - 1] = UInt8(ascii: ":") }
                    text[3 * index] = digits[Int(byte >> 4)]
                    text[3 * index + 1] = digits[Int(byte & 0x0F)]
                }
            }
            return length
        }
    }
}
