import JSONRPC

/// Text from tofu-rpc made safe to print on a terminal. Certificate subjects, SANs and issuers
/// are chosen by whoever made the certificate: printed as they are, an ESC or CSI (U+009B)
/// could move the cursor or rewrite the screen, a right-to-left override (U+202E) could show a
/// name reversed, and a line separator could forge a line of PI's format.
///
/// The rule, the same in clients/tofu.sh: every control character (U+0000–U+001F, U+007F–U+009F),
/// every bidirectional formatting character (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), the line and paragraph separators (U+2028, U+2029), and every invisible
/// character of the Basic Multilingual Plane that Unicode calls default-ignorable (U+00AD,
/// U+034F, U+115F, U+1160, U+17B4, U+17B5, U+180B–U+180F, U+200B–U+200D, U+2060–U+206F, U+3164,
/// U+FE00–U+FE0F, U+FEFF, U+FFA0, U+FFF0–U+FFF8: a zero-width space would make `CN = ko\u200Bng`
/// look like `CN = kong`) are shown as an escape: `\xNN` below U+0100, `\uNNNN` above
/// (`\x1B`, `\x9B`, `\u202E`), and a backslash as `\\`, so that every backslash printed
/// begins an escape and none can be forged: a user name or an imported history line holding the
/// six characters `\u200B` prints as `\\u200B`, never as the zero-width space it spells. Text
/// that is escaped already shows both layers: OpenSSL's one-line form of a subject writes ESC as
/// `\1B` and a backslash as `\\` (printed `\\1B`, `\\\\`), a SAN's backslash is `\x5C` (printed
/// `\\x5C`). Everything else, other scripts included, is printed as it is.
///
/// `--json` needs no more: JSON writes a backslash of the value as `\\` already, and each of
/// these code points becomes a JSON escape, `\u202e`, that means the same value.
public enum TerminalText {
    /// The same set tofu-rpc's log escapes (`LogText.mustEscape`).
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool { LogText.mustEscape(scalar) }

    /// `text` with each code point `mustEscape` names written as `\xNN` or `\uNNNN`, and each
    /// backslash as `\\`: read from the left, every backslash begins one of those three escapes,
    /// so the text can be told apart from any other (and read back exactly).
    public static func escaped(_ text: String) -> String { escaping(text, backslash: true) }

    /// `text` as one word of a shell command the operator may paste (a next step's value: a
    /// host key, a user name, a path): as it is when plain; in single quotes when it holds
    /// nothing `mustEscape` names, so each character, a backslash too, is itself; else in
    /// `$'…'` quotes (bash, zsh, ksh), whose escapes `\\`, `\'`, `\xNN` (below U+0080) and
    /// `\uNNNN` read as `escaped` shows them and paste as the value itself.
    public static func shellWord(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "@", "%", "+", "=", ":", ",", ".", "/", "-": true
            default: false
            }
        }
        if plain { return text }
        guard text.unicodeScalars.contains(where: mustEscape) else { return "'" + text.replacing("'", with: #"'\''"#) + "'" }
        var result = "$'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += #"\\"#
            case "'": result += #"\'"#
            case _ where !mustEscape(scalar): result.unicodeScalars.append(scalar)
            // In `$'…'` \xNN is a byte: U+0080 and above are written as code points.
            case _ where scalar.value < 0x80: result += "\\x" + hex(scalar.value, digits: 2, uppercase: true)
            default: result += "\\u" + hex(scalar.value, digits: 4, uppercase: true)
            }
        }
        return result + "'"
    }

    /// A shell command tofu-rpc wrote for the operator to paste (its words quoted for a POSIX
    /// shell: `'it'\''s.sqlite'`): the code points `mustEscape` names escaped as `escaped` does,
    /// its backslashes and quotes left as they are, for they are the shell's and the command
    /// must paste as written.
    public static func escapedShellCommand(_ command: String) -> String { escaping(command, backslash: false) }

    /// Compact JSON text (as jansson writes it) with the same code points written as JSON
    /// escapes (`\u202e`, lowercase as jq writes them): the same JSON value, safe on a
    /// terminal. Compact JSON has no white space outside its strings, and C0 inside them is
    /// escaped already, so every such code point left is inside a string, where an escape
    /// means the same. (tofu-rpc never sends C0 or DEL in results anyway: OpenSSL escapes them
    /// in names, SANs are escaped, user names refuse them.) A backslash stays as it is: in
    /// JSON text each one begins a JSON escape already (a backslash of the value is `\\`).
    public static func escapedJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: mustEscape) else { return json }
        var result = ""
        for scalar in json.unicodeScalars {
            if mustEscape(scalar) {
                result += "\\u" + hex(scalar.value, digits: 4, uppercase: false)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func escaping(_ text: String, backslash: Bool) -> String {
        guard text.unicodeScalars.contains(where: { (backslash && $0 == "\\") || mustEscape($0) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if backslash && scalar == "\\" {
                result += #"\\"#
            } else if !mustEscape(scalar) {
                result.unicodeScalars.append(scalar)
            } else if scalar.value < 0x100 {
                result += "\\x" + hex(scalar.value, digits: 2, uppercase: true)
            } else {
                result += "\\u" + hex(scalar.value, digits: 4, uppercase: true)
            }
        }
        return result
    }

    private static func hex(_ value: UInt32, digits: Int, uppercase: Bool) -> String {
        let text = String(value, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
