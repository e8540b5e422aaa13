import JSONRPC
import TofuText

/// tofu-rpc's failures in the CLI's words. The server's `message` is written for JSON-RPC
/// callers (methods and params); its `data` carries the situation (`summary`) and the next
/// steps as calls (`nextSteps`), which the CLI prints as the commands an operator types, with
/// everything tofu knows filled in. clients/tofu.sh prints the same text, word for word.
///
///     tofu: 192.0.2.10_443 presents a different certificate than the one pinned (…)
///     Once you have confirmed 3B:A0:… with the controller's administrator, either …:
///       tofu deletecert host 192.0.2.10_443 --expected-fingerprint E8:17:…
///       tofu add-dnac-server --server 192.0.2.10_443 --username admin
enum FailureText {
    /// What the command knows that the server does not: the PEM file `pin-cert` was given.
    struct Context {
        var pemPath: String?
    }

    /// The text for an error answer: from its summary and next steps when it has them, else in
    /// the CLI's words for invalid params, else the server's message.
    static func message(for error: ResponseError, context: Context = Context()) -> String {
        if let text = explanation(error.data, context: context) { return text }
        if error.data?["kind"]?.stringValue == "invalidRecord" {
            // The server's sentence names the line and the host: it is the CLI's words already.
            let prefix = "Invalid params: "
            let message = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
            return TerminalText.escaped(message)
        }
        if error.code == .invalidParams, let text = invalidParams(error.data) { return text }
        return TerminalText.escaped(error.message)
    }

    /// `summary`, then each of `nextSteps`: its sentence, then its calls as commands, indented.
    /// Nil when `object` has no summary.
    static func explanation(_ object: JSONValue?, context: Context = Context()) -> String? {
        guard let summary = object?["summary"]?.stringValue else { return nil }
        var lines = [TerminalText.escaped(summary)]
        for step in object?["nextSteps"]?.arrayValue ?? [] {
            lines.append(Output.text(step["text"]))
            for call in step["calls"]?.arrayValue ?? [] { lines.append("  " + command(call, context: context)) }
            for command in step["commands"]?.arrayValue ?? [] { lines.append("  " + TerminalText.escapedShellCommand(command.stringValue ?? "")) }
        }
        return lines.joined(separator: "\n")
    }

    /// The `tofu` command that makes `call` (`{method, params}`).
    static func command(_ call: JSONValue, context: Context = Context()) -> String {
        let params = call["params"] ?? .null
        func value(_ name: String) -> String? { params[name].flatMap { $0 == .null ? nil : TerminalText.shellWord($0.stringValue ?? $0.description) } }
        func flag(_ name: String) -> Bool { params[name] == .bool(true) }
        var words: [String]
        switch call["method"]?.stringValue ?? "" {
        case "listCerts":
            words = ["tofu", "listcerts"] + (value("host").map { [$0, "-v"] } ?? [])
        case "listDnacServers":
            words = ["tofu", "list-dnac-servers"]
        case "deleteCert":
            words = ["tofu", "deletecert", "host", value("host") ?? "KEY"]
            if flag("next") { words.append("--next") }
            if let expected = value("expectedFingerprint") { words += ["--expected-fingerprint", expected] }
        case "pinCert":
            words = ["tofu", "pin-cert", value("host") ?? "KEY", "--pem", context.pemPath.map(TerminalText.shellWord) ?? "FILE"]
            if flag("next") { words.append("--next") }
        case "verifyCert":
            words = ["tofu", "verifycert", value("host") ?? "KEY"]
        case "removeDnacServer":
            words = ["tofu", "remove-dnac-server", value("server") ?? "KEY"]
        case "addDnacServer":
            words = ["tofu", "add-dnac-server", "--server", value("server") ?? "SERVER", "--username", value("username") ?? "USER"]
            if let accept = value("acceptFingerprint") { words += ["--accept-fingerprint", accept] }
            if let policy = params["policy"]?.stringValue { words += ["--policy", policy == "publicKey" ? "public-key" : TerminalText.shellWord(policy)] }
            if params["checkCredentials"] == .bool(false) { words.append("--no-check-credentials") }
        default:
            words = [Output.text(call["method"]), TerminalText.escapedJSON(params.description)]
        }
        return words.joined(separator: " ")
    }

    /// The params tofu-rpc names, as the CLI's options and arguments.
    static let optionNames: [(param: String, cli: String)] = [
        ("host", "the host key"), ("server", "--server"), ("port", "--port"), ("username", "--username"), ("password", "the password"),
        ("confirmPassword", "the confirmation"), ("acceptFingerprint", "--accept-fingerprint"),
        ("expectedFingerprint", "--expected-fingerprint"), ("timeoutMs", "--timeout-ms"), ("limit", "--limit"),
        ("expiringWithinDays", "--expiring-within"), ("concurrency", "--concurrency"), ("policy", "--policy"), ("pem", "--pem"),
        ("next", "--next"), ("all", "--all"), ("staged", "--staged"),
    ]

    /// -32602 in the CLI's words: `--limit must be from 1 to 100000, got 0.`, `'a b' is not a host key: …`.
    static func invalidParams(_ data: JSONValue?) -> String? {
        // A bad line of an import: the server's message names the line and host, which the
        // record's field alone does not.
        if data?["kind"]?.stringValue == "invalidRecord" { return nil }
        if let value = data?["value"]?.stringValue, let problem = data?["problem"]?.stringValue {
            return TerminalText.escaped(sentence("'\(value)' is not a host key: \(problem)"))
        }
        guard let field = data?["field"]?.stringValue, let reason = data?["reason"]?.stringValue else { return nil }
        var words = reason
        for (param, cli) in optionNames { words = words.replacing("'\(param)'", with: cli) }
        let subject = optionNames.first { $0.param == field }?.cli ?? "'\(field)'"
        return TerminalText.escaped(sentence(capitalised(subject) + " " + words))
    }

    static func sentence(_ text: String) -> String {
        guard let last = text.last else { return text }
        return ".?!".contains(last) ? text : text + "."
    }

    private static func capitalised(_ text: String) -> String {
        guard let first = text.first, first.isLowercase else { return text }
        return first.uppercased() + text.dropFirst()
    }
}
