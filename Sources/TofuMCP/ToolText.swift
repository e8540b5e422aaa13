import JSONRPC
import TofuCore
import TofuText

/// The one text block of a tool result: what a person (or a model) reads, in the CLI's words
/// (PI's lines, from TofuText), while `structuredContent` carries every field.
enum ToolText {
    /// A method's result as text. A method this layer has no words for (exportPins, importPins,
    /// backupStore, one the protocol document gained) is shown as its JSON, escaped as JSON
    /// (`escapedJSON`), so that the text is still that JSON: its backslashes begin JSON escapes,
    /// and the terminal escapes `\xNN` and `\\` are not JSON.
    static func result(of method: String, _ result: JSONValue) -> String {
        switch method {
        case "listCerts": listing(result)
        case "verifyCert": verification(result)
        case "deleteCert": deletion(result)
        case "pinCert":
            if result["pinStatus"]?.stringValue == "staged" {
                Output.certificate("staged", of: result["pin"] ?? .null, result["pin"]?["next"])
            } else {
                Output.pinning(result)
            }
        case "setPinPolicy": "policy set: " + Output.pin(result["pin"] ?? .null, [.policy])
        case "certHistory": lines(result["events"], none: "No history events.", Output.event)
        case "addDnacServer": addition(result)
        case "listDnacServers": lines(result["servers"], none: "No DNA Center server has been added.", Output.server)
        case "removeDnacServer": removal(result)
        default: TerminalText.escapedJSON(result.description)
        }
    }

    /// A typed error as text: its message (with the remedy tofu writes into it), each shell
    /// command of its next steps as tofu-rpc wrote it, and the next step for an agent where a
    /// person must decide.
    static func failure(_ error: ResponseError) -> String {
        var text = TerminalText.escaped(error.message)
        if let remedy = error.data?["remedy"]?.stringValue, !error.message.contains(remedy) {
            text += "\nRemedy: " + TerminalText.escaped(remedy)
        }
        // The prose doubles every backslash (so peer text cannot spell an escape); a command
        // tofu-rpc quoted for the shell is shown as the CLI shows it, to run as written.
        for step in error.data?["nextSteps"]?.arrayValue ?? [] {
            for command in step["commands"]?.arrayValue ?? [] {
                if let command = command.stringValue { text += "\nCommand: " + TerminalText.escapedShellCommand(command) }
            }
        }
        if TofuErrorCode(rawValue: error.code.rawValue) == .certificateMismatch, let presented = error.data?["presented"]?["sha256Fingerprint"] {
            text += "\nBefore any re-pin, a person must confirm with the controller's administrator that its certificate really is \(Output.text(presented)): a changed certificate can also be someone else answering at this address."
        }
        return text
    }

    private static func lines(_ items: JSONValue?, none: String, _ line: (JSONValue) -> String) -> String {
        let items = items?.arrayValue ?? []
        return items.isEmpty ? none : items.map(line).joined(separator: "\n")
    }

    private static func listing(_ page: JSONValue) -> String {
        var text = lines(page["certs"], none: "No certificate is pinned (for these criteria).") { Output.pin($0) }
        if let cursor = page["nextCursor"]?.stringValue {
            text += "\nMore pins follow: call listCerts again with cursor \(TerminalText.escaped(cursor))."
        }
        return text
    }

    private static func verification(_ result: JSONValue) -> String {
        guard let results = result["results"]?.arrayValue else { return verdict(result) + "\n" + Output.verification(result) }
        var counts: [String: Int] = [:]
        for one in results { counts[one["status"]?.stringValue ?? "?", default: 0] += 1 }
        let summary = ["match", "mismatch", "unpinned", "unreachable"].compactMap { status in counts[status].map { "\($0) \(status)" } }
        var text = "Verified \(results.count) pinned host\(results.count == 1 ? "" : "s")" + (summary.isEmpty ? "." : ": " + summary.joined(separator: ", ") + ".")
        for one in results where one["status"]?.stringValue != "match" { text += "\n" + verdict(one) }
        for one in results { text += "\n" + Output.verification(one) }
        return text
    }

    /// One host's verdict, in a sentence.
    private static func verdict(_ result: JSONValue) -> String {
        let host = Output.text(result["host"])
        switch result["status"]?.stringValue {
        case "match":
            if let event = result["event"]?.stringValue {
                return "MATCH: \(host) presents its pinned certificate; the pin was \(event) on this check."
            }
            return "MATCH: \(host) presents its pinned certificate."
        case "mismatch":
            let change = result["change"]?.stringValue == "reissuedSameKey" ? "the same key in a re-issued certificate" : "a new key"
            return "MISMATCH: \(host) presents a different certificate than the one pinned (\(change)): pinned \(Output.text(result["pinned"]?["sha256Fingerprint"])), presented \(Output.text(result["presented"]?["sha256Fingerprint"])). Nothing was changed. Show both fingerprints to a person; re-pin only once they have confirmed the presented one with the controller's administrator."
        case "unpinned":
            return "UNPINNED: \(host) has no pin; it presents \(Output.text(result["presented"]?["sha256Fingerprint"]))."
        default:
            return "UNREACHABLE: \(host) could not be reached over TLS (\(Output.text(result["reason"]))): \(Output.text(result["detail"]))."
        }
    }

    private static func deletion(_ result: JSONValue) -> String {
        if let next = result["deletedNext"], next != .null { return Output.certificate("deleted next", of: result["pin"] ?? .null, next) }
        if let row = result["damagedRow"] { return "deleted damaged " + Output.damagedRow(row, name: "host", given: "") }
        return "deleted " + Output.pin(result["deleted"] ?? .null, [.sha256])
    }

    private static func addition(_ result: JSONValue) -> String {
        let authenticated = result["authenticated"].map { $0 == .null ? "unchecked" : Output.text($0) } ?? "unchecked"
        return Output.pinning(result, then: [("authenticated", authenticated)])
    }

    private static func removal(_ result: JSONValue) -> String {
        if let row = result["damagedRow"] { return "removed damaged " + Output.damagedRow(row, name: "server", given: "") }
        let removed = result["removed"] ?? .null
        return "removed " + Output.line([("server", Output.text(removed["server"])), ("username", Output.text(removed["username"]))])
            + "\nIts pin stays; deleteCert deletes it."
    }
}
