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

    /// `arguments` (without the program name) with the options every command takes moved from
    /// before the command to after it: `tofu --store S listcerts` reads as `tofu listcerts
    /// --store S`, as the bash client reads it. Everything else stays in place.
    static func hoisted(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" || argument.hasPrefix("--store=") || argument.hasPrefix("--server-path=") {
                leading.append(argument)
                index += 1
            } else if (argument == "--store" || argument == "--server-path") && index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        // Nothing after them (or only them): leave the parser to say what is missing.
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        return Array(arguments[index...]) + leading
    }
}
