import ArgumentParser

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The pin store file (default: $TOFU_STORE, else $XDG_DATA_HOME/tofu/store.sqlite, else ~/.local/share/tofu/store.sqlite).")
    var store: String?

    @Option(help: "The tofu-rpc to start (default: $TOFU_RPC, else next to tofu, else on PATH).")
    var serverPath: String?

    @Flag(help: "Print the result object of tofu-rpc as JSON instead of lines; on an error answer, {\"error\": {code, message, data}}.")
    var json = false

    func client() throws(CLIFailure) -> RPCClient {
        if json { CLIFailure.printsErrorsAsJSON.withLock { $0 = true } }
        return try RPCClient(options: self)
    }
}
