import ArgumentParser
import JSONRPC
import TofuText

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The audit trail: pins, replacements, deletions, matches and mismatches seen, oldest first.",
        discussion: """
            Examples:
              tofu history
              tofu history 192.0.2.10_443 --limit 20
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Only this host key.")
    var key: String?

    @Option(help: "The most recent N events.")
    var limit: Int?

    func run() throws {
        var params: [String: JSONValue] = [:]
        if let key { params["host"] = .string(key) }
        if let limit { params["limit"] = .int(Int64(limit)) }
        let result = try options.client().call("certHistory", params).orExit()
        if options.json { return Output.printJSON(result) }
        for event in result["events"]?.arrayValue ?? [] {
            Output.print(Output.event(event))
        }
    }
}
