import ArgumentParser
import JSONRPC

#if canImport(Glibc)
    import Glibc
#endif

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
                for pin in page["certs"]?.arrayValue ?? [] { Output.print(Output.pin(pin, verbose: verbose)) }
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
            Output.print("deleted damaged " + Output.line([("host", Output.text(row["host"] ?? .string(key))), ("table", Output.text(row["table"])), ("rowid", Output.text(row["rowid"])), ("problem", Output.text(row["problem"]))]))
            return
        }
        let pin = result["deleted"] ?? .null
        Output.print("deleted " + Output.line([("host", Output.text(pin["host"])), ("subject", Output.text(pin["subject"])), ("sha256", Output.text(pin["sha256Fingerprint"]))]))
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
        let text = try Self.readText(pem)
        let result = try options.client().call("pinCert", ["host": .string(key), "pem": .string(text)]).orExit()
        if options.json { return Output.printJSON(result) }
        let pin = result["pin"] ?? .null
        Output.print(Output.text(result["pinStatus"]) + " " + Output.line([("host", Output.text(pin["host"])), ("subject", Output.text(pin["subject"])), ("sha256", Output.text(pin["sha256Fingerprint"]))]))
    }

    /// The whole file as UTF-8 text; a usage failure naming the file and why. Under 1 MiB: a
    /// certificate is a few KiB, and `--pem /dev/zero` or a log file given by mistake must end.
    static func readText(_ path: String) throws(CLIFailure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIFailure(.usage, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let limit = 1 << 20
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIFailure(.usage, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count >= limit - 1 { throw CLIFailure(.usage, "\(path) is 1 MiB or more; a PEM certificate is a few KiB: give a file holding one") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure(.usage, "\(path) is not text (UTF-8); give a file holding one PEM certificate")
        }
        return text
    }
}

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
            Output.print(Output.line([
                ("at", Output.text(event["at"])), ("event", Output.text(event["event"])), ("host", Output.text(event["host"])),
                ("sha256", Output.text(event["sha256Fingerprint"])), ("detail", Output.text(event["detail"])),
            ]))
        }
    }
}

/// PI's own words: `tofu certvalidation tofu-certs listcerts | deletecert host <key>`.
struct CertValidation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certvalidation",
        abstract: "PI's command words: certvalidation tofu-certs listcerts | deletecert host <key>.",
        subcommands: [TofuCerts.self])

    struct TofuCerts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tofu-certs",
            abstract: "PI's TOFU certificate commands.",
            subcommands: [ListCerts.self, DeleteCert.self])
    }
}
