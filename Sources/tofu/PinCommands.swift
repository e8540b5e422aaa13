import ArgumentParser
import TofuCore
import JSONRPC
import TofuText

struct ListCerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listcerts",
        abstract: "List the pinned certificates, one line per host: host=<key>;  subject=<subject>.",
        discussion: """
            Examples:
              tofu listcerts
              tofu listcerts 192.0.2.10_443 -v
              tofu listcerts --expiring-within 30     (pins whose certificate ends within 30 days)
              tofu listcerts --staged -v              (pins with a staged next certificate)
            With -v each line adds serial, sha256, notAfter and policy, and for a staged next \
            certificate next (its SHA-256), nextSerial and nextNotAfter; validity=expired, \
            expiringSoon (ending within 30 days, or --expiring-within) or notYetValid marks a \
            certificate that needs attention (nextValidity for the staged one). \
            With a host key that has no pin, the exit status is 4, as for deletecert.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "Only this host key, e.g. 192.0.2.10_443.")
    var key: String?

    /// The host key the way earlier releases took it; KEY is the one way now.
    @Option(help: ArgumentHelp("The same as KEY.", visibility: .hidden))
    var host: String?

    @Option(
        name: .customLong("expiring-within"), parsing: .unconditional,
        help: ArgumentHelp("Only pins whose certificate expires within this many days, expired ones included (0: only expired ones); with -v, what marks expiringSoon (default 30).", valueName: "days"))
    var expiringWithin: Int?

    @Flag(help: "Only pins with a staged next certificate (see pin-cert --next).")
    var staged = false

    @Flag(name: .shortAndLong, help: "Add serial number, SHA-256 fingerprint, expiry, policy and the staged next certificate.")
    var verbose = false

    func validate() throws {
        if key != nil && host != nil { throw ValidationError("Give the host key once") }
        try Expiry.check(expiringWithin)
    }

    func run() throws {
        let client = try options.client()
        let host = key ?? host
        let now = Timestamp.now()
        let soon = Timestamp.now(plusDays: expiringWithin ?? Expiry.defaultDays)
        var cursor: JSONValue = .null
        var listed = 0
        repeat {
            var params: [String: JSONValue] = [:]
            if let host { params["host"] = .string(host) }
            if let expiringWithin { params["expiringWithinDays"] = .int(Int64(expiringWithin)) }
            if staged { params["staged"] = true }
            if cursor != .null { params["cursor"] = cursor }
            let page = try client.call("listCerts", params).orExit()
            listed += page["certs"]?.arrayValue?.count ?? 0
            if options.json {
                Output.printJSON(page)
            } else {
                for pin in page["certs"]?.arrayValue ?? [] {
                    Output.print(verbose ? Output.verbosePin(pin, now: now, soon: soon) : Output.pin(pin))
                    listed += 1
                }
            }
            cursor = page["nextCursor"] ?? .null
        } while cursor != .null
        // One host asked for by its key and not pinned: not found, as deletecert says.
        if let host, listed == 0, expiringWithin == nil, !staged {
            throw CLIFailure(.notFound, "No certificate is pinned for \(TerminalText.escaped(host)).\nTo see the pins:\n  tofu listcerts")
        }
        // On stderr: stdout stays the list itself, empty, for a script that counts its lines.
        if listed == 0 && !options.json { Output.error("(no pins)\n") }
    }
}

struct DeleteCert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deletecert",
        abstract: "Delete the pin of a host, as PI's 'deletecert host <key>'.",
        discussion: """
            Examples:
              tofu deletecert host 192.0.2.10_443
              tofu deletecert host 192.0.2.10_443 --expected-fingerprint E8:17:…:08:5C
              tofu deletecert host 192.0.2.10_443 --next     (only the staged next certificate)
            PI's word 'host' before the key may be left out: tofu deletecert 192.0.2.10_443.
            With --expected-fingerprint the pin (with --next: the staged certificate) is deleted only if
            it is that certificate, so a script never deletes a pin it did not look at.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("[host] <key>: the host key, e.g. 192.0.2.10_443, after PI's word 'host' if you like.", valueName: "key"))
    var words: [String] = []

    /// The host key: the last word, after PI's optional `host`.
    var key: String { words.last ?? "" }

    @Option(help: "Delete only if the pin's SHA-256 fingerprint is this (hex, colons optional).")
    var expectedFingerprint: String?

    @Flag(help: "Delete only the staged next certificate; the pin stays.")
    var next = false

    func validate() throws {
        switch words.count {
        case 0: throw ValidationError("The host key is missing, as in: tofu deletecert host 192.0.2.10_443")
        case 1 where words[0] == "host": throw ValidationError("The host key is missing after 'host', as in: tofu deletecert host 192.0.2.10_443")
        case 1: return
        case 2 where words[0] == "host": return
        case 2: throw ValidationError("Expected the word 'host' before the key, as in: tofu deletecert host 192.0.2.10_443")
        default: throw ValidationError("'\(words.dropFirst(2).joined(separator: " "))' is not expected here")
        }
    }

    func run() throws {
        var params: [String: JSONValue] = ["host": .string(key)]
        if let expectedFingerprint { params["expectedFingerprint"] = .string(expectedFingerprint) }
        if next { params["next"] = true }
        let result = try options.client().call("deleteCert", params).orExit()
        if options.json { return Output.printJSON(result) }
        if next { return Output.print(Output.certificate("deleted next", of: result["pin"] ?? .null, result["deletedNext"])) }
        if let row = result["damagedRow"], row != .null {
            // The pin's row could not be read: say which row went, not empty fields.
            Output.print("deleted damaged " + Output.damagedRow(row, name: "host", given: key))
            return
        }
        Output.print("deleted " + Output.pin(result["deleted"] ?? .null, [.sha256]))
    }
}

struct PinCert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-cert",
        abstract: "Pin a certificate obtained out of band, before the first connection, or stage the next one.",
        discussion: """
            Examples:
              tofu pin-cert 192.0.2.10_443 --pem controller.pem
              tofu pin-cert 192.0.2.10_443 --pem controller.pem --policy public-key
              tofu pin-cert 192.0.2.10_443 --pem next.pem --next
            --next stages the certificate the controller will present after a planned rotation,
            beside its current pin: the current certificate keeps matching, and the first
            verifycert or add-dnac-server that meets the staged one makes it the pin. No outage.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The host key, e.g. 192.0.2.10_443.")
    var key: String

    @Option(help: "A file holding exactly one PEM certificate.")
    var pem: String

    @Flag(help: "Stage the certificate as the pin's next one (a planned rotation) instead of pinning it.")
    var next = false

    @Option(help: "certificate (exactly this certificate; the default) or public-key (any certificate with this key).")
    var policy: PolicyName?

    func validate() throws {
        if next && policy != nil { throw ValidationError("--policy does not go with --next: set the policy with tofu set-policy") }
    }

    func run() throws {
        let text = try PEMFile.text(at: pem)
        var params: [String: JSONValue] = ["host": .string(key), "pem": .string(text)]
        if next { params["next"] = true }
        if let policy { params["policy"] = .string(policy.wire) }
        let result = try options.client().call("pinCert", params).orExit(context: FailureText.Context(pemPath: pem))
        if options.json {
            Output.printJSON(result)
        } else if next {
            // With --next: what was staged, not the pin it waits beside (listcerts -v shows both).
            Output.print(Output.certificate("staged", of: result["pin"] ?? .null, result["pin"]?["next"]))
        } else {
            Output.print(Output.pinning(result))
        }
        let certificate = next ? result["pin"]?["next"] : result["pin"]
        if let warning = Expiry.warning(certificate, host: Output.text(result["pin"]?["host"]), staged: next) { Output.note(warning) }
    }
}

struct SetPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-policy",
        abstract: "Set what a pin accepts: exactly its certificate, or any certificate with its public key.",
        discussion: """
            Examples:
              tofu set-policy 192.0.2.10_443 public-key
              tofu set-policy 192.0.2.10_443 certificate
            public-key: a renewal that keeps the controller's key is accepted by the next verifycert
            or add-dnac-server, which stores the new certificate (history: renewed). A new key is
            still a mismatch. certificate (the default, PI's behaviour): exactly the pinned one.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The host key, e.g. 192.0.2.10_443.")
    var key: String

    @Argument(help: "certificate or public-key.")
    var policy: PolicyName

    func run() throws {
        let result = try options.client().call("setPinPolicy", ["host": .string(key), "policy": .string(policy.wire)]).orExit()
        if options.json { return Output.printJSON(result) }
        Output.print(Output.pin(result["pin"] ?? .null, [.policy]))
    }
}

/// A pin policy as the CLI spells it (public-key), or as the protocol does (publicKey).
enum PolicyName: String, ExpressibleByArgument, CaseIterable {
    case certificate
    case publicKey = "public-key"

    init?(argument: String) {
        switch argument {
        case "certificate": self = .certificate
        case "public-key", "publicKey": self = .publicKey
        default: return nil
        }
    }

    /// The protocol's spelling.
    var wire: String { self == .certificate ? "certificate" : "publicKey" }
}
