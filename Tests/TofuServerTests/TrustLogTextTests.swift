import Testing

@testable import TofuServer

/// A trust decision's log line is one line that reads as the certificate says: control, bidi
/// and invisible characters are escaped, as the clients escape what they print.
@Suite struct TrustLogTextTests {
    @Test func hostileTextIsEscapedInTheLog() {
        #expect(TrustLog.printable("subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\n | serial: 01") == #"subject: CN = ko\u{200B}ng\u{1B}[31m\u{202E}\u{A} | serial: 01"#)
        #expect(TrustLog.printable("CN = kong, O = Café 東京") == "CN = kong, O = Café 東京")
    }

    /// Every ASCII character inside otherwise plain text: the controls and DEL escaped, the
    /// backslash doubled, the rest kept.
    @Test func everyASCIICharacterIsEscapedOrKeptAsItShouldBe() {
        for value in UInt32(0)...0x7F {
            let character = String(UnicodeScalar(UInt8(value)))
            let expected = value < 0x20 || value == 0x7F ? "\\u{\(String(value, radix: 16, uppercase: true))}" : value == 0x5C ? #"\\"# : character
            #expect(TrustLog.printable("CN = a\(character)b") == "CN = a\(expected)b", "U+\(String(value, radix: 16))")
        }
    }

    /// Text that spells an escape (an imported event's detail, a user name, OpenSSL's `\\` in a
    /// subject) never reads as the character it names: its backslash is written `\\`.
    @Test func textThatSpellsAnEscapeIsNotTakenForOne() {
        let spelled = #"username: ko\u{200B}ng | was \u{1B}[2J"#
        let real = "username: ko\u{200B}ng | was \u{1B}[2J"
        #expect(TrustLog.printable(spelled) == #"username: ko\\u{200B}ng | was \\u{1B}[2J"#)
        #expect(TrustLog.printable(real) == #"username: ko\u{200B}ng | was \u{1B}[2J"#)
        #expect(TrustLog.printable(#"C:\tofu\store"#) == #"C:\\tofu\\store"#)
    }

    /// Every line reads back as exactly the text it was made from, so no two texts share one.
    @Test func everyLineReadsBackAsItsText() {
        let texts = [
            "", "plain", #"\"#, #"\\"#, #"\\\"#, #"\u{200B}"#, "\u{200B}", #"\\u{200B}"#, "\\\u{200B}", #"\u{5C}"#, "\u{5C}",
            "\u{1B}\\", #"a\"#, "\\\n", #"CN = ko\\u200Bng, O = "a\\b""#, "x\u{202E}\\u{202E}\u{202E}", "東京\\\u{FEFF}",
        ]
        var seen: [String: String] = [:]
        for text in texts {
            let line = TrustLog.printable(text)
            #expect(Self.readBack(line) == text, "\(line) is not \(text)")
            #expect(seen.updateValue(text, forKey: line) ?? text == text, "two texts print as \(line)")
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{200B}" || $0 == "\u{202E}" || $0 == "\u{FEFF}" })
        }
    }

    /// A log line's text as it was: `\\` a backslash, `\u{H…}` a code point, nothing else
    /// after a backslash (nil: not a line printable wrote).
    static func readBack(_ line: String) -> String? {
        var scalars = Array(line.unicodeScalars)[...]
        var text = String.UnicodeScalarView()
        while let scalar = scalars.popFirst() {
            guard scalar == "\\" else {
                text.append(scalar)
                continue
            }
            switch scalars.popFirst() {
            case "\\": text.append("\\")
            case "u":
                guard scalars.popFirst() == "{", let end = scalars.firstIndex(of: "}"),
                    let value = UInt32(String(String.UnicodeScalarView(scalars[..<end])), radix: 16), let escaped = Unicode.Scalar(value)
                else { return nil }
                text.append(escaped)
                scalars = scalars[scalars.index(after: end)...]
            default: return nil
            }
        }
        return String(text)
    }
}
