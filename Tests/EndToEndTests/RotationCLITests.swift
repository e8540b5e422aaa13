import Foundation
import TestSupport
import Testing

/// The planned rotation with both clients, in the same words: stage the next certificate, see
/// it in `listcerts -v`, let the controller rotate, and the next verifycert just works.
@Suite struct RotationCLITests {
    @Test func aPlannedRotationWithBothClients() async throws {
        let peers = try TLSPeers()
        let current = try await CertificateFactory.make()
        let next = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: current)
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, newStorePath("tofu-cli-rotation")) })
        let key = peer.key
        let directory = temporaryDirectory("tofu-cli-pem")
        let currentPEM = directory + "/current.pem", nextPEM = directory + "/next.pem"
        try current.pem.write(toFile: currentPEM, atomically: true, encoding: .utf8)
        try next.pem.write(toFile: nextPEM, atomically: true, encoding: .utf8)
        let (currentSerial, nextSerial) = (try await current.serial(), try await next.serial())

        var results = try await CLITests.both(["pin-cert", key, "--pem", currentPEM], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "pinned host=\(key);  subject=CN = kong;  sha256=\(current.fingerprint)\n")
        results = try await CLITests.both(["pin-cert", key, "--pem", nextPEM, "--next"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "staged host=\(key);  subject=CN = kong;  sha256=\(next.fingerprint)\n")
        results = try await CLITests.both(["listcerts", "-v"], stores: stores, status: 0)
        let verbose = results[.swift]?.stdout ?? ""
        #expect(verbose.contains("serial=\(currentSerial);  sha256=\(current.fingerprint);  notAfter="), "\(verbose)")
        #expect(verbose.contains(";  policy=certificate;  next=\(next.fingerprint);  nextSerial=\(nextSerial);  nextNotAfter="), "\(verbose)")
        results = try await CLITests.both(["listcerts", "--staged"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  subject=CN = kong\n")

        // Until the controller rotates, the current certificate matches.
        results = try await CLITests.both(["verifycert", key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  status=match;  sha256=\(current.fingerprint)\n")
        try await peers.present(next, on: peer)
        results = try await CLITests.both(["verifycert", key], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  status=match;  sha256=\(next.fingerprint);  event=rotated;  previous=\(current.fingerprint)\n")
        results = try await CLITests.both(["history", key], stores: stores, status: 0)
        let events = (results[.swift]?.stdout ?? "").split(separator: "\n").map { $0.split(separator: ";").dropFirst().first ?? "" }
        #expect(events == ["  event=pinned", "  event=staged", "  event=rotated"], "\(results[.swift]?.stdout ?? "")")

        // Policy, and the staged certificate removed alone.
        results = try await CLITests.both(["set-policy", key, "public-key"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=\(key);  subject=CN = kong;  policy=publicKey\n")
        try await CLITests.both(["set-policy", key, "spki"], stores: stores, status: 2)
        let third = try await CertificateFactory.make()
        let thirdPEM = directory + "/third.pem"
        try third.pem.write(toFile: thirdPEM, atomically: true, encoding: .utf8)
        try await CLITests.both(["pin-cert", key, "--pem", thirdPEM, "--next", "--policy", "certificate"], stores: stores, status: 2)
        try await CLITests.both(["pin-cert", key, "--pem", thirdPEM, "--next"], stores: stores, status: 0)
        results = try await CLITests.both(["deletecert", "host", key, "--next", "--expected-fingerprint", next.fingerprint], stores: stores, status: 3)
        results = try await CLITests.both(["deletecert", "host", key, "--next"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "deleted next host=\(key);  subject=CN = kong;  sha256=\(third.fingerprint)\n")
        try await CLITests.both(["deletecert", "host", key, "--next"], stores: stores, status: 4)

        // A certificate that is neither: the hint names the staged one too.
        try await CLITests.both(["pin-cert", key, "--pem", thirdPEM, "--next"], stores: stores, status: 0)
        let intruder = try await CertificateFactory.make()
        try await peers.present(intruder, on: peer)
        results = try await CLITests.both(["verifycert", key], stores: stores, status: 3)
        for client in CLITests.Client.allCases {
            let stderr = results[client]?.stderr ?? ""
            #expect(stderr.contains("It is not the staged next certificate \(third.fingerprint) (serial "), "\(client): \(stderr)")
        }
        peers.stop()
    }
}
