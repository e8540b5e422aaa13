import Foundation
import TestSupport
import Testing

/// The commands both clients suggest as a next step are shown escaped, and still paste as the
/// command they stand for: a value in one is a shell word (single quotes, or `$'…'` when it
/// holds a character the terminal must not get, whose `\\`, `\'`, `\xNN` and `\uNNNN` are the
/// shell's own escapes), and a command tofu-rpc wrote keeps its shell quoting.
@Suite struct PastedCommandTests {
    /// The words of `line` from `from` on, as bash reads them.
    static func shellWords(_ line: String, from: String) async throws -> [String] {
        let start = try #require(line.range(of: from), "\(line)")
        let ran = try await runProgram("/bin/bash", ["-c", #"cd "$0" && set -- "# + line[start.lowerBound...] + #" && printf '%s\0' "$@""#, temporaryDirectory("tofu-paste-words")])
        #expect(ran.status == 0, "\(line): \(ran.stderr)")
        return ran.stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// A user name with a backslash, a quote, the text `\u202E` and a real U+202E, in the
    /// add-dnac-server a mismatch suggests: shown as `$'…'`, and pasted, the very name.
    @Test func aUserNameInASuggestedCommandPastesAsItself() async throws {
        let peers = try TLSPeers()
        let user = #"CORP\it's \u202E "# + "\u{202E}"
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": user, "password": "pw"])
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-paste") + "/store.sqlite") })
        let add = ["add-dnac-server", "--server", dnac.address, "--username", user, "--password-stdin"]
        _ = try await CLITests.both(add, stores: stores, status: 0, stdin: "pw\n")
        let other = try await CertificateFactory.make()
        try await peers.present(other, on: dnac)
        let results = try await CLITests.both(add, stores: stores, status: 3, stdin: "pw\n")
        for (client, result) in results {
            let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("--accept-fingerprint") }, "\(client): \(result.stderr)")
            #expect(line.contains(#"--username $'CORP\\it\'s \\u202E \u202E' --accept-fingerprint"#), "\(client): \(line)")
            #expect(!line.unicodeScalars.contains("\u{202E}"), "\(client): \(line)")
            let words = try await Self.shellWords(String(line), from: "--username")
            #expect(words == ["--username", user, "--accept-fingerprint", other.fingerprint], "\(client): \(line)")
        }
        peers.stop()
    }

    /// The sqlite3 command that repairs a damaged row, for a store whose path has a quote and a
    /// backslash in it: shown by both clients as tofu-rpc wrote it, it runs and removes the row.
    @Test func aRepairCommandPastesAsWritten() async throws {
        for client in CLITests.Client.allCases {
            let base = temporaryDirectory("tofu-paste-repair")
            let directory = base + #"/it's \x1B"#
            #expect(mkdir(directory, 0o700) == 0)
            let store = directory + "/store.sqlite"
            let certificate = try await CertificateFactory.make()
            _ = try await CLITests.run(client, ["pin-cert", "kong.example", "--pem", certificate.certificatePath], store: store)
            let id = try await DamagedStoreTests.rowid(store, "pin", host: "kong.example_443")
            try await DamagedStoreTests.edit(store, "UPDATE pin SET host = 'Kong Example' WHERE id = \(id)")
            let damaged = try await CLITests.run(client, ["listcerts"], store: store)
            let line = try #require(damaged.stderr.split(separator: "\n").first { $0.hasPrefix("  sqlite3 ") }, "\(client): \(damaged.stderr)")
            #expect(line.contains(#"sqlite3 '\#(directory.replacingOccurrences(of: "'", with: #"'\''"#))/store.sqlite' 'DELETE FROM pin WHERE id = \#(id)'"#), "\(client): \(line)")
            let command = String(line[try #require(line.range(of: "sqlite3 ")).lowerBound...])
            let ran = try await runProgram("/bin/bash", ["-c", #"cd "$0" && "# + command, base])
            #expect(ran.status == 0, "\(client): \(command): \(ran.stderr)")
            let after = try await CLITests.run(client, ["listcerts"], store: store)
            #expect(after.status == 0 && after.stdout.isEmpty, "\(client): the pasted command did not remove the row: \(command)\n\(after)")
        }
    }

    /// The same repair command in an MCP tool's error text: the prose escapes its backslashes,
    /// and the command follows on a line of its own, as tofu-rpc wrote it, and runs.
    @Test func aRepairCommandInAnMCPToolErrorPastesAsWritten() async throws {
        let base = temporaryDirectory("tofu-paste-mcp")
        let directory = base + #"/it's \x1B"#
        #expect(mkdir(directory, 0o700) == 0)
        let store = directory + "/store.sqlite"
        let certificate = try await CertificateFactory.make()
        _ = try await CLITests.run(.swift, ["pin-cert", "kong.example", "--pem", certificate.certificatePath], store: store)
        let event = try await DamagedStoreTests.rowid(store, "event", host: "kong.example_443")
        try await DamagedStoreTests.edit(store, "UPDATE event SET at = 'yesterday' WHERE id = \(event)")
        let agent = try await MCPWireTests.Agent(store: store)
        let answer = try await agent.call("certHistory", ["host": "kong.example"])
        let result = try #require(answer.object["result"] as? [String: Any], "\(answer)")
        #expect(result["isError"] as? Bool == true, "\(answer)")
        let text = try #require((result["content"] as? [[String: Any]])?.first?["text"] as? String, "\(answer)")
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("Command: sqlite3 ") }, "\(text)")
        let command = String(line.dropFirst("Command: ".count))
        #expect(command == #"sqlite3 '\#(directory.replacingOccurrences(of: "'", with: #"'\''"#))/store.sqlite' 'DELETE FROM event WHERE id = \#(event)'"#, "\(command)")
        #expect(try await agent.stop() == 0)
        let ran = try await runProgram("/bin/bash", ["-c", #"cd "$0" && "# + command, base])
        #expect(ran.status == 0, "\(command): \(ran.stderr)")
        let left = try await runProgram("/usr/bin/sqlite3", [store, "SELECT count(*) FROM event WHERE id = \(event)"])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the pasted command did not remove the row: \(command)")
    }
}
