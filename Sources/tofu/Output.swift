import Foundation
import JSONRPC

/// What the CLI prints: PI's line format (`host=<key>;  subject=<subject>`), fields joined by
/// a semicolon and two spaces; `--json` prints result objects as they came.
enum Output {
    static func line(_ fields: [(String, String)]) -> String {
        fields.map { "\($0)=\($1)" }.joined(separator: ";  ")
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .bool(let flag)?: flag ? "true" : "false"
        case .int(let number)?: String(number)
        case .null?, nil: ""
        case let other?: other.description
        }
    }

    /// `host=<key>;  subject=<subject>`, and with `verbose` serial, fingerprint and expiry.
    static func pin(_ pin: JSONValue, verbose: Bool) -> String {
        var fields = [("host", text(pin["host"])), ("subject", text(pin["subject"]))]
        if verbose {
            fields += [("serial", text(pin["serialNumber"])), ("sha256", text(pin["sha256Fingerprint"])), ("notAfter", text(pin["notAfter"]))]
        }
        return line(fields)
    }

    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func printJSON(_ value: JSONValue) {
        print(value.description)
    }

    /// A note for the operator on stderr (never on stdout, which scripts parse).
    static func note(_ text: String) {
        FileHandle.standardError.write(Data(("tofu: " + text + "\n").utf8))
    }
}
