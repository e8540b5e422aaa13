import JSONRPC
import Posix
import TofuText

#if canImport(Glibc)
    import Glibc
#endif

/// Where the CLI's output goes: lines on stdout (formatted by TofuText's `Output`), notes
/// for the operator on stderr; `--json` prints result objects as they came.
extension Output {
    /// Writes `text` and a newline to stdout. Foundation's `FileHandle.write(_:)` would trap on
    /// a closed pipe or a full disk.
    static func print(_ text: String) {
        do {
            try FileIO.writeAll(STDOUT_FILENO, text + "\n")
        } catch {
            if error == Errno(EPIPE) {
                // The reader of stdout went away (`tofu listcerts | head -1`): stop as any Unix
                // tool does, by SIGPIPE, which the CLI ignores only for its pipes to tofu-rpc.
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
            }
            note("cannot write the output: \(error)")
            Glibc.exit(ExitStatus.failure.rawValue)
        }
    }

    /// The value as compact JSON, with the code points TerminalText escapes written as JSON
    /// escapes: a script parses the same value, a terminal shows no control sequence.
    static func printJSON(_ value: JSONValue) {
        print(TerminalText.escapedJSON(value.description))
    }

    /// A note for the operator on stderr (never on stdout, which scripts parse).
    static func note(_ text: String) {
        error("tofu: " + text + "\n")
    }

    /// Writes `text` to stderr as is; if stderr is gone there is nowhere left to say so.
    static func error(_ text: String) {
        _ = try? FileIO.writeAll(STDERR_FILENO, text)
    }
}
