import ArgumentParser
import JSONRPC
import TofuText

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the pin store to a new file, while other processes go on using it.",
        discussion: """
            Examples:
              tofu backup /var/backups/tofu/store-$(date +%F).sqlite
              tofu backup copy.sqlite --store /srv/tofu/store.sqlite
            The copy holds every change committed before the backup began and none half made \
            (SQLite's online backup API); it is checked, synced, 0600, and never overwrites a file. \
            To restore: stop every tofu-rpc of the store, then put the copy in the store's place.

            A PostgreSQL store is refused: back it up with pg_dump --schema=tofu.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The new file, named *.sqlite, *.sqlite3 or *.db (it must not exist; its directory must).", valueName: "dest"))
    var destination: String

    func run() throws {
        let result = try options.client().call("backupStore", ["path": .string(destination)]).orExit()
        if options.json { return Output.printJSON(result) }
        Output.print(Output.line([
            ("backup", Output.text(result["path"])), ("pins", Output.text(result["pins"])), ("servers", Output.text(result["servers"])),
            ("events", Output.text(result["events"])), ("bytes", Output.text(result["bytes"])),
        ]))
    }
}
