import JSONRPC
import TofuText

#if canImport(Glibc)
    import Glibc
#endif

/// `verifycert --all` progress on a terminal (stderr), from `$/progress`; silent when piped.
final class Progress {
    let enabled = isatty(STDERR_FILENO) == 1
    private let colour = isatty(STDERR_FILENO) == 1 && getenv("NO_COLOR") == nil

    func show(_ notification: JSONValue) {
        guard enabled, notification["method"]?.stringValue == "$/progress", let value = notification["params"]?["value"] else { return }
        let status = Output.text(value["status"])
        let painted = colour ? "\u{1B}[\(status == "match" ? "32" : "31")m\(status)\u{1B}[0m" : status
        Output.error("\r\u{1B}[K[\(Output.text(value["done"]))/\(Output.text(value["total"]))] \(Output.text(value["host"])) \(painted)")
    }

    func finish() {
        if enabled { Output.error("\r\u{1B}[K") }
    }
}
