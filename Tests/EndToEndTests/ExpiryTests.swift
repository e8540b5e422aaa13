import Foundation
import TestSupport
import Testing

/// Expiry is visible: verifyCert's presentedValidity expiringSoon (30 days, or
/// expiringWithinDays), `listcerts -v` marking expired and soon-expiring pins beside each
/// serial and fingerprint, `pin-cert` warning of an expired certificate, and
/// `--expiring-within` taking 0 and refusing negatives: with both clients.
@Suite struct ExpiryTests {
    typealias Client = CLITests.Client

    static func stores(_ label: String) -> [Client: String] {
        Dictionary(uniqueKeysWithValues: Client.allCases.map { ($0, temporaryDirectory(label) + "/store.sqlite") })
    }

    @Test func verificationNamesACertificateThatEndsSoon() async throws {
        let peers = try TLSPeers()
        let soon = try await CertificateFactory.make(days: 10)
        let peer = try await peers.listen("tls", certificate: soon)
        let server = try StoreServer(storePath: newStorePath("tofu-expiry"))
        _ = try await server.result("pinCert", ["host": peer.key, "pem": soon.pem])
        func validity(_ extra: [String: Any] = [:]) async throws -> String? {
            let live: [String: Any] = extra["pem"] == nil ? ["timeoutMs": 5000] : [:]
            return try await server.result("verifyCert", ["host": peer.address].merging(live) { _, new in new }.merging(extra) { _, new in new })["presentedValidity"] as? String
        }
        #expect(try await validity() == "expiringSoon", "10 days left is within the default 30")
        #expect(try await validity(["expiringWithinDays": 5]) == "valid")
        #expect(try await validity(["expiringWithinDays": 0]) == "valid")
        #expect(try await validity(["expiringWithinDays": 11]) == "expiringSoon")
        // Offline, against the same certificate as PEM, the same words.
        #expect(try await validity(["pem": soon.pem]) == "expiringSoon")
        #expect(try await validity(["pem": soon.pem, "expiringWithinDays": 3]) == "valid")
        let negative = try await server.call("verifyCert", ["host": peer.address, "expiringWithinDays": -1])
        #expect(negative.errorCode == -32602 && negative.errorData?["field"] as? String == "expiringWithinDays", "\(negative)")
        #expect(try await server.stop() == 0)

        // Both clients: the line says validity=expiringSoon, unless --expiring-within says otherwise.
        let stores = Self.stores("tofu-expiry-cli")
        try await CLITests.both(["pin-cert", peer.key, "--pem", soon.certificatePath], stores: stores, status: 0)
        var results = try await CLITests.both(["verifycert", peer.key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(peer.key);  status=match;  sha256=\(soon.fingerprint);  validity=expiringSoon\n")
        results = try await CLITests.both(["verifycert", peer.key, "--expiring-within", "0"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(peer.key);  status=match;  sha256=\(soon.fingerprint)\n")
        results = try await CLITests.both(["verifycert", peer.key, "--expiring-within", "-1"], stores: stores, status: 2)
        for client in Client.allCases {
            #expect(results[client]?.stderr.contains("--expiring-within takes a number of days, 0 or more (0: only certificates already expired), got -1") == true, "\(client): \(results[client]?.stderr ?? "")")
        }
        peers.stop()
    }

    @Test func listingMarksExpiredAndSoonExpiringPinsBesideSerialAndFingerprint() async throws {
        let expired = try await CertificateFactory.make(notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        let soon = try await CertificateFactory.make(days: 10)
        let fine = try await CertificateFactory.make(days: 365)
        let serial = { (certificate: TestCertificate) async throws -> String in
            String(try await certificate.openssl(["-serial"]).dropFirst("serial=".count))
        }
        // Documentation addresses, only ever listed: never verified, never dialled.
        let stores = Self.stores("tofu-expiry-list")
        try await CLITests.both(["pin-cert", "192.0.2.31", "--pem", expired.certificatePath], stores: stores, status: 0)
        try await CLITests.both(["pin-cert", "192.0.2.32", "--pem", soon.certificatePath], stores: stores, status: 0)
        try await CLITests.both(["pin-cert", "192.0.2.33", "--pem", fine.certificatePath], stores: stores, status: 0)
        try await CLITests.both(["pin-cert", "192.0.2.33", "--pem", expired.certificatePath, "--next"], stores: stores, status: 0)

        var results = try await CLITests.both(["listcerts", "-v"], stores: stores, status: 0)
        let lines = (results[.swift]?.stdout ?? "").split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        let expiredSerial = try await serial(expired)
        #expect(lines.first?.contains("serial=\(expiredSerial);  sha256=\(expired.fingerprint);  notAfter=2021-01-01T00:00:00Z;  validity=expired;  policy=") == true, "\(lines)")
        #expect(lines.dropFirst().first?.contains("serial=\(try await serial(soon));  sha256=\(soon.fingerprint);  notAfter=") == true, "\(lines)")
        #expect(lines.dropFirst().first?.contains(";  validity=expiringSoon;  policy=") == true, "\(lines)")
        #expect(lines.last?.contains("validity=") == false, "\(lines)")
        #expect(lines.last?.hasSuffix(";  next=\(expired.fingerprint);  nextSerial=\(expiredSerial);  nextNotAfter=2021-01-01T00:00:00Z;  nextValidity=expired") == true, "\(lines)")
        // 0 days: only what has expired already, the staged certificate aside.
        results = try await CLITests.both(["listcerts", "--expiring-within", "0"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=192.0.2.31_443;  subject=CN = kong\n")
        // The horizon of the filter is also the horizon of the mark.
        results = try await CLITests.both(["listcerts", "-v", "--expiring-within", "5"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout.contains("expiringSoon") == false && results[.swift]?.stdout.contains("validity=expired") == true)
        for arguments in [["listcerts", "--expiring-within", "-1"], ["listcerts", "--expiring-within=-1"]] {
            guard arguments.last != "--expiring-within=-1" else {
                let swift = try await CLITests.run(.swift, arguments, store: stores[.swift] ?? "")
                #expect(swift.status == 2 && swift.stderr.contains("0 or more"), "\(swift.stderr)")
                continue
            }
            results = try await CLITests.both(arguments, stores: stores, status: 2)
            for client in Client.allCases {
                #expect(results[client]?.stderr.contains("--expiring-within takes a number of days, 0 or more (0: only certificates already expired), got -1") == true, "\(client): \(results[client]?.stderr ?? "")")
            }
        }
    }

    @Test func pinningAnExpiredCertificateWarns() async throws {
        let expired = try await CertificateFactory.make(notBefore: "20200101000000Z", notAfter: "20210101000000Z")
        let early = try await CertificateFactory.make(notBefore: "20990101000000Z", notAfter: "21000101000000Z")
        let fine = try await CertificateFactory.make()
        let serial = String(try await expired.openssl(["-serial"]).dropFirst("serial=".count))
        let stores = Self.stores("tofu-expiry-pin")
        var results = try await CLITests.both(["pin-cert", "192.0.2.41", "--pem", expired.certificatePath], stores: stores, status: 0)
        for client in Client.allCases {
            #expect(results[client]?.stdout.hasPrefix("pinned host=192.0.2.41_443;") == true)
            #expect(
                results[client]?.stderr == "tofu: warning: the certificate pinned for 192.0.2.41_443 (serial \(serial)) expired on 2021-01-01T00:00:00Z; if the controller still presents it, its certificate needs renewing; stage the new one with: tofu pin-cert 192.0.2.41_443 --pem NEW.pem --next\n",
                "\(client): \(results[client]?.stderr ?? "")")
        }
        results = try await CLITests.both(["pin-cert", "192.0.2.42", "--pem", early.certificatePath], stores: stores, status: 0)
        for client in Client.allCases {
            #expect(results[client]?.stderr.contains("warning: the certificate pinned for 192.0.2.42_443") == true, "\(client)")
            #expect(results[client]?.stderr.contains("is not valid before 2099-01-01T00:00:00Z; check the controller's clock") == true, "\(client)")
        }
        results = try await CLITests.both(["pin-cert", "192.0.2.43", "--pem", fine.certificatePath], stores: stores, status: 0)
        #expect(results.values.allSatisfy { $0.stderr.isEmpty }, "a valid certificate warned: \(results)")
        results = try await CLITests.both(["pin-cert", "192.0.2.43", "--pem", expired.certificatePath, "--next"], stores: stores, status: 0)
        for client in Client.allCases {
            #expect(results[client]?.stderr.contains("warning: the certificate staged for 192.0.2.43_443 (serial \(serial)) expired on 2021-01-01T00:00:00Z; it is probably not") == true, "\(client): \(results[client]?.stderr ?? "")")
        }
        // --json: the result on stdout, the warning still on stderr.
        results = try await CLITests.both(["pin-cert", "192.0.2.41", "--pem", expired.certificatePath, "--json"], stores: stores, status: 0)
        #expect(results.values.allSatisfy { $0.stderr.contains("expired on 2021-01-01T00:00:00Z") && $0.stdout.hasPrefix("{") })
    }

    /// An empty list says so, on stderr: stdout stays empty for a script that counts lines.
    @Test func anEmptyListSaysNoPins() async throws {
        let stores = Self.stores("tofu-expiry-empty")
        var results = try await CLITests.both(["listcerts"], stores: stores, status: 0)
        #expect(results.values.allSatisfy { $0.stdout.isEmpty && $0.stderr == "(no pins)\n" }, "\(results)")
        results = try await CLITests.both(["certvalidation", "tofu-certs", "listcerts"], stores: stores, status: 0)
        #expect(results.values.allSatisfy { $0.stderr == "(no pins)\n" }, "\(results)")
        results = try await CLITests.both(["listcerts", "--json"], stores: stores, status: 0)
        #expect(results.values.allSatisfy { $0.stderr.isEmpty && $0.stdout.contains(#""certs":[]"#) }, "\(results)")
    }
}
