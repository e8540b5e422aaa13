import ArgumentParser
import JSONRPC
import TofuCore
import TofuText

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The audit trail: pins, replacements, deletions, mismatches, servers added and removed, refused credentials; oldest first.",
        discussion: """
            Examples:
              tofu history
              tofu history 192.0.2.10_443 --limit 20
              tofu history --event mismatch --event replaced --since 2026-11-01
              tofu history --prune-before 2026-01-01      (delete older events; pins stay)
            A verification records a change, not every look: a mismatch the first time it is seen, \
            a match only after a mismatch. Events: \(Self.events).

            --prune-before deletes the events before that date or UTC time (of KEY only, if given), \
            committed before it answers; the pruning itself is not an event.
            """)

    static let events = HistoryEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Only this host key.")
    var key: String?

    @Option(help: "The most recent N events.")
    var limit: Int?

    @Option(help: ArgumentHelp("Only events of this kind; repeat it for several.", valueName: "event"))
    var event: [String] = []

    @Option(help: ArgumentHelp("Only events at or after this date (2026-11-29, meaning 00:00:00 UTC) or UTC time (2026-11-29T04:00:00Z).", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Delete the events before this date or UTC time instead of listing (of the host key only, if given).", valueName: "date"))
    var pruneBefore: String?

    func validate() throws {
        if pruneBefore != nil && (limit != nil || !event.isEmpty || since != nil) {
            throw ValidationError("--prune-before deletes events; it does not go with --limit, --event or --since")
        }
    }

    func run() throws {
        var params: [String: JSONValue] = [:]
        if let key { params["host"] = .string(key) }
        if let pruneBefore {
            params["before"] = .string(pruneBefore)
            let result = try options.client().call("pruneHistory", params).orExit()
            if options.json { return Output.printJSON(result) }
            return Output.print(Output.line([("pruned", Output.text(result["pruned"])), ("before", Output.text(result["before"]))]))
        }
        if let limit { params["limit"] = .int(Int64(limit)) }
        if !event.isEmpty { params["event"] = .array(event.map(JSONValue.string)) }
        if let since { params["since"] = .string(since) }
        let result = try options.client().call("certHistory", params).orExit()
        if options.json { return Output.printJSON(result) }
        for event in result["events"]?.arrayValue ?? [] {
            Output.print(Output.event(event))
        }
    }
}
