import CJansson

/// What a parse error says: where it is (line, column, byte position, given apart) and what
/// kind it is, never what is there.
///
/// jansson's own error text quotes up to 20 bytes of input near the error (`':' expected
/// near '"hunter2"'`), and a request that fails to parse may hold a password. Only the
/// wordings below ever reach the peer or the log: jansson's text is matched against the
/// fixed phrases jansson 2.14 starts its messages with, and never copied.
enum ParseErrorWording {
    /// jansson's message prefixes for `json_error_invalid_syntax`, most specific first,
    /// and what tofu says instead.
    private static let syntax: [(prefix: String, wording: String)] = [
        ("':' expected", "':' expected after an object key"),
        ("'}' expected", "',' or '}' expected after an object member"),
        ("']' expected", "',' or ']' expected after an array element"),
        ("string or '}' expected", "a string key or '}' expected in an object"),
        ("unexpected newline", "a string is not closed before the end of the line"),
        ("control character", "an unescaped control character in a string"),
        ("invalid Unicode escape", "an invalid \\u escape in a string"),
        ("invalid Unicode", "an unpaired UTF-16 surrogate escape in a string"),
        ("invalid escape", "an invalid escape in a string"),
        ("invalid token", "not a JSON value (a word, number or character JSON does not allow)"),
        ("unexpected token", "a JSON value expected"),
    ]

    /// Every wording `reason(for:)` can give (for tests).
    static var all: Set<String> {
        Set(syntax.map(\.wording)).union([
            invalidUTF8, endsInString, endsEarly, textAfterValue, numberTooBig, realOutOfRange, nulInKey, duplicateKey, invalidSyntax, unreadable,
        ])
    }

    private static let invalidUTF8 = "invalid UTF-8"
    private static let endsInString = "the text ends inside a string"
    private static let endsEarly = "the text ends before the JSON value is complete"
    private static let textAfterValue = "more text after the JSON value"
    private static let numberTooBig = "an integer outside the 64-bit range"
    private static let realOutOfRange = "a number outside the range of a double"
    private static let nulInKey = "an object key contains \\u0000"
    private static let duplicateKey = "an object has the same key twice"
    private static let invalidSyntax = "invalid JSON syntax"
    private static let unreadable = "the JSON text could not be read"

    /// The wording for a failed `json_loadb`.
    static func reason(for error: json_error_t) -> String {
        var error = error
        switch json_error_code(&error) {
        case json_error_invalid_utf8: return invalidUTF8
        case json_error_premature_end_of_input:
            return startsWith(error, "premature end of input") ? endsInString : endsEarly
        case json_error_end_of_input_expected: return textAfterValue
        case json_error_numeric_overflow:
            return startsWith(error, "real number overflow") ? realOutOfRange : numberTooBig
        case json_error_null_byte_in_key: return nulInKey
        case json_error_duplicate_key: return duplicateKey
        case json_error_invalid_syntax:
            return syntax.first { startsWith(error, $0.prefix) }?.wording ?? invalidSyntax
        default: return unreadable
        }
    }

    /// Whether jansson's message begins with `prefix` (compared byte for byte, nothing kept).
    private static func startsWith(_ error: json_error_t, _ prefix: String) -> Bool {
        withUnsafeBytes(of: error.text) { text in
            let expected = Array(prefix.utf8)
            return text.count >= expected.count && zip(text, expected).allSatisfy { $0 == $1 }
        }
    }
}
