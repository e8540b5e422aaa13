import Foundation
import TestSupport
import Testing

/// A store hand-edited with the sqlite3 CLI: every method that reads rows answers -32005 naming
/// the row it cannot read (table, rowid, host), the process keeps serving, the other rows stay
/// usable, and deleteCert / removeDnacServer remove the damaged row.
@Suite(.serialized) struct DamagedStoreTests {
    static func edit(_ store: String, _ sql: String) async throws {
        let result = try await runProgram("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", store, sql])
        #expect(result.status == 0, "sqlite3 \(sql): \(result.stderr)")
    }

    static func rowid(_ store: String, _ table: String, host: String) async throws -> Int {
        let result = try await runProgram("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", store, "SELECT id FROM \(table) WHERE host = '\(host)'"])
        return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The answer is -32005 naming `table` row `rowid` (and `host`, when it is readable) and `column`.
    static func expectDamaged(
        _ answer: Received, table: String, rowid: Int, host: String?, column: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(answer.errorCode == -32005, "\(answer)", sourceLocation: sourceLocation)
        #expect(answer.errorKind == "storeUnavailable", sourceLocation: sourceLocation)
        let row = answer.errorData?["damagedRow"] as? [String: Any]
        #expect(row?["table"] as? String == table, "\(answer)", sourceLocation: sourceLocation)
        #expect(row?["rowid"] as? Int == rowid, "\(answer)", sourceLocation: sourceLocation)
        #expect(row?["column"] as? String == column, "\(answer)", sourceLocation: sourceLocation)
        if let host { #expect(row?["host"] as? String == host, "\(answer)", sourceLocation: sourceLocation) }
        let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("row \(rowid) of table \(table)"), "\(message)", sourceLocation: sourceLocation)
        if let host { #expect(message.contains(host), "\(message)", sourceLocation: sourceLocation) }
    }

    /// (what sqlite3 sets in the pin row, the column named)
    static let pinDamages: [(String, String)] = [
        ("port = 'x'", "port"),
        ("port = 70000", "port"),
        ("port = 1.5", "port"),
        ("port = X'01'", "port"),
        ("address = X'00'", "address"),
        ("address = 'localhost'", "address"),
        ("der = 'not a certificate'", "der"),
        ("der = X''", "der"),
        ("der = X'3082000130'", "der"),
        ("sha256Fingerprint = '\(String(repeating: "CD:", count: 31))CD'", "der"),
        ("notAfter = '2026-02-30T00:00:00Z'", "notAfter"),
        ("sha256Fingerprint = 'not hex'", "sha256Fingerprint"),
        ("sha256Fingerprint = lower(sha256Fingerprint)", "sha256Fingerprint"),
        ("sha256Fingerprint = 7", "sha256Fingerprint"),
        ("spkiSha256 = X'01'", "spkiSha256"),
        ("subject = X'FF'", "subject"),
        ("issuer = X'00'", "issuer"),
        ("serialNumber = X'01'", "serialNumber"),
        ("notBefore = 'yesterday'", "notBefore"),
        ("notAfter = 12", "notAfter"),
        ("subjectAltNames = X'0A'", "subjectAltNames"),
        ("publicKey = X'00'", "publicKey"),
        ("pinnedAt = 'now'", "pinnedAt"),
        ("pinnedAt = '9999-99-99T99:99:99Z'", "pinnedAt"),
        ("lastVerifiedAt = X'00'", "lastVerifiedAt"),
    ]

    /// Every method that reads pins, against a pin row damaged one column at a time; a healthy
    /// pin next to it stays usable, and deleteCert of the damaged one repairs the store.
    @Test(arguments: pinDamages)
    func aDamagedPinRowIsNamedAndRepairable(set: String, column: String) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let damaged = try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": "pw"])
        let healthy = try await peers.listen("tls", certificate: certificate)
        let store = newStorePath("tofu-damaged")
        let server = try StoreServer(storePath: store)
        for peer in [damaged, healthy] {
            _ = try await server.result("pinCert", ["host": peer.address, "pem": certificate.pem])
        }
        let id = try await Self.rowid(store, "pin", host: damaged.key)
        try await Self.edit(store, "UPDATE pin SET \(set) WHERE host = '\(damaged.key)'")

        let expect = { (answer: Received, location: SourceLocation) in
            Self.expectDamaged(answer, table: "pin", rowid: id, host: damaged.key, column: column, sourceLocation: location)
        }
        expect(try await server.call("listCerts"), #_sourceLocation)
        expect(try await server.call("listCerts", ["host": damaged.key]), #_sourceLocation)  // the point read (listBlocking)
        expect(try await server.call("listCerts", ["expiringWithinDays": 36_500]), #_sourceLocation)
        expect(try await server.call("verifyCert", ["host": damaged.key, "timeoutMs": 3000]), #_sourceLocation)
        expect(try await server.call("verifyCert", ["host": damaged.key, "pem": certificate.pem]), #_sourceLocation)
        expect(try await server.call("verifyCert", ["all": true, "timeoutMs": 3000]), #_sourceLocation)
        expect(try await server.call("pinCert", ["host": damaged.key, "pem": certificate.pem]), #_sourceLocation)
        let add = try await server.call(
            "addDnacServer", ["server": damaged.address, "username": "admin", "password": "pw", "confirmPassword": "pw", "timeoutMs": 3000])
        expect(add, #_sourceLocation)
        #expect(try await peers.requests(damaged).isEmpty, "credentials went to a host whose pin could not be read")
        let wrongExpectation = try await server.call("deleteCert", ["host": damaged.key, "expectedFingerprint": String(repeating: "AB", count: 32)])
        expect(wrongExpectation, #_sourceLocation)

        // The rest of the store works meanwhile.
        let other = try await server.result("listCerts", ["host": healthy.key])["certs"] as? [[String: Any]] ?? []
        #expect(other.first?["sha256Fingerprint"] as? String == certificate.fingerprint)
        #expect(try await server.result("verifyCert", ["host": healthy.key, "timeoutMs": 3000])["status"] as? String == "match")
        #expect((try await server.result("certHistory")["events"] as? [Any])?.isEmpty == false)

        // deleteCert removes the damaged row, says which, and records it.
        let repaired = try await server.result("deleteCert", ["host": damaged.key])
        #expect(repaired["deleted"] is NSNull)
        let named = repaired["damagedRow"] as? [String: Any]
        #expect(named?["rowid"] as? Int == id)
        #expect(named?["column"] as? String == column)
        let listed = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(listed.compactMap { $0["host"] as? String } == [healthy.key])
        let events = try await server.result("certHistory", ["host": damaged.key])["events"] as? [[String: Any]] ?? []
        #expect(events.last?["event"] as? String == "deleted")
        #expect(try await server.result("verifyCert", ["all": true, "timeoutMs": 3000])["results"] as? [Any] != nil)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// A host column that is no key tofu accepts: named by rowid, and sqlite3 is the way out.
    @Test func aRowWhoseHostKeyDoesNotParseIsNamedByRowid() async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath("tofu-damaged")
        let server = try StoreServer(storePath: store)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        _ = try await server.result("pinCert", ["host": "other.example", "pem": certificate.pem])
        let id = try await Self.rowid(store, "pin", host: "kong.example_443")
        try await Self.edit(store, "UPDATE pin SET host = 'Kong Example' WHERE id = \(id)")
        let answer = try await server.call("listCerts")
        Self.expectDamaged(answer, table: "pin", rowid: id, host: "Kong Example", column: "host")
        #expect((answer.errorData?["remedy"] as? String)?.contains("DELETE FROM pin WHERE id = \(id)") == true, "\(answer)")
        #expect(answer.errorData?["remedyCall"] == nil)
        #expect(try await server.result("listCerts", ["host": "other.example"])["certs"] as? [Any] != nil)
        try await Self.edit(store, "UPDATE pin SET host = char(8238) || 'x' WHERE id = \(id)")
        let escaped = try await server.call("listCerts")
        #expect(!escaped.text.contains("\u{202E}"), "a bidi override went out raw: \(escaped)")
        #expect(((escaped.errorData?["damagedRow"] as? [String: Any])?["host"] as? String)?.contains("\\u{202E}") == true)
        #expect(try await server.stop() == 0)
    }

    /// (what sqlite3 sets in the dnac_server row, the column named)
    static let serverDamages: [(String, String)] = [
        ("authenticated = 'yes'", "authenticated"),
        ("authenticated = 2", "authenticated"),
        ("port = 'x'", "port"),
        ("username = X'00'", "username"),
        ("pinnedFingerprint = 'abc'", "pinnedFingerprint"),
        ("addedAt = 'x'", "addedAt"),
        ("addedAt = '2026-11-31T00:00:00Z'", "addedAt"),
        ("lastCheckedAt = X'00'", "lastCheckedAt"),
        ("address = 'localhost'", "address"),
    ]

    @Test(arguments: serverDamages)
    func aDamagedServerRowIsNamedAndRepairable(set: String, column: String) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let dnac = try await peers.listen("tls", certificate: certificate, dnac: ["username": "admin", "password": "pw"])
        let store = newStorePath("tofu-damaged")
        let server = try StoreServer(storePath: store)
        let params: [String: Any] = ["server": dnac.address, "username": "admin", "password": "pw", "confirmPassword": "pw", "timeoutMs": 3000]
        _ = try await server.result("addDnacServer", params)
        let id = try await Self.rowid(store, "dnac_server", host: dnac.key)
        try await Self.edit(store, "UPDATE dnac_server SET \(set) WHERE id = \(id)")

        Self.expectDamaged(try await server.call("listDnacServers"), table: "dnac_server", rowid: id, host: dnac.key, column: column)
        let sent = try await peers.requests(dnac).count
        let again = try await server.call("addDnacServer", params)
        Self.expectDamaged(again, table: "dnac_server", rowid: id, host: dnac.key, column: column)
        #expect((again.errorData?["remedyCall"] as? [String: Any])?["method"] as? String == "removeDnacServer")
        #expect(try await peers.requests(dnac).count == sent, "credentials were sent before the damaged record stopped the add")
        // Pins are untouched.
        #expect((try await server.result("listCerts", ["host": dnac.key])["certs"] as? [Any])?.count == 1)

        let removed = try await server.result("removeDnacServer", ["server": dnac.key])
        #expect(removed["removed"] is NSNull)
        #expect((removed["damagedRow"] as? [String: Any])?["rowid"] as? Int == id)
        #expect((try await server.result("listDnacServers")["servers"] as? [Any])?.isEmpty == true)
        #expect(try await server.result("addDnacServer", params)["authenticated"] as? Bool == true)
        #expect(try await server.stop() == 0)
        peers.stop()
    }

    /// (what sqlite3 sets in the event row, the column named)
    static let eventDamages: [(String, String)] = [
        ("event = 'exploded'", "event"),
        ("at = 5", "at"),
        ("at = '2026-11-29T25:00:00Z'", "at"),
        ("sha256Fingerprint = 'x'", "sha256Fingerprint"),
        ("host = 'not a key!'", "host"),
        ("detail = X'00'", "detail"),
    ]

    @Test(arguments: eventDamages)
    func aDamagedHistoryRowIsNamed(set: String, column: String) async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath("tofu-damaged")
        let server = try StoreServer(storePath: store)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        _ = try await server.result("pinCert", ["host": "other.example", "pem": certificate.pem])
        let id = try await Self.rowid(store, "event", host: "kong.example_443")
        try await Self.edit(store, "UPDATE event SET \(set) WHERE id = \(id)")
        let host = column == "host" ? "not a key!" : "kong.example_443"
        let answer = try await server.call("certHistory")
        Self.expectDamaged(answer, table: "event", rowid: id, host: host, column: column)
        #expect((answer.errorData?["remedy"] as? String)?.contains("DELETE FROM event WHERE id = \(id)") == true)
        #expect((try await server.result("certHistory", ["host": "other.example"])["events"] as? [Any])?.count == 1)
        #expect((try await server.result("listCerts")["certs"] as? [Any])?.count == 2)
        #expect(try await server.stop() == 0)
    }
}

/// Both clients repair a damaged row the way the error's remedy says, and say which row went.
@Suite struct DamagedRowRepairByCLITests {
    @Test(arguments: CLITests.Client.allCases)
    func deletingADamagedPinNamesTheRow(client: CLITests.Client) async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath("tofu-damaged")
        let pinned = try await CLITests.run(client, ["pin-cert", "kong.example_443", "--pem", certificate.certificatePath], store: store)
        #expect(pinned.status == 0, "\(pinned.stderr)")
        let id = try await DamagedStoreTests.rowid(store, "pin", host: "kong.example_443")
        try await DamagedStoreTests.edit(store, "UPDATE pin SET port = 'x' WHERE id = \(id)")
        let listed = try await CLITests.run(client, ["listcerts"], store: store)
        #expect(listed.status == 7, "\(listed.stdout) \(listed.stderr)")
        #expect(listed.stderr.contains("kong.example_443"), "\(listed.stderr)")
        let deleted = try await CLITests.run(client, ["deletecert", "host", "kong.example_443"], store: store)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout == "deleted damaged host=kong.example_443;  table=pin;  rowid=\(id);  problem=\(Self.problem(deleted.stdout))\n", "\(deleted.stdout)")
        #expect(deleted.stdout.contains("problem=") && !deleted.stdout.contains("problem=\n"))
        let after = try await CLITests.run(client, ["listcerts"], store: store)
        #expect(after.status == 0 && after.stdout.isEmpty, "\(after.stdout) \(after.stderr)")
    }

    /// The problem text as printed (its words belong to the store's reader).
    static func problem(_ line: String) -> String {
        guard let range = line.range(of: "problem=") else { return "" }
        return String(line[range.upperBound...].dropLast())
    }
}

/// The sqlite3 command a damaged-row error suggests is safe to paste, whatever the store's path.
@Suite struct RepairCommandQuotingTests {
    @Test func aQuoteInTheStorePathCannotRunACommand() async throws {
        let base = temporaryDirectory("tofu-quote")
        let marker = base + "/PWNED"
        let directory = base + "/q'$(touch PWNED)'"
        #expect(mkdir(directory, 0o700) == 0)
        let store = directory + "/store.sqlite"
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: store)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        let id = try await DamagedStoreTests.rowid(store, "pin", host: "kong.example_443")
        try await DamagedStoreTests.edit(store, "UPDATE pin SET host = 'Kong Example' WHERE id = \(id)")
        let answer = try await server.call("listCerts")
        let remedy = answer.errorData?["remedy"] as? String ?? ""
        let start = try #require(remedy.range(of: "sqlite3 "), "\(remedy)")
        let end = try #require(remedy.range(of: "WHERE id = \(id)'", range: start.upperBound..<remedy.endIndex), "\(remedy)")
        let command = String(remedy[start.lowerBound..<end.upperBound])
        let ran = try await runProgram("/bin/bash", ["-c", "cd \"$0\" && " + command, base])
        #expect(ran.status == 0, "\(command): \(ran.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker), "the suggested command ran code from the path: \(command)")
        let after = try await server.result("listCerts")["certs"] as? [Any]
        #expect(after?.isEmpty == true, "the suggested command did not remove the row: \(command)")
        #expect(try await server.stop() == 0)
    }
}
