import Foundation
import TestSupport
import Testing

/// `tofu export` / `tofu import` (and exportPins / importPins) with the real binaries, both
/// clients side by side: what an operator moving a store runs.
@Suite struct StoreMoveTests {
    static let environment = ["TOFU_RPC": productPath("tofu-rpc"), "NO_COLOR": "1", "TOFU_STORE": ""]

    static func tofu(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) async throws -> CommandResult {
        try await runProgram(productPath("tofu"), arguments, stdin: stdin, environment: Self.environment.merging(environment) { _, new in new })
    }

    /// A shell pipeline of the Swift tofu (as "$TOFU"), with pipefail; `variables` reach it as
    /// environment variables, never as arguments.
    static func pipeline(_ script: String, _ variables: [String: String]) async throws -> CommandResult {
        var environment = Self.environment.merging(variables) { _, new in new }
        environment["TOFU"] = productPath("tofu")
        return try await runProgram("/bin/bash", ["-c", "set -o pipefail; " + script], environment: environment)
    }

    /// A source store with every kind of record: a pin under policy publicKey with a staged next
    /// certificate, a pin deleted and pinned again, a host with history only, a DNA Center added
    /// on loopback (pinned, authenticated, then verified). Documentation addresses are only
    /// ever pinned from PEM, never dialled. Returns the store's export.
    static func populatedStore(_ location: String, environment: [String: String] = [:]) async throws -> String {
        let peers = try TLSPeers()
        let (a, b, c) = (try await CertificateFactory.make(), try await CertificateFactory.make(subject: "/CN=kong b"), try await CertificateFactory.make(subject: "/CN=kong c"))
        let dnacCertificate = try await CertificateFactory.make(subject: "/CN=dnac")
        let dnac = try await peers.listen("tls", certificate: dnacCertificate, dnac: ["username": "admin", "password": "pw"])
        let server = try StoreServer(storePath: location, environment: environment)
        _ = try await server.result("pinCert", ["host": "192.0.2.10", "pem": a.pem, "policy": "publicKey"])
        _ = try await server.result("pinCert", ["host": "192.0.2.10", "pem": b.pem, "next": true])
        _ = try await server.result("pinCert", ["host": "dnac.example.com", "pem": b.pem])
        _ = try await server.result("deleteCert", ["host": "dnac.example.com"])
        _ = try await server.result("pinCert", ["host": "dnac.example.com", "pem": c.pem])
        _ = try await server.result("pinCert", ["host": "[2001:db8::5]:8443", "pem": a.pem])
        _ = try await server.result("deleteCert", ["host": "[2001:db8::5]:8443"])
        _ = try await server.result(
            "addDnacServer", ["server": dnac.address, "username": "admin", "password": "pw", "confirmPassword": "pw", "timeoutMs": 5000])
        _ = try await server.result("verifyCert", ["host": dnac.address, "timeoutMs": 5000])
        _ = try await server.stop()
        peers.stop()
        let exported = try await tofu(["export", "--store", location], environment: environment)
        #expect(exported.status == 0, "\(exported.stderr)")
        return exported.stdout
    }

    @Test func aMoveBetweenSQLiteStoresIsLosslessWithBothClients() async throws {
        let source = newStorePath()
        let exported = try await Self.populatedStore(source)
        let lines = exported.split(separator: "\n")
        #expect(lines.first == #"{"format":"tofu-export","type":"header","version":1}"#)
        #expect(lines.last == #"{"type":"end"}"#)
        #expect(exported.contains(#""policy":"publicKey""#) && exported.contains(#""stagedAt""#) && exported.contains(#""type":"server""#))
        for client in CLITests.Client.allCases {
            let target = newStorePath()
            let (executable, prefix) = client.command
            let moved = try await runProgram(executable, prefix + ["import", "--store", target], stdin: exported, environment: Self.environment)
            #expect(moved.status == 0, "\(client): \(moved.stderr)")
            #expect(moved.stderr.contains("import: hosts 4; imported 4, identical 0 (already in the store), refused 0 (conflict), replaced 0"), "\(client): \(moved.stderr)")
            let again = try await runProgram(executable, prefix + ["export", "--store", target], environment: Self.environment)
            #expect(again.status == 0, "\(client): \(again.stderr)")
            #expect(again.stdout == exported, "\(client): the export of the imported store differs")
            #expect(again.stderr.contains("exported: hosts 4, pins 3, history events"), "\(client): \(again.stderr)")
        }
        // Both clients write the same bytes.
        let shell = try await runProgram("/bin/bash", [CLITests.Client.script, "export", "--store", source], environment: Self.environment)
        #expect(shell.stdout == exported)
    }

    /// Runs `arguments` with both clients, each on its own store, with the same stdin; expects
    /// the same status, stdout and stderr (times aside) from both.
    @discardableResult
    static func both(
        _ arguments: [String], stores: [CLITests.Client: String], status: Int32, stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> CommandResult {
        let results = try await CLITests.both(arguments, stores: stores, status: status, stdin: stdin, sourceLocation: sourceLocation)
        let swift = try #require(results[.swift])
        let shell = try #require(results[.shell])
        #expect(CLITests.normalised(swift.stderr) == CLITests.normalised(shell.stderr), "\(arguments)\n--- tofu:\n\(swift.stderr)--- tofu.sh:\n\(shell.stderr)", sourceLocation: sourceLocation)
        return swift
    }

    static func stores() -> [CLITests.Client: String] {
        Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, newStorePath()) })
    }

    @Test func identicalHostsAreSkippedDifferentOnesRefusedUnlessReplaced() async throws {
        let (a, b, c) = (try await CertificateFactory.make(), try await CertificateFactory.make(subject: "/CN=kong b"), try await CertificateFactory.make(subject: "/CN=kong c"))
        let source = newStorePath()
        let server = try StoreServer(storePath: source)
        _ = try await server.result("pinCert", ["host": "192.0.2.1", "pem": a.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.2", "pem": b.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.3", "pem": a.pem])
        _ = try await server.stop()
        let exported = try await Self.tofu(["export", "--store", source]).stdout
        let stores = Self.stores()
        for store in stores.values {
            let target = try StoreServer(storePath: store)
            _ = try await target.result("pinCert", ["host": "192.0.2.1", "pem": a.pem])
            _ = try await target.result("pinCert", ["host": "192.0.2.2", "pem": c.pem])
            _ = try await target.stop()
        }

        var result = try await Self.both(["import"], stores: stores, status: 3, stdin: exported)
        #expect(result.stdout == """
            identical host=192.0.2.1_443;  sha256=\(a.fingerprint)
            conflict host=192.0.2.2_443;  pinned=\(c.fingerprint);  imported=\(b.fingerprint);  differs=certificate
            imported host=192.0.2.3_443;  sha256=\(a.fingerprint);  events=1;  server=-

            """)
        #expect(result.stderr.contains("import: hosts 3; imported 1, identical 1 (already in the store), refused 1 (conflict), replaced 0"))
        #expect(result.stderr.contains("1 host was refused (conflict)") && result.stderr.contains("--replace"), "\(result.stderr)")
        result = try await Self.both(["listcerts", "-v", "--host", "192.0.2.2"], stores: stores, status: 0)
        #expect(result.stdout.contains("sha256=\(c.fingerprint)"), "a refused host changed: \(result.stdout)")

        result = try await Self.both(["import", "--replace"], stores: stores, status: 0, stdin: exported)
        #expect(result.stdout == """
            identical host=192.0.2.1_443;  sha256=\(a.fingerprint)
            replaced host=192.0.2.2_443;  sha256=\(b.fingerprint);  was=\(c.fingerprint);  events=1
            identical host=192.0.2.3_443;  sha256=\(a.fingerprint)

            """)
        result = try await Self.both(["history", "192.0.2.2"], stores: stores, status: 0)
        #expect(result.stdout.split(separator: "\n").map { $0.split(separator: ";")[1] } == ["  event=pinned", "  event=pinned", "  event=replaced"])
        result = try await Self.both(["listcerts", "-v", "--host", "192.0.2.2"], stores: stores, status: 0)
        #expect(result.stdout.contains("sha256=\(b.fingerprint)"))
        result = try await Self.both(["import", "--json"], stores: stores, status: 0, stdin: exported)
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.contains(#""status":"identical""#) })
    }

    /// A record that is not what an export holds stops the import at its line: the hosts before
    /// it are imported, nothing of its host or after it is.
    @Test(arguments: [
        ("sha256Fingerprint", "line 4 (host 192.0.2.2_443) is not a record of a tofu export: 'sha256Fingerprint' is '"),
        ("at", "line 5 (host 192.0.2.2_443) is not a record of a tofu export: 'at' is '2026-02-30T00:00:00Z' where a time (YYYY-MM-DDTHH:MM:SSZ, a real one) belongs. Nothing from line 4 on was imported."),
        ("host", "line 4 is not a record of a tofu export: 'host' is 'DNAC.example.com_443', not a host key in its canonical form (dnac.example.com_443). Nothing from line 2 on was imported."),
        ("pem", "line 4 (host 192.0.2.2_443) is not a record of a tofu export: 'pem' does not hold one X.509 certificate"),
        ("subject", "line 4 (host 192.0.2.2_443) is not a record of a tofu export: 'subject' is 'CN = trusted', but the certificate in pem says 'CN = kong b'. Nothing from it on was imported."),
        ("member", "line 4 (host 192.0.2.2_443) is not a record of a tofu export: 'comment' is not a member of this record"),
        ("type", "line 5 (host 192.0.2.2_443) is not a record of a tofu export: 'type' a pin of 192.0.2.2_443 comes after other records of it"),
    ])
    func aBadRecordStopsTheImportAtItsLine(damage: String, words: String) async throws {
        let (a, b) = (try await CertificateFactory.make(), try await CertificateFactory.make(subject: "/CN=kong b"))
        let source = newStorePath()
        let server = try StoreServer(storePath: source)
        _ = try await server.result("pinCert", ["host": "192.0.2.1", "pem": a.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.2", "pem": b.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.3", "pem": a.pem])
        _ = try await server.stop()
        var lines = try await Self.tofu(["export", "--store", source]).stdout.split(separator: "\n").map(String.init)
        // 1 header, 2-3 the first host, 4-5 the second (its pin on line 4, its event on 5)…
        #expect(lines.count == 8 && lines[3].contains(#""type":"pin""#) && lines[3].contains("192.0.2.2_443"))
        switch damage {
        case "sha256Fingerprint": lines[3] = lines[3].replacingOccurrences(of: b.fingerprint, with: a.fingerprint)
        case "at": lines[4] = lines[4].replacingOccurrences(of: #""at":"[^"]*""#, with: #""at":"2026-02-30T00:00:00Z""#, options: .regularExpression)
        case "host": lines[3] = lines[3].replacingOccurrences(of: "192.0.2.2_443", with: "DNAC.example.com_443")
        case "pem": lines[3] = lines[3].replacingOccurrences(of: "-----BEGIN CERTIFICATE-----\\nMII", with: "-----BEGIN CERTIFICATE-----\\nMIJ")
        case "subject": lines[3] = lines[3].replacingOccurrences(of: #""subject":"CN = kong b""#, with: #""subject":"CN = trusted""#)
        case "member": lines[3] = lines[3].replacingOccurrences(of: #"{"#, with: #"{"comment":"hi","#)
        default: lines.swapAt(3, 4)
        }
        let damaged = lines.joined(separator: "\n") + "\n"
        let stores = Self.stores()
        let result = try await Self.both(["import"], stores: stores, status: 2, stdin: damaged)
        #expect(result.stderr.contains(words), "\(result.stderr)")
        #expect(result.stderr.contains("The import stopped there; the hosts listed above were imported."), "\(result.stderr)")
        // The host before the bad record is imported, unless the record's host cannot be read
        // (it may be the same host).
        let before = damage == "host" ? "" : "imported host=192.0.2.1_443;  sha256=\(a.fingerprint);  events=1;  server=-\n"
        #expect(result.stdout == before)
        let listed = try await Self.both(["listcerts"], stores: stores, status: 0)
        #expect(listed.stdout == (damage == "host" ? "" : "host=192.0.2.1_443;  subject=CN = kong\n"), "only the host before the bad line: \(listed.stdout)")
    }

    @Test func anInputThatIsNotAnExportIsRefusedSayingWhere() async throws {
        let a = try await CertificateFactory.make()
        let source = newStorePath()
        let server = try StoreServer(storePath: source)
        _ = try await server.result("pinCert", ["host": "192.0.2.1", "pem": a.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.2", "pem": a.pem])
        _ = try await server.stop()
        let lines = try await Self.tofu(["export", "--store", source]).stdout.split(separator: "\n").map(String.init)
        let stores = Self.stores()

        // Cut short (an export that failed midway): what came is imported, the import fails.
        var result = try await Self.both(["import"], stores: stores, status: 1, stdin: lines.dropLast().joined(separator: "\n") + "\n")
        #expect(result.stderr.contains("the input ended at line 5 without the end record of a tofu export"), "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 2)
        // Not JSON: nothing from that host on.
        result = try await Self.both(["import"], stores: Self.stores(), status: 2, stdin: ([lines[0], lines[1], lines[2], lines[3], "not json"] + lines[4...]).joined(separator: "\n"))
        #expect(result.stderr.contains("line 5 is not a JSON object, as every line of a tofu export is: the import stopped there, nothing from line 4 on was imported"), "\(result.stderr)")
        #expect(result.stdout == "imported host=192.0.2.1_443;  sha256=\(a.fingerprint);  events=1;  server=-\n")
        result = try await Self.both(["import"], stores: Self.stores(), status: 1, stdin: "")
        #expect(result.stderr.contains("the input is empty: nothing was imported"))
        // A newer export.
        result = try await Self.both(["import"], stores: Self.stores(), status: 2, stdin: lines.joined(separator: "\n").replacingOccurrences(of: #""version":1"#, with: #""version":2"#))
        #expect(result.stderr.contains("line 1 is not a record of a tofu export: 'version' is 2; this tofu reads version 1 exports"), "\(result.stderr)")
    }

    /// An export larger than one call (both clients send about 1000 records a call, whole
    /// hosts each): every host arrives, and a bad line past the first call is named by its line.
    @Test func aLargeExportGoesInSeveralCallsAndLinesKeepTheirNumbers() async throws {
        let a = try await CertificateFactory.make()
        let source = newStorePath()
        let server = try StoreServer(storePath: source)
        _ = try await server.result("pinCert", ["host": "h0000.example", "pem": a.pem])
        _ = try await server.stop()
        let template = try await Self.tofu(["export", "--store", source]).stdout.split(separator: "\n").map(String.init)
        #expect(template.count == 4)
        // 520 hosts of a pin and an event each: 1042 lines, more than one call of either client.
        var lines = [template[0]]
        for number in 0..<520 {
            let host = String(format: "h%04d.example", number)
            lines += template[1...2].map { $0.replacingOccurrences(of: "h0000.example", with: host) }
        }
        lines.append(template[3])
        let stores = Self.stores()
        var result = try await Self.both(["import"], stores: stores, status: 0, stdin: lines.joined(separator: "\n") + "\n")
        #expect(result.stdout.split(separator: "\n").count == 520)
        #expect(result.stderr.contains("import: hosts 520; imported 520,"), "\(result.stderr)")
        for store in stores.values {
            let exported = try await Self.tofu(["export", "--store", store])
            #expect(exported.stdout == lines.joined(separator: "\n") + "\n")
        }
        // Line 1022 is host 510's pin (1 header, then two lines a host).
        lines[1021] = lines[1021].replacingOccurrences(of: #""pinnedAt":"[^"]*""#, with: #""pinnedAt":"yesterday""#, options: .regularExpression)
        result = try await Self.both(["import"], stores: Self.stores(), status: 2, stdin: lines.joined(separator: "\n") + "\n")
        #expect(result.stderr.contains("line 1022 (host h0510.example_443) is not a record of a tofu export: 'pinnedAt' is 'yesterday'"), "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 510)
    }

    /// exportPins and importPins answer as protocol/openrpc.json says, errors included.
    @Test func theMethodsAnswerAsTheDocumentSays() async throws {
        let a = try await CertificateFactory.make()
        let server = try StoreServer(storePath: newStorePath())
        _ = try await server.result("pinCert", ["host": "192.0.2.1", "pem": a.pem])
        _ = try await server.result("pinCert", ["host": "192.0.2.2", "pem": a.pem, "policy": "publicKey"])
        let first = try await server.result("exportPins", ["limit": 1])
        let records = first["records"] as? [[String: Any]] ?? []
        #expect(records.map { $0["type"] as? String } == ["header", "pin"])
        let cursor = try #require(first["nextCursor"] as? String)
        var rest = try await server.result("exportPins", ["cursor": cursor, "limit": 10_000])
        #expect((rest["records"] as? [[String: Any]])?.map { $0["type"] as? String } == ["event", "pin", "event", "end"])
        #expect(rest["nextCursor"] is NSNull)
        rest = try await server.result("exportPins", ["cursor": cursor])
        let target = try StoreServer(storePath: newStorePath())
        let imported = try await target.result("importPins", ["records": records + (rest["records"] as? [[String: Any]] ?? []), "firstLine": 1])
        #expect((imported["hosts"] as? [[String: Any]])?.compactMap { $0["status"] as? String } == ["imported", "imported"])
        // Errors: a cursor not of this method, a bad record (with the hosts imported before it).
        let badCursor = try await server.call("exportPins", ["cursor": "dG9mdTE6MTkyLjAuMi4xXzQ0Mw=="])
        #expect(badCursor.errorCode == -32602)
        var bad = records
        bad.append(["type": "event", "host": "192.0.2.9_443", "event": "pinned", "sha256Fingerprint": a.fingerprint, "detail": ""])
        let refused = try await target.call("importPins", ["records": bad, "firstLine": 10])
        let data = try #require((refused.object["error"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["kind"] as? String == "invalidRecord" && data["line"] as? Int == 12 && data["field"] as? String == "at", "\(data)")
        #expect((data["hosts"] as? [[String: Any]])?.first?["status"] as? String == "identical")
        // A host's records follow one another in a call.
        let pins = (records + (rest["records"] as? [[String: Any]] ?? [])).filter { $0["type"] as? String != "header" && $0["type"] as? String != "end" }
        let apart = try await target.call("importPins", ["records": [pins[0], pins[2], pins[1]]])
        #expect(((apart.object["error"] as? [String: Any])?["message"] as? String)?.contains("192.0.2.1_443 had records earlier in this call") == true, "\(apart)")
        _ = try await server.stop()
        _ = try await target.stop()
    }
}

/// Moving stores to and from PostgreSQL, and the CLI on a URI store.
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLMoveTests {
    @Test func aMoveFromSQLiteToPostgreSQLAndBackIsLossless() async throws {
        let database = try await PostgreSQLDatabase.create()
        let source = newStorePath()
        let exported = try await StoreMoveTests.populatedStore(source)
        var variables = database.environment
        variables["SOURCE"] = source
        variables["PG"] = database.uri
        variables["BACK"] = newStorePath()
        let moved = try await StoreMoveTests.pipeline(#""$TOFU" export --store "$SOURCE" | "$TOFU" import --store "$PG""#, variables)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.stderr.contains("imported 4, identical 0"), "\(moved.stderr)")
        let fromPostgreSQL = try await StoreMoveTests.tofu(["export", "--store", database.uri], environment: database.environment)
        #expect(fromPostgreSQL.stdout == exported, "PostgreSQL's export differs from SQLite's")
        let shell = try await runProgram("/bin/bash", [CLITests.Client.script, "export", "--store", database.uri], environment: StoreMoveTests.environment.merging(database.environment) { _, new in new })
        #expect(shell.stdout == exported, "tofu.sh: \(shell.stderr)")

        let back = try await StoreMoveTests.pipeline(#""$TOFU" export --store "$PG" | bash "$SCRIPT" import --store "$BACK""#, variables.merging(["SCRIPT": CLITests.Client.script]) { _, new in new })
        #expect(back.status == 0, "\(back.stderr)")
        let fromBack = try await StoreMoveTests.tofu(["export", "--store", variables["BACK"] ?? ""])
        #expect(fromBack.stdout == exported, "the store moved back differs")
        // Each host's history and the servers, as certHistory and listDnacServers show them. (In
        // the whole history, the moved store lists the events host by host, as they were imported.)
        let original = try StoreServer(storePath: source)
        let roundTripped = try StoreServer(storePath: variables["BACK"] ?? "")
        let hosts = Set((try await original.result("certHistory")["events"] as? [[String: Any]] ?? []).compactMap { $0["host"] as? String })
        #expect(hosts.count == 4)
        for params in hosts.map({ ["host": $0] }) + [[:]] {
            let method = params.isEmpty ? "listDnacServers" : "certHistory"
            let (one, two) = (try await original.result(method, params), try await roundTripped.result(method, params))
            #expect(NSDictionary(dictionary: one) == NSDictionary(dictionary: two), "\(method) \(params)")
        }
        _ = try await original.stop()
        _ = try await roundTripped.stop()
    }

    @Test func anImportWhileAnotherProcessWritesStaysConsistent() async throws {
        try await StoreMoveTests.importRacingAnotherProcess(store: try await PostgreSQLDatabase.create())
    }

    /// The URI store from the command line: with the password in the URI, given before or
    /// after the command. The password never reaches a child's command line.
    @Test func theCLIWorksOnAURIStoreWithoutShowingItsPassword() async throws {
        let database = try await PostgreSQLDatabase.create()
        let password = try #require(database.environment["PGPASSWORD"])
        let uri = database.uri.replacingOccurrences(of: "postgresql://tofu@", with: "postgresql://tofu:\(password)@")
        #expect(uri != database.uri)
        let a = try await CertificateFactory.make()
        let server = try StoreServer(storePath: database.uri, environment: database.environment)
        _ = try await server.result("pinCert", ["host": "192.0.2.10", "pem": a.pem])
        _ = try await server.stop()
        for arguments in [["--store", uri, "listcerts"], ["listcerts", "--store", uri], ["--json", "--store", uri, "listcerts"]] {
            let listed = try await StoreMoveTests.tofu(arguments)
            #expect(listed.status == 0, "\(arguments.filter { $0 != uri }): \(listed.stderr)")
            #expect(listed.stdout.contains("192.0.2.10_443"))
        }
        for client in CLITests.Client.allCases {
            let (executable, prefix) = client.command
            let running = try ServerProcess(executable, arguments: prefix + ["--store", uri, "import"], environment: StoreMoveTests.environment)
            // The tofu-rpc it started (a shell's own subshells show the shell's command line, as typed).
            let children = try await Self.servers(below: running.process.processIdentifier)
            #expect(children.count == 1, "\(client): tofu-rpc was not started")
            let listing = try await runProgram("/bin/ps", ["-eo", "pid=,args="])
            for child in children {
                let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(child)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
                #expect(!commandLine.contains(password), "\(client): the password is in the command line of child \(child)")
                let shown = listing.stdout.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(child) ") }
                #expect(!shown.isEmpty && !shown.contains { $0.contains(password) }, "\(client): ps shows the password of child \(child)")
            }
            running.closeInput()
            #expect(try await running.waitForExit() == 1, "\(client): \(running.stderr)")
            #expect(running.stderr.contains("the input is empty") && !running.stderr.contains(password))
        }
    }

    /// A refused password, a closed port, a password libpq cannot parse: the error says what
    /// happened, never the password, in every command of both clients.
    @Test func storeErrorsNeverShowThePassword() async throws {
        let database = try await PostgreSQLDatabase.create()
        let secret = "Sekr3t" + UUID().uuidString.prefix(8)
        let exported = try await StoreMoveTests.populatedStore(newStorePath())
        let base = database.uri
        let port = String(TLSPeers.closedPort())
        let uris = [
            (base.replacingOccurrences(of: "postgresql://tofu@", with: "postgresql://tofu:\(secret)@"), "password authentication failed"),
            (base.replacingOccurrences(of: "postgresql://tofu@", with: "postgresql://tofu:\(secret)%ZZ@"), "is not validly percent-encoded"),
            (base + "?password=\(secret)%G1", "is not validly percent-encoded"),
            (base.replacingOccurrences(of: #":\d+/"#, with: ":\(port)/", options: .regularExpression).replacingOccurrences(of: "postgresql://tofu@", with: "postgresql://tofu:\(secret)@"), "Connection refused"),
        ]
        for (uri, words) in uris {
            for client in CLITests.Client.allCases {
                let (executable, prefix) = client.command
                for command in [["listcerts"], ["export"], ["import"]] {
                    let result = try await runProgram(executable, prefix + ["--store", uri] + command, stdin: exported, environment: StoreMoveTests.environment)
                    #expect(result.status == 7, "\(client) \(command): \(result.status) \(result.stderr)")
                    #expect(result.stderr.contains(words), "\(client) \(command): \(result.stderr)")
                    #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret), "\(client) \(command) showed the password: \(result.stderr)")
                }
            }
        }
    }

    /// The tofu-rpc processes below `pid` (children, grandchildren), once there is one.
    static func servers(below pid: Int32) async throws -> [Int32] {
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(20))
        while true {
            var parents: [Int32: Int32] = [:]
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 1, let parent = Int32(fields[1]) { parents[child] = parent }
            }
            var found: [Int32] = []
            var frontier: Set<Int32> = [pid]
            while !frontier.isEmpty {
                let next = Set(parents.filter { frontier.contains($0.value) }.keys)
                found += next
                frontier = next
            }
            let servers = found.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/exe")) == productPath("tofu-rpc") }
            if !servers.isEmpty || ContinuousClock.now > deadline { return servers }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension StoreMoveTests {
    @Test func anImportIntoSQLiteWhileAnotherProcessWritesStaysConsistent() async throws {
        try await Self.importRacingAnotherProcess(store: PostgreSQLDatabase(uri: newStorePath(), environment: [:]))
    }

    /// `tofu import` of 60 hosts pinned to one certificate while another tofu-rpc pins another
    /// certificate for the same hosts: every host ends with one pin, the first comer's, and the
    /// import's report and the other process's answers agree with it, host by host.
    static func importRacingAnotherProcess(store: PostgreSQLDatabase) async throws {
        let (a, b) = (try await CertificateFactory.make(), try await CertificateFactory.make(subject: "/CN=kong b"))
        let keys = (1...60).map { "192.0.2.\($0)_443" }
        let source = try StoreServer(storePath: newStorePath())
        for key in keys { _ = try await source.result("pinCert", ["host": key, "pem": a.pem]) }
        let exported = try await tofu(["export", "--store", source.storePath]).stdout
        _ = try await source.stop()

        let other = try StoreServer(storePath: store.uri, environment: store.environment)
        // The first hosts are the other process's for sure; the others are raced for.
        var othersPins: Set<String> = []
        for key in keys.prefix(5) {
            let pinned = try await other.result("pinCert", ["host": key, "pem": b.pem])
            #expect(pinned["pinStatus"] as? String == "pinned")
            othersPins.insert(key)
        }
        let importing = Task { try await tofu(["import", "--store", store.uri], stdin: exported, environment: store.environment) }
        for key in keys.dropFirst(5).reversed() {
            let answer = try await other.call("pinCert", ["host": key, "pem": b.pem])
            if (answer.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned" { othersPins.insert(key) } else { #expect(answer.errorCode == -32002) }
        }
        let imported = try await importing.value
        #expect(imported.status == (othersPins.isEmpty ? 0 : 3), "\(imported.stderr)")
        let reported = Dictionary(uniqueKeysWithValues: imported.stdout.split(separator: "\n").map { line in
            (String(line.split(separator: " ")[1].dropFirst(5).prefix { $0 != ";" }), String(line.split(separator: " ")[0]))
        })
        #expect(reported.count == keys.count)
        for key in keys {
            let pin = (try await other.result("listCerts", ["host": key])["certs"] as? [[String: Any]])?.first
            let history = try await other.result("certHistory", ["host": key])["events"] as? [[String: Any]] ?? []
            #expect(history.compactMap { $0["event"] as? String } == ["pinned"], "\(key): \(history)")
            if othersPins.contains(key) {
                #expect(reported[key] == "conflict" && pin?["sha256Fingerprint"] as? String == b.fingerprint, "\(key)")
            } else {
                #expect(reported[key] == "imported" && pin?["sha256Fingerprint"] as? String == a.fingerprint, "\(key)")
            }
        }
        _ = try await other.stop()
    }
}
