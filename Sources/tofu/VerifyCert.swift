import ArgumentParser
import JSONRPC
import TofuText

struct VerifyCert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verifycert",
        abstract: "Compare what a host presents now with its pin. Changes nothing but the time of the last match.",
        discussion: """
            Examples:
              tofu verifycert 192.0.2.10_443
              tofu verifycert --all --concurrency 64
            One line per host: host=<key>;  status=match|mismatch|unpinned|unreachable;  …
            validity=expired, expiringSoon (ending within 30 days, or --expiring-within) or \
            notYetValid marks a presented certificate that needs attention.
            Exit status 3 if any host presents another certificate, else 5 if any is unreachable,
            else 4 if any has no pin.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The host key, e.g. 192.0.2.10_443.")
    var key: String?

    @Flag(help: "Verify every pin.")
    var all = false

    @Option(help: "With --all: hosts verified at once.")
    var concurrency: Int?

    @Option(help: "Deadline per host, in milliseconds.")
    var timeoutMs: Int?

    @Option(
        name: .customLong("expiring-within"), parsing: .unconditional,
        help: ArgumentHelp("A presented certificate ending within this many days is validity=expiringSoon (default 30; 0: only expired ones are marked).", valueName: "days"))
    var expiringWithin: Int?

    func validate() throws {
        try Expiry.check(expiringWithin)
        guard (key == nil) == all else { throw ValidationError("Give one host key, or --all") }
        if concurrency != nil && !all { throw ValidationError("--concurrency goes with --all") }
    }

    func run() throws {
        let client = try options.client()
        var params: [String: JSONValue] = [:]
        if let timeoutMs { params["timeoutMs"] = .int(Int64(timeoutMs)) }
        if let expiringWithin { params["expiringWithinDays"] = .int(Int64(expiringWithin)) }
        let results: [JSONValue]
        let resultObject: JSONValue
        if all {
            params["all"] = true
            if let concurrency { params["concurrency"] = .int(Int64(concurrency)) }
            let progress = Progress()
            if progress.enabled { params["progressToken"] = "tofu" }
            resultObject = try client.call("verifyCert", params) { progress.show($0) }.orExit()
            progress.finish()
            results = resultObject["results"]?.arrayValue ?? []
        } else {
            params["host"] = .string(key ?? "")
            resultObject = try client.call("verifyCert", params).orExit()
            results = [resultObject]
        }
        if options.json { Output.printJSON(resultObject) } else { results.forEach { Output.print(Output.verification($0)) } }
        // What went wrong, host by host, with the next step; with --all only the mismatches,
        // the outage, then one line that names the hosts of each kind.
        for result in results where result["status"]?.stringValue != "match" && (!all || result["status"]?.stringValue == "mismatch") {
            if let text = FailureText.explanation(result) { Output.note(text) }
        }
        let statuses = Set(results.compactMap { $0["status"]?.stringValue })
        let status: ExitStatus? =
            statuses.contains("mismatch") ? .mismatch : statuses.contains("unreachable") ? .unreachable : statuses.contains("unpinned") ? .notFound : nil
        guard let status else { return }
        guard all else { throw CLIFailure(explained: status) }
        throw CLIFailure(status, Self.tally(results))
    }

    /// `Of 3 pins, 1 presents a different certificate (192.0.2.10_443) and 1 could not be reached (192.0.2.11_443).`
    static func tally(_ results: [JSONValue]) -> String {
        let kinds = [
            ("mismatch", "presents a different certificate", "present a different certificate"),
            ("unreachable", "could not be reached", "could not be reached"), ("unpinned", "has no pin", "have no pin"),
        ]
        let parts = kinds.compactMap { status, one, many -> String? in
            let hosts = results.filter { $0["status"]?.stringValue == status }.map { Output.text($0["host"]) }
            guard !hosts.isEmpty else { return nil }
            return "\(hosts.count) \(hosts.count == 1 ? one : many) (\(hosts.joined(separator: ", ")))"
        }
        let listed = parts.count > 1 ? parts.dropLast().joined(separator: ", ") + " and " + (parts.last ?? "") : parts.joined()
        return "Of \(results.count) pin\(results.count == 1 ? "" : "s"), \(listed)."
    }
}
