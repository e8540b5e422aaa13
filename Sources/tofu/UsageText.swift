import TofuText
/// The command line's own mistakes (a missing value, an unknown option) as sentences, with the
/// help to read: `tofu: --host needs a value. See 'tofu listcerts --help'.` swift-argument-parser
/// words them as fragments and follows them with a usage screen; clients/tofu.sh says the same
/// sentences for the same mistakes, and both exit with status 2.
enum UsageText {
    /// The options that take a number.
    static let numericOptions: Set<String> = ["--port", "--timeout-ms", "--limit", "--expiring-within", "--concurrency"]

    /// `message`: swift-argument-parser's words for the mistake; `fullMessage`: its whole
    /// text, whose "See 'tofu listcerts --help'" names the command.
    static func sentence(message: String, fullMessage: String) -> String {
        let command = fullMessage.firstMatch(of: /See '([^']+) --help'/).map { String($0.output.1) } ?? "tofu"
        let words = FailureText.sentence(translated(message, group: groups.contains(command) ? command : nil))
        return TerminalText.escaped(words) + " See '\(command) --help'."
    }

    /// The commands that only hold other commands.
    static let groups: Set<String> = ["tofu", "tofu certvalidation", "tofu certvalidation tofu-certs"]

    /// `group`: the command the mistake was made in, when it holds commands rather than options.
    static func translated(_ message: String, group: String?) -> String {
        if let match = message.wholeMatch(of: /Missing value for '(-[^' ]+)(?: <[^>]+>)?'/) {
            return "\(match.output.1) needs a value"
        }
        if let match = message.wholeMatch(of: /Unknown option '([^']+)'(?:\. Did you mean '([^']+)'\?)?/) {
            return "There is no option \(match.output.1)" + (match.output.2.map { ". Did you mean \($0)?" } ?? "")
        }
        if let match = message.wholeMatch(of: /Unexpected argument '(.*)'/) {
            return group.map { "'\(match.output.1)' is not a \($0) command" } ?? "'\(match.output.1)' is not expected here"
        }
        if let match = message.wholeMatch(of: /\d+ unexpected arguments: (.*)/) {
            return "\(match.output.1) are not expected here"
        }
        if let match = message.wholeMatch(of: /Missing expected argument '<([^>]+)>'/) {
            return "The \(argumentName(String(match.output.1))) is missing"
        }
        if let match = message.wholeMatch(of: /Missing expected argument '(--[^' ]+)(?: <[^>]+>)?'/) {
            return "\(match.output.1) is required"
        }
        if let match = message.wholeMatch(of: /The value '(.*)' is invalid for '(--[^' ]+)(?: <[^>]+>)?'(?s:.*)/) {
            return invalidValue(String(match.output.1), for: String(match.output.2))
        }
        if let match = message.wholeMatch(of: /The value '(.*)' is invalid for '<([^>]+)>'(?s:.*)/) {
            return match.output.2 == "policy" ? "The policy is certificate or public-key, not '\(match.output.1)'" : "'\(match.output.1)' is not a valid \(argumentName(String(match.output.2)))"
        }
        if let match = message.wholeMatch(of: /The option '([^']+)' does not take any value, but '.*' was specified\./) {
            return "\(match.output.1) takes no value"
        }
        return message
    }

    static func invalidValue(_ value: String, for option: String) -> String {
        if numericOptions.contains(option) { return "\(option) takes a number, not '\(value)'" }
        if option == "--policy" { return "--policy is certificate or public-key, not '\(value)'" }
        return "'\(value)' is not a valid value for \(option)"
    }

    /// The words for an argument's value name (`<key>`).
    static func argumentName(_ valueName: String) -> String {
        switch valueName {
        case "key", "server": "host key"
        case "policy": "policy (certificate or public-key)"
        default: "<\(valueName)>"
        }
    }
}
