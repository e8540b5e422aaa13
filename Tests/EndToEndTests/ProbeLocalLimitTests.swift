import Foundation
import TestSupport
import Testing

/// A probe that cannot open a socket because tofu-rpc has no file descriptor left answers
/// `unreachable` with reason `localLimit` and says what to do; nothing about the host is
/// recorded, and once descriptors are free again the same call works.
@Suite struct ProbeLocalLimitTests {
    /// The lowest descriptor number `pid` does not hold: a soft limit of exactly that makes its
    /// next socket fail with EMFILE.
    static func lowestFreeDescriptor(_ pid: Int32) throws -> Int {
        let held = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int.init))
        return (0...).first { !held.contains($0) } ?? 0
    }

    static func setSoftFileLimit(_ pid: Int32, _ limit: Int) async throws {
        let result = try await runProgram("/usr/bin/prlimit", ["--pid", String(pid), "--nofile=\(limit):"])
        #expect(result.status == 0, "prlimit: \(result.stderr)")
    }

    @Test func aProbeWithoutADescriptorSaysSoAndTheNextOneWorks() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let peer = try await peers.listen("tls", certificate: certificate)
        let server = try StoreServer(storePath: temporaryDirectory("tofu-locallimit") + "/store.sqlite")
        let pid = server.process.process.processIdentifier
        // Everything tofu-rpc opens once (the store, the probe threads) is open after a first call.
        _ = try await server.result("pinCert", ["host": peer.key, "pem": certificate.pem])
        let matched = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 5000])
        #expect(matched["status"] as? String == "match", "\(matched)")
        let history = try await server.result("certHistory")["events"] as? [Any] ?? []
        let connections = try await peers.connections(peer)

        try await Self.setSoftFileLimit(pid, try Self.lowestFreeDescriptor(pid))
        let starved = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 5000])
        #expect(starved["status"] as? String == "unreachable", "\(starved)")
        #expect(starved["reason"] as? String == "localLimit", "\(starved)")
        let detail = starved["detail"] as? String ?? ""
        #expect(detail.contains("tofu-rpc has run out of file descriptors"), "\(detail)")
        #expect(detail.contains("raise the limit"), "\(detail)")
        #expect(try await peers.connections(peer) == connections, "a connection was made after all")

        try await Self.setSoftFileLimit(pid, 1024)
        let after = try await server.result("verifyCert", ["host": peer.key, "timeoutMs": 5000])
        #expect(after["status"] as? String == "match", "\(after)")
        // Neither the refusal nor the starved probe left a trace about the host (and a match
        // after a match is no news in the history).
        let events = try await server.result("certHistory")["events"] as? [[String: Any]] ?? []
        #expect(events.count == history.count, "\(events)")
        #expect(try await server.stop() == 0)
        peers.stop()
    }
}
