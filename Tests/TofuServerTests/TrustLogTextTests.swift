import Testing

@testable import TofuServer

/// A trust decision's log line is one line that reads as the certificate says: control, bidi
/// and invisible characters are escaped, as the clients escape what they print.
@Suite struct TrustLogTextTests {
    @Test func hostileTextIsEscapedInTheLog() {
        #expect(TrustLog.printable("subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\n | serial: 01") == #"subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\u{A} | serial: 01"#)
        #expect(TrustLog.printable("CN = kong, O = Café 東京") == "CN = kong, O = Café 東京")
    }
}
