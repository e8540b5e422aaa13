import Testing

@testable import JSONRPC

/// What a peer sent, as tofu-rpc logs it (a failed call's method, its error): one line that
/// reads as sent, and text that spells an escape never reads as the character it names.
@Suite struct LogTextTests {
    @Test func aMethodNameThatSpellsAnEscapeIsNotLoggedAsOne() {
        let spelled = #"pin\u{202E}Cert"#
        let real = "pin\u{202E}Cert"
        #expect(Connection.printable(spelled) == #"pin\\u{202E}Cert"#)
        #expect(Connection.printable(real) == #"pin\u{202E}Cert"#)
        #expect(Connection.printable(spelled) != Connection.printable(real))
        #expect(Connection.printable("a\n\u{1B}[2Jb\u{200B}") == #"a\u{A}\u{1B}[2Jb\u{200B}"#)
    }

    /// At most 200 code points of the peer's text, then escaped.
    @Test func aLongMethodNameIsClippedThenEscaped() {
        let logged = Connection.printable(String(repeating: "\\", count: 500))
        #expect(logged == String(repeating: #"\\"#, count: 200) + "…", "\(logged.count)")
    }
}
