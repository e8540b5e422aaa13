import JSONRPC
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// What the CLI prints: PI's line format (`host=<key>;  subject=<subject>`), fields joined by
/// a semicolon and two spaces; `--json` prints result objects as they came.
enum Output {
    static func line(_ fields: [(String, String)]) -> String {
        fields.map { "\($0)=\($1)" }.joined(separator: ";  ")
    }

    /// A value from tofu-rpc as text to print, escaped for the terminal (see TerminalText).
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: TerminalText.escaped(text)
        case .bool(let flag)?: flag ? "true" : "false"
        case .int(let number)?: String(number)
        case .null?, nil: ""
        case let other?: TerminalText.escaped(other.description)
        }
    }

    /// A field of a pin shown after its host and subject: labelled with the case name, read
    /// from the member of tofu-rpc's pin object the raw value names.
    enum PinField: String {
        case serial = "serialNumber"
        case sha256 = "sha256Fingerprint"
        case notAfter
        case policy
    }

    /// `listcerts -v`: serial, fingerprint, expiry (marked `validity=` when it needs attention at
    /// `now`, see Expiry) and policy, then the staged next certificate's.
    static func verbosePin(_ pin: JSONValue, now: String, soon: String) -> String {
        var fields: [(String, String)] = [
            ("serial", text(pin["serialNumber"])), ("sha256", text(pin["sha256Fingerprint"])), ("notAfter", text(pin["notAfter"])),
        ]
        if let validity = Expiry.validity(of: pin, now: now, soon: soon) { fields.append(("validity", validity)) }
        fields.append(("policy", text(pin["policy"])))
        if let next = pin["next"], next != .null {
            fields += [("next", text(next["sha256Fingerprint"])), ("nextSerial", text(next["serialNumber"])), ("nextNotAfter", text(next["notAfter"]))]
            if let validity = Expiry.validity(of: next, now: now, soon: soon) { fields.append(("nextValidity", validity)) }
        }
        return Output.pin(pin, [], then: fields)
    }

    /// PI's line for a pin, `host=<key>;  subject=<subject>`, then `fields` of the pin, then `extra`.
    static func pin(_ pin: JSONValue, _ fields: [PinField] = [], then extra: [(String, String)] = []) -> String {
        line([("host", text(pin["host"])), ("subject", text(pin["subject"]))] + fields.map { ("\($0)", text(pin[$0.rawValue])) } + extra)
    }

    /// `<what> host=<key>;  subject=<subject>;  sha256=<fingerprint>` of a certificate that is not the
    /// pin itself (a staged next certificate), beside the pin's host.
    static func certificate(_ what: String, of pin: JSONValue, _ certificate: JSONValue?) -> String {
        what + " " + line([
            ("host", text(pin["host"])), ("subject", text(certificate?["subject"])), ("sha256", text(certificate?["sha256Fingerprint"])),
        ])
    }

    /// What pinCert and addDnacServer did: `pinned host=<key>;  subject=<subject>;  sha256=<fingerprint>`.
    static func pinning(_ result: JSONValue, then extra: [(String, String)] = []) -> String {
        text(result["pinStatus"]) + " " + pin(result["pin"] ?? .null, [.sha256], then: extra)
    }

    /// A row that was removed although it could not be read: which one, and what was wrong.
    /// `name` labels its host (the host as stored, else `given`).
    static func damagedRow(_ row: JSONValue, name: String, given: String) -> String {
        line([
            (name, text(row["host"] ?? .string(given))), ("table", text(row["table"])), ("rowid", text(row["rowid"])),
            ("problem", text(row["problem"])),
        ])
    }

    /// Writes `text` and a newline to stdout. Foundation's `FileHandle.write(_:)` would trap on
    /// a closed pipe or a full disk.
    static func print(_ text: String) {
        do {
            try FileIO.writeAll(STDOUT_FILENO, text + "\n")
        } catch {
            if error == Errno(EPIPE) {
                // The reader of stdout went away (`tofu listcerts | head -1`): stop as any Unix
                // tool does, by SIGPIPE, which the CLI ignores only for its pipes to tofu-rpc.
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
            }
            note("cannot write the output: \(error)")
            Glibc.exit(ExitStatus.failure.rawValue)
        }
    }

    /// The value as compact JSON, with the code points TerminalText escapes written as JSON
    /// escapes: a script parses the same value, a terminal shows no control sequence.
    static func printJSON(_ value: JSONValue) {
        print(TerminalText.escapedJSON(value.description))
    }

    /// A note for the operator on stderr (never on stdout, which scripts parse).
    static func note(_ text: String) {
        error("tofu: " + text + "\n")
    }

    /// Writes `text` to stderr as is; if stderr is gone there is nowhere left to say so.
    static func error(_ text: String) {
        _ = try? FileIO.writeAll(STDERR_FILENO, text)
    }
}
