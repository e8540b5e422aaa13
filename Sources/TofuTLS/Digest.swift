import COpenSSL
import TofuCore

/// SHA-256 and base64 through OpenSSL.
enum Digest {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1 && length == digest.count, "OpenSSL SHA-256 failed")
        return digest
    }

    static func base64(_ bytes: [UInt8]) -> String {
        var output = [UInt8](repeating: 0, count: 4 * ((bytes.count + 2) / 3) + 1)
        let length = EVP_EncodeBlock(&output, bytes, Int32(bytes.count))
        return String(decoding: output.prefix(Int(max(0, length))), as: UTF8.self)
    }
}

/// OpenSSL's SHA-256, fetched once: `EVP_sha256()` makes every digest fetch it again from the
/// providers (about a third of hashing a certificate). Held as its address, an immutable object
/// OpenSSL lets any thread use, for the life of the process; nil if the fetch failed.
private let fetchedSHA256: Int? = EVP_MD_fetch(nil, "SHA256", nil).map { Int(bitPattern: $0) }

extension Fingerprint {
    /// The SHA-256 fingerprint of a certificate's DER bytes: what a pin is compared by, and
    /// what a stored certificate must still hash to.
    public init(sha256Of der: [UInt8]) {
        self = der.withUnsafeBytes { Fingerprint(sha256Of: $0) }
    }

    /// The same, of bytes held anywhere (a database's buffer): no copy, no array.
    public init(sha256Of der: UnsafeRawBufferPointer) {
        self = Self.withSHA256(of: der) { Fingerprint(digest: $0) }
    }

    /// Whether `text` is exactly the fingerprint of `der` as `description` spells it (uppercase
    /// hex pairs joined by colons, nothing around them): a stored row's fingerprint checked
    /// against its certificate in place, with no text made. A pair found to match is remembered
    /// (`CheckedFingerprints`): the same bytes again are not hashed again.
    public static func text(_ text: UnsafeRawBufferPointer, isSHA256Of der: UnsafeRawBufferPointer) -> Bool {
        guard text.count == 3 * Int(SHA256_DIGEST_LENGTH) - 1 else { return false }
        if checkedFingerprints.contains(text: text, der: der) { return true }
        let hex: StaticString = "0123456789ABCDEF"
        let matches = withSHA256(of: der) { digest in
            hex.withUTF8Buffer { digits in
                for (index, byte) in digest.enumerated() {
                    guard text[3 * index] == digits[Int(byte >> 4)], text[3 * index + 1] == digits[Int(byte & 0x0F)] else { return false }
                    if index > 0, text[3 * index - 1] != UInt8(ascii: ":") { return false }
                }
                return true
            }
        }
        if matches { checkedFingerprints.insert(text: text, der: der) }
        return matches
    }

    /// Pairs `text(_:isSHA256Of:)` has found to match, for the life of the process.
    static let checkedFingerprints = CheckedFingerprints()

    private static func withSHA256<T>(of bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(SHA256_DIGEST_LENGTH)) { digest in
            var length: UInt32 = 0
            let ok = EVP_Digest(bytes.baseAddress, bytes.count, digest.baseAddress, &length, fetchedSHA256.flatMap(OpaquePointer.init(bitPattern:)) ?? EVP_sha256(), nil)
            precondition(ok == 1 && length == digest.count, "OpenSSL SHA-256 failed")
            return body(UnsafeRawBufferPointer(digest))
        }
    }
}
