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
        guard (key == nil) == all else { throw ValidationError("give one host key, or --all") }
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
        let statuses = Set(results.compactMap { $0["status"]?.stringValue })
        for result in results where result["status"]?.stringValue == "mismatch" {
            Output.note(Self.hint(result))
        }
        if statuses.contains("mismatch") { throw CLIFailure(.mismatch, "a host presents a different certificate than the one pinned") }
        if statuses.contains("unreachable") { throw CLIFailure(.unreachable, "a host could not be reached over TLS") }
        if statuses.contains("unpinned") { throw CLIFailure(.notFound, "a host has no pin") }
    }

    /// The next command for a mismatch.
    static func hint(_ result: JSONValue) -> String {
        let host = Output.text(result["host"])
        let presented = Output.text(result["presented"]?["sha256Fingerprint"])
        let staged = result["pinned"]?["next"]?["sha256Fingerprint"].map { ", nor the staged next certificate (\(Output.text($0)))" } ?? ""
        return "\(host) presents \(presented), not the pinned certificate\(staged). If the controller's certificate really changed, confirm that fingerprint with its administrator, then: tofu add-dnac-server --server \(host) --username <user> --accept-fingerprint \(presented)"
    }
}
