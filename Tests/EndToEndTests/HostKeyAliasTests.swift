import Foundation
import TestSupport
import Testing

/// Another spelling of a pinned address must never get around its pin: the resolver would
/// connect `0x7f000001` to 127.0.0.1, so tofu refuses it (naming 127.0.0.1) before it connects,
/// pins or sends anything.
@Suite struct HostKeyAliasTests {
    static let password = "alias-Pässwörd-\"q\"-$(id)"

    @Test func anotherSpellingOfAPinnedAddressIsRefusedBeforeAnyConnection() async throws {
        let peers = try TLSPeers()
        let pinned = try await CertificateFactory.make()
        let presented = try await CertificateFactory.make()
        // The controller presents another certificate than the pin: the pin would refuse it.
        let dnac = try await peers.listen("tls", certificate: presented, dnac: ["username": "admin", "password": Self.password])
        let server = try StoreServer(storePath: temporaryDirectory("tofu-alias") + "/store.sqlite")
        _ = try await server.result("pinCert", ["host": dnac.address, "pem": pinned.pem])
        let port = dnac.port

        let credentials: [String: Any] = ["username": "admin", "password": Self.password, "confirmPassword": Self.password, "timeoutMs": 3000]
        var adds: [[String: Any]] = [
            ["server": "0x7f000001", "port": port], ["server": "0x7f.0.0.0x1:\(port)"], ["server": "127.1", "port": port],
            ["server": "2130706433_\(port)"], ["server": "0177.0.0.1", "port": port], ["server": "[::ffff:127.0.0.1]:\(port)"],
            ["server": "::ffff:7f00:1", "port": port], ["server": "127.0.0.1.", "port": port], ["server": "１２７．０．０．１", "port": port],
        ]
        for index in adds.indices { adds[index].merge(credentials) { old, _ in old } }
        for params in adds {
            let answer = try await server.call("addDnacServer", params)
            #expect(answer.errorCode == -32602, "addDnacServer \(params["server"] ?? ""): \(answer)")
            #expect(answer.errorData?["field"] as? String == "server", "\(answer)")
            #expect(Self.message(answer).contains("use 127.0.0.1"), "\(answer)")
            #expect(!answer.text.contains(Self.password) && !answer.text.contains("Pässwörd"))
        }
        for host in ["0x7f.0.0.0x1:\(port)", "0x7f000001_\(port)", "127.0.1:\(port)", "[::ffff:127.0.0.1]:\(port)", "017700000001:\(port)"] {
            let answer = try await server.call("verifyCert", ["host": host, "timeoutMs": 3000])
            #expect(answer.errorCode == -32602, "verifyCert \(host): \(answer)")
            #expect(Self.message(answer).contains("use 127.0.0.1"), "\(answer)")
        }

        let pins = try await server.result("listCerts")["certs"] as? [[String: Any]] ?? []
        #expect(pins.compactMap { $0["host"] as? String } == [dnac.key], "a second pin appeared: \(pins)")
        #expect(pins.first?["sha256Fingerprint"] as? String == pinned.fingerprint)
        #expect((try await server.result("listDnacServers")["servers"] as? [Any])?.isEmpty == true)
        #expect(try await peers.requests(dnac).isEmpty, "the controller received a request")
        #expect(try await peers.connections(dnac) == 0, "tofu connected to the controller")

        // The canonical spelling still meets the pin, which refuses the other certificate.
        let canonical = try await server.call("addDnacServer", ["server": dnac.address].merging(credentials) { old, _ in old })
        #expect(canonical.errorCode == -32002, "\(canonical)")
        #expect(try await peers.requests(dnac).isEmpty)
        _ = try await server.stop()
        peers.stop()
    }

    /// Both clients pass host keys to tofu-rpc, which refuses an alias: exit status 2 (usage)
    /// and the canonical address on stderr, before anything connects.
    @Test(arguments: CLITests.Client.allCases)
    func theClientsRefuseAnAliasNamingTheAddress(client: CLITests.Client) async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: certificate)
        let store = temporaryDirectory("tofu-alias-cli") + "/store.sqlite"
        for arguments in [
            ["verifycert", "0x7f000001:\(peer.port)"], ["verifycert", "[::ffff:127.0.0.1]:\(peer.port)"],
            ["deletecert", "host", "0x7f.1_\(peer.port)"], ["listcerts", "--host", "127.1:\(peer.port)"],
        ] {
            let result = try await CLITests.run(client, arguments, store: store)
            #expect(result.status == 2, "\(client) \(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("use 127.0.0.1"), "\(client) \(arguments): \(result.stderr)")
        }
        #expect(try await peers.connections(peer) == 0)
        peers.stop()
    }

    private static func message(_ answer: Received) -> String {
        ((answer.object["error"] as? [String: Any])?["message"] as? String ?? "") + " " + answer.errorReason
    }
}
