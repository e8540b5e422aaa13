import ArgumentParser
import Posix
import TofuText
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// `tofu`: the operator's command line for the tofu pin store. A thin client: it starts
/// `tofu-rpc` and asks it, so it behaves exactly as every other client of the store.
@main
struct Tofu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tofu",
        abstract: "Trust-On-First-Use certificate pins: list, delete, verify, and add Cisco DNA Center servers.",
        discussion: """
            When a controller's certificate changes, connections to it are refused until its stale pin is \
            replaced. The usual fix, in Cisco Prime Infrastructure's own words:

              tofu certvalidation tofu-certs listcerts
              tofu certvalidation tofu-certs deletecert host 192.0.2.10_443
              tofu add-dnac-server --server 192.0.2.10 --username admin

            or in one step, once you have confirmed the new certificate's fingerprint:

              tofu add-dnac-server --server 192.0.2.10 --username admin --accept-fingerprint <sha256>

            Host keys are PI's <host>_<port> (192.0.2.10_443), or a bare host, host:port, [v6]:port.

            \(ExitStatus.table)
            """,
        version: TofuVersion.string,
        subcommands: [
            ListCerts.self, DeleteCert.self, VerifyCert.self, AddDnacServer.self, PinCert.self, SetPolicy.self, ListDnacServers.self,
            RemoveDnacServer.self, History.self, Backup.self, Export.self, Import.self, CertValidation.self,
        ])

    static func main() {
        // Before anything else: the password typed here must never reach a core file.
        ProcessHardening.disableCoreDumps(reportingAs: "tofu")
        // A server that exits early must not kill the CLI with SIGPIPE: it reports instead.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let failure as CLIFailure {
            if let error = failure.error, CLIFailure.printsErrorsAsJSON.withLock({ $0 }) {
                Output.printJSON(["error": error.json])
            }
            if !failure.message.isEmpty { Output.note(failure.message) }
            Glibc.exit(failure.status.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // Help (or the version): wide enough that no example breaks across lines.
                widenHelp()
                Output.print(fullMessage(for: error))
                Glibc.exit(ExitStatus.success.rawValue)
            }
            Output.note(UsageText.sentence(message: message(for: error), fullMessage: fullMessage(for: error)))
            Glibc.exit(code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue)
        }
    }

    /// The width help is laid out for: the terminal's (or COLUMNS), but at least `helpWidth`.
    /// swift-argument-parser wraps help to the screen, and an example broken across two lines
    /// cannot be copied; the terminal shows a longer line whole, folded at its edge.
    static let helpWidth = 120

    static func widenHelp() {
        var width = getenv("COLUMNS").flatMap { Int(String(cString: $0)) } ?? 0
        if width <= 0 {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 { width = Int(size.ws_col) }
        }
        if width < helpWidth { setenv("COLUMNS", String(helpWidth), 1) }
    }
}
