import Foundation
import TestSupport
import Testing

/// The Swift `tofu` and the bash client `clients/tofu.sh`, run side by side on stores of their
/// own against the same controller: the same words give the same output and exit status.
@Suite struct CLITests {
    enum Client: String, CaseIterable, Sendable {
        case swift, shell

        var command: (String, [String]) {
            switch self {
            case .swift: (productPath("tofu"), [])
            case .shell: ("/bin/bash", [Self.script])
            }
        }

        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("clients/tofu.sh").path
    }

    static let environment = ["TOFU_RPC": productPath("tofu-rpc"), "NO_COLOR": "1", "TOFU_STORE": ""]

    static func run(_ client: Client, _ arguments: [String], store: String, stdin: String? = nil) async throws -> CommandResult {
        let (executable, prefix) = client.command
        return try await runProgram(executable, prefix + arguments + ["--store", store], stdin: stdin, environment: environment)
    }

    /// Timestamps differ between two runs; everything else must not.
    static func normalised(_ text: String) -> String {
        text.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"#, with: "<time>", options: .regularExpression)
    }

    /// Runs `arguments` with both clients; expects the same stdout and `status` from both.
    @discardableResult
    static func both(
        _ arguments: [String], stores: [Client: String], status: Int32, stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [Client: CommandResult] {
        var results: [Client: CommandResult] = [:]
        for client in Client.allCases {
            results[client] = try await run(client, arguments, store: stores[client] ?? "", stdin: stdin)
        }
        let swift = try #require(results[.swift])
        let shell = try #require(results[.shell])
        #expect(swift.status == status, "tofu \(arguments): \(swift.status) \(swift.stderr)", sourceLocation: sourceLocation)
        #expect(shell.status == status, "tofu.sh \(arguments): \(shell.status) \(shell.stderr)", sourceLocation: sourceLocation)
        #expect(normalised(swift.stdout) == normalised(shell.stdout), "\(arguments)\n--- tofu:\n\(swift.stdout)--- tofu.sh:\n\(shell.stdout)", sourceLocation: sourceLocation)
        return results
    }

    @Test func theOutageWithBothClients() async throws {
        let peers = try TLSPeers()
        let user = #"ad"m\in$(touch /tmp/tofu-pwned)é"#
        let password = #"p"a\ss$(id)`x`'é ✓"#
        let old = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: old, dnac: ["username": user, "password": password])
        let stores = Dictionary(uniqueKeysWithValues: Client.allCases.map { ($0, temporaryDirectory("tofu-cli") + "/store.sqlite") })
        let key = dnac.key
        let add = ["add-dnac-server", "--server", dnac.address, "--username", user, "--password-stdin"]

        var results = try await Self.both(add, stores: stores, status: 0, stdin: password + "\n")
        #expect(results[.swift]?.stdout == "pinned host=\(key);  subject=CN = kong;  sha256=\(old.fingerprint);  authenticated=true\n")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/tofu-pwned"))

        results = try await Self.both(["listcerts"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  subject=CN = kong\n")
        try await Self.both(["certvalidation", "tofu-certs", "listcerts"], stores: stores, status: 0)
        results = try await Self.both(["listcerts", "-v"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout.contains("sha256=\(old.fingerprint);  notAfter=") == true)
        try await Self.both(["listcerts", "--host", dnac.address, "--json"], stores: stores, status: 0)
        results = try await Self.both(["verifycert", key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  status=match;  sha256=\(old.fingerprint)\n")

        // The controller regenerates its certificate.
        let new = try await CertificateFactory.make()
        try await peers.present(new, on: dnac)
        results = try await Self.both(["verifycert", key], stores: stores, status: 3)
        #expect(results[.swift]?.stdout == "host=\(key);  status=mismatch;  change=newKey;  pinned=\(old.fingerprint);  presented=\(new.fingerprint)\n")
        results = try await Self.both(add, stores: stores, status: 3, stdin: password + "\n")
        for client in Client.allCases {
            let stderr = results[client]?.stderr ?? ""
            #expect(stderr.contains(old.fingerprint) && stderr.contains(new.fingerprint), "\(client): both fingerprints: \(stderr)")
            #expect(stderr.contains("\(client.name) deletecert host \(key) --expected-fingerprint \(old.fingerprint)"), "\(client): \(stderr)")
            #expect(stderr.contains("--accept-fingerprint \(new.fingerprint)"), "\(client): \(stderr)")
        }
        try await Self.both(["deletecert", "host", key, "--expected-fingerprint", new.fingerprint], stores: stores, status: 3)
        results = try await Self.both(["certvalidation", "tofu-certs", "deletecert", "host", key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "deleted host=\(key);  subject=CN = kong;  sha256=\(old.fingerprint)\n")
        try await Self.both(["deletecert", "host", key], stores: stores, status: 4)
        try await Self.both(["listcerts"], stores: stores, status: 0)
        try await Self.both(add, stores: stores, status: 6, stdin: "wrong\n")
        try await Self.both(add, stores: stores, status: 0, stdin: password + "\n")
        try await Self.both(["verifycert", "--all"], stores: stores, status: 0)

        // The one-step re-pin.
        let newest = try await CertificateFactory.make()
        try await peers.present(newest, on: dnac)
        results = try await Self.both(add + ["--accept-fingerprint", newest.fingerprint], stores: stores, status: 0, stdin: password + "\n")
        #expect(results[.swift]?.stdout.hasPrefix("replaced host=\(key)") == true)

        results = try await Self.both(["list-dnac-servers"], stores: stores, status: 0)
        // Printed with its backslash as \\, as every backslash of text from tofu-rpc.
        let shownUser = user.replacingOccurrences(of: #"\"#, with: #"\\"#)
        #expect(results[.swift]?.stdout.hasPrefix("server=\(key);  username=\(shownUser);  pinned=\(newest.fingerprint);  lastCheckedAt=") == true)
        results = try await Self.both(["history", key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout.split(separator: "\n").compactMap { $0.split(separator: ";").dropFirst().first } == [
            "  event=pinned", "  event=serverAdded", "  event=mismatch", "  event=mismatch", "  event=deleted", "  event=pinned",
            "  event=credentialsRefused", "  event=serverAdded", "  event=replaced", "  event=serverAdded",
        ])
        try await Self.both(["remove-dnac-server", key], stores: stores, status: 0)
        try await Self.both(["remove-dnac-server", key], stores: stores, status: 4)
        peers.stop()
    }

    @Test func everyOtherExitStatus() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let notDnac = try await peers.listen("tls", certificate: certificate, dnac: ["behaviour": "error"])
        let stores = Dictionary(uniqueKeysWithValues: Client.allCases.map { ($0, temporaryDirectory("tofu-cli") + "/store.sqlite") })
        try await Self.both(["add-dnac-server", "--server", notDnac.address, "--username", "u", "--password-stdin"], stores: stores, status: 8, stdin: "pw\n")
        try await Self.both(["verifycert", "127.0.0.1:\(TLSPeers.closedPort())"], stores: stores, status: 5)
        try await Self.both(["add-dnac-server", "--server", "127.0.0.1:\(TLSPeers.closedPort())", "--username", "u", "--password-stdin"], stores: stores, status: 5, stdin: "pw\n")
        try await Self.both(["pin-cert", "kong.example", "--pem", certificate.certificatePath], stores: stores, status: 0)
        try await Self.both(["pin-cert", "kong.example", "--pem", try await CertificateFactory.make().certificatePath], stores: stores, status: 3)
        // A --pem that is not one certificate ends at once: missing, a directory, a big file, endless.
        let big = temporaryDirectory("tofu-cli") + "/big.log"
        try Data(String(repeating: "a log line, not a certificate\n", count: 80_000).utf8).write(to: URL(fileURLWithPath: big))
        for pem in ["/nonexistent/cert.pem", temporaryDirectory("tofu-cli"), big, "/dev/zero"] {
            try await Self.both(["pin-cert", "192.0.2.9_443", "--pem", pem], stores: stores, status: 2)
        }
        // Usage: bad words, bad keys, a host that is a shell command.
        try await Self.both(["deletecert", "hots", "kong.example"], stores: stores, status: 2)
        try await Self.both(["listcerts", "--host", "$(touch /tmp/tofu-pwned-host)"], stores: stores, status: 2)
        try await Self.both(["verifycert"], stores: stores, status: 2)
        try await Self.both(["no-such-command"], stores: stores, status: 2)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/tofu-pwned-host"))
        // A store that cannot be used.
        let broken = temporaryDirectory("tofu-cli") + "/store.sqlite"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: broken))
        try await Self.both(["listcerts"], stores: [.swift: broken, .shell: broken], status: 7)
        peers.stop()
    }

    /// Each error code tofu-rpc may answer with, and the exit status both clients give it:
    /// tofu's own codes (TofuErrorCode), the JSON-RPC usage errors, and anything else. The
    /// server is a stand-in that answers the request with that error, then waits for its input
    /// to close as tofu-rpc does (bash forgets a coprocess that has exited, and its pipes).
    @Test(arguments: [
        (-32001, 4), (-32002, 3), (-32003, 5), (-32004, 6), (-32005, 7), (-32006, 8),
        (-32602, 2), (-32600, 2), (-32601, 2), (-32603, 1), (-32700, 1), (-32800, 1), (-32000, 1), (-32007, 1), (7, 1),
    ])
    func everyErrorCodeGivesItsExitStatus(code: Int, status: Int32) async throws {
        let directory = temporaryDirectory("tofu-codes")
        let server = directory + "/tofu-rpc"
        let answer = #"{"jsonrpc":"2.0","id":1,"error":{"code":\#(code),"message":"answered \#(code) by the test","data":{"kind":"test"}}}"#
        try Data("#!/bin/sh\nIFS= read -r request\nprintf '%s\\n' '\(answer)'\ncat >/dev/null\n".utf8).write(to: URL(fileURLWithPath: server))
        #expect(chmod(server, 0o755) == 0)
        let stores = Dictionary(uniqueKeysWithValues: Client.allCases.map { ($0, directory + "/store.sqlite") })
        let results = try await Self.both(["listcerts", "--server-path", server], stores: stores, status: status)
        for client in Client.allCases {
            #expect(results[client]?.stderr == "tofu: answered \(code) by the test\n", "\(client)")
        }
    }

    /// The built `tofu` loads no Foundation but FoundationEssentials (which ArgumentParser
    /// uses): not Foundation itself, nor ICU with FoundationInternationalization, through any
    /// module it links (TofuCore, JSONRPC, Posix). See FoundationFreeTests for the sources.
    @Test func cliDoesNotLinkFoundation() async throws {
        let libraries = try await runProgram("/usr/bin/ldd", [productPath("tofu")])
        #expect(libraries.status == 0, "\(libraries)")
        // A build with the Swift runtime linked in statically shows nothing to check.
        try #require(libraries.stdout.contains("libswiftCore.so"), "\(libraries.stdout)")
        for library in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so", "libFoundationNetworking.so"] {
            #expect(!libraries.stdout.contains(library), "tofu links \(library):\n\(libraries.stdout)")
        }
    }

    /// remove-dnac-server on a record that cannot be read says which row went, as deletecert
    /// does for a pin; the pin stays.
    @Test(arguments: Client.allCases)
    func removingADamagedServerNamesTheRow(client: Client) async throws {
        let peers = try TLSPeers()
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "admin", "password": "pw"])
        let store = newStorePath("tofu-damaged")
        let added = try await Self.run(client, ["add-dnac-server", "--server", dnac.address, "--username", "admin", "--password-stdin"], store: store, stdin: "pw\n")
        #expect(added.status == 0, "\(added.stderr)")
        let id = try await DamagedStoreTests.rowid(store, "dnac_server", host: dnac.key)
        try await DamagedStoreTests.edit(store, "UPDATE dnac_server SET authenticated = 'yes' WHERE id = \(id)")
        let removed = try await Self.run(client, ["remove-dnac-server", dnac.key], store: store)
        #expect(removed.status == 0, "\(removed.stderr)")
        let problem = DamagedRowRepairByCLITests.problem(removed.stdout)
        #expect(removed.stdout == "removed damaged server=\(dnac.key);  table=dnac_server;  rowid=\(id);  problem=\(problem)\n", "\(removed.stdout)")
        #expect(!problem.isEmpty)
        let listed = try await Self.run(client, ["listcerts"], store: store)
        #expect(listed.stdout == "host=\(dnac.key);  subject=CN = kong\n", "\(listed.stdout) \(listed.stderr)")
        peers.stop()
    }

    /// The password is never in the argv of any process the clients start (world-readable
    /// in /proc), nor in their output.
    @Test(arguments: Client.allCases)
    func thePasswordIsNeverAnArgument(client: Client) async throws {
        let peers = try TLSPeers()
        let password = "never-in-argv-\(UUID().uuidString)"
        // A controller that keeps the token request open, so the processes can be looked at.
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "u", "password": password, "behaviour": "endless"])
        let store = temporaryDirectory("tofu-cli") + "/store.sqlite"
        let (executable, prefix) = client.command
        let result = try await runProgram(
            executable, prefix + ["add-dnac-server", "--server", dnac.address, "--username", "u", "--password-stdin", "--timeout-ms", "3000", "--store", store],
            stdin: password + "\n", environment: Self.environment
        ) { _ in
            var seen = 0
            for _ in 0..<20 {
                try await Task.sleep(for: .milliseconds(100))
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
                    guard let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                    let text = String(decoding: cmdline, as: UTF8.self)
                    if text.contains("tofu-rpc") { seen += 1 }
                    #expect(!text.contains(password), "the password is in the argv of pid \(entry): \(text)")
                }
            }
            #expect(seen > 0, "tofu-rpc was never seen running")
        }
        #expect(result.status == 8)
        #expect(!result.stdout.contains(password) && !result.stderr.contains(password))
        peers.stop()
    }

    @Test func helpForEveryCommandUsesDocumentationAddresses() async throws {
        for command in ["listcerts", "deletecert", "verifycert", "add-dnac-server", "pin-cert", "list-dnac-servers", "remove-dnac-server", "history"] {
            let help = try await runProgram(productPath("tofu"), [command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("tofu") && help.stdout.contains("Example"), "\(command): \(help.stdout)")
            let addresses = help.stdout.matches(of: /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/).map { String($0.output) }
            #expect(addresses.allSatisfy { $0.hasPrefix("192.0.2.") }, "\(command): \(addresses)")
        }
        let completion = try await runProgram(productPath("tofu"), ["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.stdout.contains("listcerts"))
        let shellHelp = try await runProgram("/bin/bash", [Client.script, "help"])
        #expect(shellHelp.status == 0 && shellHelp.stdout.contains("certvalidation tofu-certs"))
    }
}

/// The CLI on a real terminal (script(1) gives it one): the password is asked twice without
/// echo, and `verifycert --all` shows progress there.
@Suite struct TerminalTests {
    @Test func thePasswordPromptDoesNotEchoAndProgressShowsOnATerminal() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"))
        let peers = try TLSPeers()
        let password = "typed-at-the-prompt"
        let dnac = try await peers.listen("tls", certificate: try await CertificateFactory.make(), dnac: ["username": "u", "password": password])
        let store = temporaryDirectory("tofu-tty") + "/store.sqlite"
        let tofu = productPath("tofu")
        let command = "'\(tofu)' add-dnac-server --server \(dnac.address) --username u --store '\(store)'; echo exit=$?; "
            + "'\(tofu)' verifycert --all --store '\(store)'; echo exit=$?"
        // script(1) types its stdin at the terminal: the password and its confirmation, each
        // after its prompt is up (type-ahead would be echoed before echo is turned off).
        let typing = "(sleep 1; printf '%s\\n' '\(password)'; sleep 0.5; printf '%s\\n' '\(password)'; sleep 5) | /usr/bin/script -qec \"$0\" /dev/null"
        let result = try await runProgram(
            "/bin/bash", ["-c", typing, command], environment: ["TOFU_RPC": productPath("tofu-rpc"), "TOFU_STORE": ""])
        let screen = result.stdout
        #expect(screen.contains("Password for u on \(dnac.address): "), "\(screen)")
        #expect(screen.contains("Confirm password: "), "\(screen)")
        #expect(screen.contains("pinned host=\(dnac.key)"), "\(screen)")
        #expect(screen.contains("exit=0"), "\(screen)")
        #expect(!screen.contains(password), "the password was echoed: \(screen)")
        #expect(screen.contains("[1/1] \(dnac.key)"), "no progress on the terminal: \(screen)")
        #expect(screen.contains("status=match"), "\(screen)")
        peers.stop()
    }

    /// `tofu listcerts | head -1`: when the reader of stdout goes away, both clients stop as
    /// Unix tools do, by SIGPIPE (141 in the shell), with nothing on stderr. The Swift client
    /// used to crash in Foundation's FileHandle.write with a backtrace.
    @Test(arguments: CLITests.Client.allCases)
    func aReaderThatGoesAwayStopsTheClientQuietly(client: CLITests.Client) async throws {
        let store = temporaryDirectory("tofu-pipe") + "/store.sqlite"
        let server = try StoreServer(storePath: store)
        for index in 0..<3 {
            let certificate = try await CertificateFactory.make()
            _ = try await server.result("pinCert", ["host": "192.0.2.\(index + 1)", "pem": certificate.pem])
        }
        _ = try await server.stop()
        let (executable, prefix) = client.command
        let words = ([executable] + prefix + ["listcerts", "--store", store]).map { "'\($0)'" }.joined(separator: " ")
        // The reader closes its end at once, long before the client has started its server.
        let script = "\(words) | { exec 0<&-; sleep 1; }; echo \"status=${PIPESTATUS[0]}\""
        let result = try await runProgram("/bin/bash", ["-c", script], environment: CLITests.environment)
        #expect(result.stdout == "status=141\n", "\(client): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.isEmpty, "\(client): \(result.stderr)")
        let whole = try await CLITests.run(client, ["listcerts"], store: store)
        #expect(whole.status == 0 && whole.stdout.split(separator: "\n").count == 3, "\(client): \(whole)")
    }
}

/// How the Swift `tofu` starts its tofu-rpc: which binary, and with which store.
@Suite struct CLIStartupTests {
    /// The `tofu` CLI hands its store to the tofu-rpc it starts: `--store` first, then the
    /// environment, as for tofu-rpc itself.
    @Test func theCLIHandsItsStoreToItsServer() async throws {
        let home = temporaryDirectory("tofu-home")
        let environment = ["TOFU_RPC": productPath("tofu-rpc"), "HOME": home, "XDG_DATA_HOME": "", "TOFU_STORE": home + "/env.sqlite"]
        let flag = try await runProgram(productPath("tofu"), ["listcerts", "--store", home + "/flag.sqlite"], environment: environment)
        #expect(flag.status == 0, "\(flag)")
        #expect(FileManager.default.fileExists(atPath: home + "/flag.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: home + "/env.sqlite"))
        let variable = try await runProgram(productPath("tofu"), ["listcerts"], environment: environment)
        #expect(variable.status == 0, "\(variable)")
        #expect(FileManager.default.fileExists(atPath: home + "/env.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: home + "/.local/share/tofu/store.sqlite"))
    }

    /// How `tofu` finds its server: `--server-path`, then `TOFU_RPC`, then next to itself (also
    /// when started through a symlink), then on PATH; and what it says when there is none.
    @Test func theCLIFindsItsServer() async throws {
        let home = temporaryDirectory("tofu-find")
        let tofu = productPath("tofu")
        let server = productPath("tofu-rpc")
        let arguments = ["listcerts", "--store", home + "/store.sqlite"]
        let bare = ["TOFU_RPC": "", "TOFU_STORE": "", "PATH": "/usr/bin:/bin"]

        var result = try await runProgram(tofu, arguments, environment: bare)
        #expect(result.status == 0, "next to itself: \(result)")

        try FileManager.default.createDirectory(atPath: home + "/linked", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home + "/linked/tofu", withDestinationPath: tofu)
        result = try await runProgram(home + "/linked/tofu", arguments, environment: bare)
        #expect(result.status == 0, "through a symlink: \(result)")

        // A tofu alone in its directory (a hard link, or a copy across file systems).
        try FileManager.default.createDirectory(atPath: home + "/alone", withIntermediateDirectories: true)
        if link(tofu, home + "/alone/tofu") != 0 { try FileManager.default.copyItem(atPath: tofu, toPath: home + "/alone/tofu") }
        result = try await runProgram(home + "/alone/tofu", arguments, environment: bare)
        #expect(result.status == 1 && result.stderr.contains("Cannot find tofu-rpc"), "nowhere: \(result)")
        let serverDirectory = (server as NSString).deletingLastPathComponent
        result = try await runProgram(home + "/alone/tofu", arguments, environment: bare.merging(["PATH": "/nonexistent:" + serverDirectory]) { $1 })
        #expect(result.status == 0, "on PATH: \(result)")

        result = try await runProgram(tofu, arguments, environment: bare.merging(["TOFU_RPC": home + "/variable-rpc"]) { $1 })
        #expect(result.status == 1 && result.stderr.contains("variable-rpc"), "TOFU_RPC first: \(result)")
        result = try await runProgram(tofu, arguments + ["--server-path", home + "/flag-rpc"], environment: bare.merging(["TOFU_RPC": home + "/variable-rpc"]) { $1 })
        #expect(result.status == 1 && result.stderr.contains("flag-rpc"), "--server-path first: \(result)")
    }
}

/// Shell-hostile text in every argument of both clients: nothing is executed, nothing crashes,
/// every outcome is one of the documented exit statuses.
@Suite struct InjectionTests {
    @Test(arguments: CLITests.Client.allCases)
    func hostileTextInEveryArgument(client: CLITests.Client) async throws {
        let marker = temporaryDirectory("tofu-inject") + "/pwned"
        let hostile = [
            "$(touch \(marker))", "`touch \(marker)`", "\"; touch \(marker); \"", "'; touch \(marker); '", "a\\\"b\\\\c",
            "line\nbreak", "é✓\u{200B}", "--store", "-v",
        ]
        let store = temporaryDirectory("tofu-inject") + "/store.sqlite"
        let (executable, prefix) = client.command
        for text in hostile {
            let commands: [[String]] = [
                ["listcerts", "--host", text], ["listcerts", "--expiring-within", text], ["deletecert", "host", text],
                ["deletecert", "host", "kong.example", "--expected-fingerprint", text], ["verifycert", text, "--timeout-ms", "200"],
                ["pin-cert", text, "--pem", text], ["history", text], ["remove-dnac-server", text],
                ["add-dnac-server", "--server", text, "--username", text, "--password-stdin", "--timeout-ms", "200"],
                ["add-dnac-server", "--server", "127.0.0.1:9", "--username", "u", "--password-stdin", "--accept-fingerprint", text],
            ]
            for arguments in commands {
                let result = try await runProgram(
                    executable, prefix + arguments + ["--store", store], stdin: text + "\n", environment: CLITests.environment)
                #expect((0...8).contains(result.status), "\(client) \(arguments): status \(result.status) \(result.stderr)")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(client) \(arguments) executed a command")
            }
        }
    }
}
