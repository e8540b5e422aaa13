import JSONRPC
import TofuCore

/// What a failure means and what to do next, once, for every kind of client.
///
/// The server cannot phrase the next step for all its clients: a JSON-RPC caller wants the
/// method and its params, an operator at the CLI wants the command and its options. So an
/// error's `data` carries the situation in neutral words (`summary`: what happened, on which
/// host, with fingerprints and serial numbers) and the next steps as calls (`nextSteps`: a
/// lead-in sentence, then the calls to make, with everything tofu knows filled in). The
/// error's `message` is the summary followed by those calls in JSON-RPC's words; `tofu` and
/// `tofu.sh` print the summary followed by the same calls as commands.
struct Remedy: Sendable {
    /// One call to make: a method of this server and the params tofu already knows.
    struct Call: Sendable {
        let method: String
        let params: [String: JSONValue]

        init(_ method: String, _ params: [String: JSONValue] = [:]) {
            self.method = method
            self.params = params
        }

        var json: JSONValue { ["method": .string(method), "params": .object(params)] }

        /// `deleteCert {"host":"192.0.2.10_443"}`, as a JSON-RPC caller would send it.
        var words: String { method + " " + JSONValue.object(params).description }
    }

    /// A way forward: a sentence ending in a colon (or a full sentence when there is nothing
    /// to call), then calls in order, then shell commands that are the same for every client
    /// (sqlite3).
    struct Step: Sendable {
        let text: String
        var calls: [Call] = []
        var commands: [String] = []

        var json: JSONValue {
            ["text": .string(text), "calls": .array(calls.map(\.json)), "commands": .array(commands.map(JSONValue.string))]
        }

        var words: String {
            let actions = calls.map(\.words) + commands
            guard !actions.isEmpty else { return text }
            return text + " " + actions.joined(separator: ", then ") + "."
        }
    }

    var summary: String
    var steps: [Step] = []

    /// The error's message, for JSON-RPC callers.
    var message: String { ([summary] + steps.map(\.words)).joined(separator: " ") }

    /// `summary`, `nextSteps`, and `remedyCalls` (the first step's calls) for `data`.
    var details: [String: JSONValue] {
        var details: [String: JSONValue] = ["summary": .string(summary), "nextSteps": .array(steps.map(\.json))]
        if let first = steps.first, !first.calls.isEmpty { details["remedyCalls"] = .array(first.calls.map(\.json)) }
        return details
    }

    /// A certificate as the messages name it: its SHA-256 fingerprint and, as the Cisco
    /// procedure checks certificates by it, its serial number.
    static func certificate(_ certificate: CertificateSummary) -> String {
        "\(certificate.sha256Fingerprint) (serial \(certificate.serialNumber))"
    }

    /// `text` ending in a full stop (unless it ends in one, or in ? or !).
    static func sentence(_ text: String) -> String {
        guard let last = text.last else { return text }
        return ".?!".contains(last) ? text : text + "."
    }
}

extension ResponseError {
    /// An error whose message and `data` come from `remedy`, with `details` beside them.
    init(code: ErrorCode, kind: String, remedy: Remedy, details: [String: JSONValue]) {
        self.init(code: code, kind: kind, message: remedy.message, details: details.merging(remedy.details) { _, new in new })
    }
}
