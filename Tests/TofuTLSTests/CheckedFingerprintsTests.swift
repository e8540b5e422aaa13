import Testing
import TofuCore

@testable import TofuTLS

/// A stored fingerprint checked against its certificate: a match is remembered, and only the very
/// same bytes of both ever match from memory.
@Suite struct CheckedFingerprintsTests {
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed } }

    static func check(_ text: String, _ der: [UInt8]) -> Bool {
        Array(text.utf8).withUnsafeBytes { text in der.withUnsafeBytes { der in Fingerprint.text(text, isSHA256Of: der) } }
    }

    static func remembered(_ text: String, _ der: [UInt8]) -> Bool {
        Array(text.utf8).withUnsafeBytes { text in der.withUnsafeBytes { der in Fingerprint.checkedFingerprints.contains(text: text, der: der) } }
    }

    @Test func aMatchIsRememberedAndOnlyTheSameBytesMatchFromMemory() {
        let der = Self.bytes(900, seed: 0x5A)
        let text = Fingerprint(sha256Of: der).description
        #expect(!Self.remembered(text, der))
        #expect(Self.check(text, der))
        #expect(Self.remembered(text, der), "a match is remembered")
        #expect(Self.check(text, der), "and matches again")

        var edited = der
        edited[899] ^= 1
        #expect(!Self.check(text, edited), "the certificate edited in its last byte, the fingerprint kept")
        #expect(!Self.check(text, Array(der.dropLast())), "the certificate cut short")

        var otherText = Array(text.utf8)
        otherText[94] = otherText[94] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(!Self.check(String(decoding: otherText, as: UTF8.self), der), "the fingerprint edited, the certificate kept")
        #expect(!Self.check(text.lowercased(), der), "the fingerprint in lowercase is not the stored spelling")
        #expect(Self.check(text, der), "the remembered pair still matches")
    }

    @Test func aMismatchAndALargeCertificateAreNotRemembered() {
        let der = Self.bytes(900, seed: 0x33)
        let wrong = Fingerprint(sha256Of: Self.bytes(900, seed: 0x34)).description
        #expect(!Self.check(wrong, der))
        #expect(!Self.remembered(wrong, der))

        let large = Self.bytes(CheckedFingerprints.largestCertificate + 1, seed: 0x77)
        let text = Fingerprint(sha256Of: large).description
        #expect(Self.check(text, large))
        #expect(!Self.remembered(text, large), "past 4 KiB a certificate is hashed every time")
    }
}
