import Testing

@testable import TofuServer

/// A trust decision's log line is one line that reads as the certificate says: control, bidi
/// and invisible characters are escaped, as the clients escape what they print.
@Suite struct TrustLogTextTests {
    @Test func hostileTextIsEscapedInTheLog() {
        #expect(TrustLog.printable("subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\n | serial: 01") == #"subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\u{A} | serial: 01"#)
        #expect(TrustLog.printable("CN = kong, O = Café 東京") == "CN = kong, O = Café 東京")
    }

    /// Every ASCII character inside otherwise plain text: the controls and DEL escaped, the rest kept.
    @Test func everyASCIICharacterIsEscapedOrKeptAsItShouldBe() {
        for value in UInt32(0)...0x7F {
            let character = String(UnicodeScalar(UInt8(value)))
            let expected = value < 0x20 || value == 0x7F ? "\\u{\(String(value, radix: 16, uppercase: true))}" : character
            #expect(TrustLog.printable("CN = a\(character)b") == "CN = a\(expected)b", "U+\(String(value, radix: 16))")
        }
    }
}
