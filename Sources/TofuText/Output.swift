import JSONRPC

/// tofu's answers as lines a person reads, shared by the CLI and the MCP tools: PI's line format
/// (`host=<key>;  subject=<subject>`), fields joined by a semicolon and two spaces, every value
/// escaped for a terminal (see TerminalText).
public enum Output {
    public static func line(_ fields: [(String, String)]) -> String {
        fields.map { "\($0)=\($1)" }.joined(separator: ";  ")
    }

    /// A value from tofu-rpc as text to print, escaped for the terminal (see TerminalText).
    public static func text(_ value: JSONValue?) -> String {
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
    public enum PinField: String, Sendable {
        case serial = "serialNumber"
        case sha256 = "sha256Fingerprint"
        case notAfter
        case policy
    }

    /// `listcerts -v`: serial, fingerprint, expiry (marked `validity=` when it needs attention at
    /// `now`, see `validity(of:now:soon:)`) and policy, then the staged next certificate's.
    public static func verbosePin(_ pin: JSONValue, now: String, soon: String) -> String {
        var fields: [(String, String)] = [
            ("serial", text(pin["serialNumber"])), ("sha256", text(pin["sha256Fingerprint"])), ("notAfter", text(pin["notAfter"])),
        ]
        if let validity = validity(of: pin, now: now, soon: soon) { fields.append(("validity", validity)) }
        fields.append(("policy", text(pin["policy"])))
        if let next = pin["next"], next != .null {
            fields += [("next", text(next["sha256Fingerprint"])), ("nextSerial", text(next["serialNumber"])), ("nextNotAfter", text(next["notAfter"]))]
            if let validity = validity(of: next, now: now, soon: soon) { fields.append(("nextValidity", validity)) }
        }
        return Output.pin(pin, [], then: fields)
    }

    /// `expired`, `expiringSoon` or `notYetValid` for a certificate (a pin's or its staged
    /// one's) as tofu-rpc answers it, at `now` (RFC 3339 UTC, which compares as text); nil for
    /// one that is valid and not ending before `soon`.
    public static func validity(of certificate: JSONValue?, now: String, soon: String) -> String? {
        guard let notBefore = certificate?["notBefore"]?.stringValue, let notAfter = certificate?["notAfter"]?.stringValue else { return nil }
        if now < notBefore { return "notYetValid" }
        if now > notAfter { return "expired" }
        return notAfter < soon ? "expiringSoon" : nil
    }

    /// PI's line for a pin, `host=<key>;  subject=<subject>`, then `fields` of the pin, then `extra`.
    public static func pin(_ pin: JSONValue, _ fields: [PinField] = [], then extra: [(String, String)] = []) -> String {
        line([("host", text(pin["host"])), ("subject", text(pin["subject"]))] + fields.map { ("\($0)", text(pin[$0.rawValue])) } + extra)
    }

    /// `<what> host=<key>;  subject=<subject>;  sha256=<fingerprint>` of a certificate that is not the
    /// pin itself (a staged next certificate), beside the pin's host.
    public static func certificate(_ what: String, of pin: JSONValue, _ certificate: JSONValue?) -> String {
        what + " " + line([
            ("host", text(pin["host"])), ("subject", text(certificate?["subject"])), ("sha256", text(certificate?["sha256Fingerprint"])),
        ])
    }

    /// What pinCert and addDnacServer did: `pinned host=<key>;  subject=<subject>;  sha256=<fingerprint>`.
    public static func pinning(_ result: JSONValue, then extra: [(String, String)] = []) -> String {
        text(result["pinStatus"]) + " " + pin(result["pin"] ?? .null, [.sha256], then: extra)
    }

    /// A row that was removed although it could not be read: which one, and what was wrong.
    /// `name` labels its host (the host as stored, else `given`).
    public static func damagedRow(_ row: JSONValue, name: String, given: String) -> String {
        line([
            (name, text(row["host"] ?? .string(given))), ("table", text(row["table"])), ("rowid", text(row["rowid"])),
            ("problem", text(row["problem"])),
        ])
    }

    /// One host's verifyCert verdict: `host=<key>;  status=<status>;  …`, with what tells the
    /// statuses apart (the fingerprints of a match or a mismatch, why a host was unreachable).
    public static func verification(_ result: JSONValue) -> String {
        let status = text(result["status"])
        var fields = [("host", text(result["host"])), ("status", status)]
        switch status {
        case "match":
            fields.append(("sha256", text(result["presented"]?["sha256Fingerprint"])))
            if let event = result["event"], event != .null {
                // The pin moved on: the staged certificate was promoted, or a same-key renewal stored.
                fields += [("event", text(event)), ("previous", text(result["previous"]?["sha256Fingerprint"]))]
            }
        case "mismatch":
            fields += [
                ("change", text(result["change"])), ("pinned", text(result["pinned"]?["sha256Fingerprint"])),
                ("presented", text(result["presented"]?["sha256Fingerprint"])),
            ]
        case "unpinned":
            fields.append(("presented", text(result["presented"]?["sha256Fingerprint"])))
        default:
            fields += [("reason", text(result["reason"])), ("detail", text(result["detail"]))]
        }
        if let validity = result["presentedValidity"]?.stringValue, validity != "valid" { fields.append(("validity", text(.string(validity)))) }
        return line(fields)
    }

    /// One certHistory event: `at=…;  event=…;  host=…;  sha256=…;  detail=…`.
    public static func event(_ event: JSONValue) -> String {
        line([
            ("at", text(event["at"])), ("event", text(event["event"])), ("host", text(event["host"])),
            ("sha256", text(event["sha256Fingerprint"])), ("detail", text(event["detail"])),
        ])
    }

    /// One recorded DNA Center server: `server=…;  username=…;  pinned=…;  lastCheckedAt=…`.
    public static func server(_ server: JSONValue) -> String {
        line([
            ("server", text(server["server"])), ("username", text(server["username"])),
            ("pinned", text(server["pinnedFingerprint"])), ("lastCheckedAt", text(server["lastCheckedAt"])),
        ])
    }
}
