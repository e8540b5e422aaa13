import ArgumentParser
import JSONRPC

struct ListCerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listcerts",
        abstract: "List the pinned certificates, one line per host: host=<key>;  subject=<subject>.",
        discussion: """
            Examples:
              tofu listcerts
              tofu listcerts --host 192.0.2.10_443 -v
              tofu listcerts --expiring-within 30     (pins whose certificate ends within 30 days)
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only this host key.")
    var host: String?

    @Option(name: .customLong("expiring-within"), help: "Only pins whose certificate expires within this many days (expired ones included).")
    var expiringWithin: Int?

    @Flag(name: .shortAndLong, help: "Add serial number, SHA-256 fingerprint and expiry.")
    var verbose = false

    func run() throws {
        let client = try options.client()
        var cursor: JSONValue = .null
        repeat {
            var params: [String: JSONValue] = [:]
            if let host { params["host"] = .string(host) }
            if let expiringWithin { params["expiringWithinDays"] = .int(Int64(expiringWithin)) }
            if cursor != .null { params["cursor"] = cursor }
            let page = try client.call("listCerts", params).orExit()
            if options.json {
                Output.printJSON(page)
            } else {
                for pin in page["certs"]?.arrayValue ?? [] { Output.print(Output.pin(pin, verbose ? [.serial, .sha256, .notAfter] : [])) }
            }
            cursor = page["nextCursor"] ?? .null
        } while cursor != .null
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
            With --expected-fingerprint the pin is deleted only if it is that certificate, so a script
            never deletes a pin it did not look at.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The word 'host', as in PI's command.")
    var keyword: String

    @Argument(help: "The host key, e.g. 192.0.2.10_443.")
    var key: String

    @Option(help: "Delete only if the pin's SHA-256 fingerprint is this (hex, colons optional).")
    var expectedFingerprint: String?

    func validate() throws {
        guard keyword == "host" else {
            throw ValidationError("expected the word 'host' before the key, as in: tofu deletecert host 192.0.2.10_443")
        }
    }

    func run() throws {
        var params: [String: JSONValue] = ["host": .string(key)]
        if let expectedFingerprint { params["expectedFingerprint"] = .string(expectedFingerprint) }
        let result = try options.client().call("deleteCert", params).orExit()
        if options.json { return Output.printJSON(result) }
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
        abstract: "Pin a certificate obtained out of band, before the first connection.",
        discussion: """
            Example:
              tofu pin-cert 192.0.2.10_443 --pem controller.pem
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The host key, e.g. 192.0.2.10_443.")
    var key: String

    @Option(help: "A file holding exactly one PEM certificate.")
    var pem: String

    func run() throws {
        let text = try PEMFile.text(at: pem)
        let result = try options.client().call("pinCert", ["host": .string(key), "pem": .string(text)]).orExit()
        if options.json { return Output.printJSON(result) }
        Output.print(Output.pinning(result))
    }
}
