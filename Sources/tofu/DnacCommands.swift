import ArgumentParser
import JSONRPC
import TofuCore
import TofuText

struct AddDnacServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-dnac-server",
        abstract: "Add a Cisco DNA Center: reach it, pin its certificate on first use, check the credentials.",
        discussion: """
            The password is asked twice on the terminal, or read from one line of standard input with
            --password-stdin. It is never an argument: every user of the machine can read arguments.

            Examples:
              tofu add-dnac-server --server 192.0.2.10 --username admin
              printf '%s\\n' "$PASSWORD" | tofu add-dnac-server --server 192.0.2.10 --username admin --password-stdin
              tofu add-dnac-server --server 192.0.2.10 --username admin --accept-fingerprint 3B:A0:…:91:7F
            --accept-fingerprint is the one-step re-pin after the controller's certificate changed: the new
            certificate replaces the pin only once the credentials are accepted; otherwise the old pin stays.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "The controller's IP address or host name (a port may follow: 192.0.2.10:8443).")
    var server: String

    @Option(help: "The controller's HTTPS port (default 443).")
    var port: Int?

    @Option(help: "The DNA Center user.")
    var username: String

    @Flag(help: "Read the password from one line of standard input instead of asking.")
    var passwordStdin = false

    /// Refused with a word of why: only there to say so.
    @Option(help: .hidden)
    var password: String?

    @Flag(name: .customLong("no-check-credentials"), help: "Only reach the controller and pin its certificate.")
    var noCheckCredentials = false

    @Option(help: "Re-pin: the SHA-256 fingerprint of the certificate the controller presents now.")
    var acceptFingerprint: String?

    @Option(help: "The pin's policy: certificate (exactly this certificate; the default for a new pin) or public-key.")
    var policy: PolicyName?

    @Option(help: "Deadline in milliseconds for the connection, and again for the token request.")
    var timeoutMs: Int?

    func validate() throws {
        if password != nil {
            throw ValidationError(
                "The password is never an argument (every user of the machine can read arguments): answer the prompt, or pipe it with --password-stdin")
        }
    }

    func run() throws {
        let (password, confirmation) = passwordStdin ? try { let line = try Password.fromStandardInput(); return (line, line) }() : try Password.prompt(for: promptName)
        var params: [String: JSONValue] = [
            "server": .string(server), "username": .string(username), "password": .string(password), "confirmPassword": .string(confirmation),
        ]
        if let port { params["port"] = .int(Int64(port)) }
        if noCheckCredentials { params["checkCredentials"] = false }
        if let acceptFingerprint { params["acceptFingerprint"] = .string(acceptFingerprint) }
        if let policy { params["policy"] = .string(policy.wire) }
        if let timeoutMs { params["timeoutMs"] = .int(Int64(timeoutMs)) }
        let result = try options.client().call("addDnacServer", params).orExit()
        if options.json { return Output.printJSON(result) }
        let authenticated = result["authenticated"].map { $0 == .null ? "unchecked" : Output.text($0) } ?? "unchecked"
        Output.print(Output.pinning(result, then: [("authenticated", authenticated)]))
    }

    /// The user and the controller, as given, for the password prompt.
    var promptName: String {
        TerminalText.escaped("\(username) on \(server)") + (port.map { " port \($0)" } ?? "")
    }
}

struct ListDnacServers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-dnac-servers",
        abstract: "List the DNA Center servers that were added.",
        discussion: "Example:\n  tofu list-dnac-servers")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let result = try options.client().call("listDnacServers").orExit()
        if options.json { return Output.printJSON(result) }
        for server in result["servers"]?.arrayValue ?? [] {
            Output.print(Output.server(server))
        }
    }
}

struct RemoveDnacServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-dnac-server",
        abstract: "Forget an added DNA Center server. Its pin stays.",
        discussion: "Example:\n  tofu remove-dnac-server 192.0.2.10_443\nTo delete the pin too: tofu deletecert host 192.0.2.10_443")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The server's host key, e.g. 192.0.2.10_443.")
    var server: String

    func run() throws {
        let result = try options.client().call("removeDnacServer", ["server": .string(server)]).orExit()
        if options.json { return Output.printJSON(result) }
        if let row = result["damagedRow"], row != .null {
            Output.print("removed damaged " + Output.damagedRow(row, name: "server", given: server))
            return
        }
        let removed = result["removed"] ?? .null
        Output.print("removed " + Output.line([("server", Output.text(removed["server"])), ("username", Output.text(removed["username"]))]))
        Output.note("The pin of \(Output.text(removed["server"])) stays. To delete it too:\n  tofu deletecert host \(Output.text(removed["server"]))")
    }
}
