import ArgumentParser

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The pin store file (default: $TOFU_STORE, else $XDG_DATA_HOME/tofu/store.sqlite, else ~/.local/share/tofu/store.sqlite).")
    var store: String?

    @Option(help: "The tofu-rpc to start (default: $TOFU_RPC, else next to tofu, else on PATH).")
    var serverPath: String?

    @Flag(help: "Print the result object of tofu-rpc as JSON instead of lines.")
    var json = false

    func client() throws(CLIFailure) -> RPCClient { try RPCClient(options: self) }
}
