/// Text from a peer or the store as it goes into tofu-rpc's log (the trust log, a failed call),
/// which is often read on a terminal (journalctl, a tail of the log): every control,
/// bidirectional formatting, line separator and invisible character written as `\u{…}`, and a
/// backslash as `\\`, so a line is one line, `CN = ko\u{200B}ng` cannot pass for `CN = kong`,
/// and text that spells `\u{200B}` reads `\\u{200B}`, never as the character it names: read
/// from the left, every backslash begins an escape.
public enum LogText {
    /// The code points no log line and no terminal gets raw (TerminalText escapes the same):
    /// controls, bidirectional formatting, line separators and invisible characters.
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F,
            0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFF8:
            true
        default: false
        }
    }

    public static func escaped(_ text: String) -> String {
        // Printable ASCII but the backslash, what a line nearly always is, has nothing to
        // escape: one pass over its bytes instead of building the line again a scalar at a time
        // (50k instructions of every write's 460k).
        // Over the bytes in place where the string holds them so (nearly always): a loop over
        // a buffer, not the UTF-8 view's iterator (3k instructions of a delete's trust-log line).
        let plain = { (byte: UInt8) in byte >= 0x20 && byte < 0x7F && byte != 0x5C }
        if text.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(plain) }) ?? text.utf8.allSatisfy(plain) { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar == "\\" {
                result += #"\\"#
            } else if mustEscape(scalar) {
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
