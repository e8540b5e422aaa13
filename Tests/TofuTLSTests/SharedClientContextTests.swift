import Synchronization
import TestSupport
import Testing
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

@testable import TofuTLS

/// Every probe of the process is made from one OpenSSL client context (made once, not at each
/// connection), and what each connection learns through the context's callbacks stays its own:
/// a peer that asks for a client certificate is told apart from one that does not, whichever
/// connected first and however many share the context.
@Suite struct SharedClientContextTests {
    struct Seen: Sendable {
        let context: Int
        let fingerprint: String
    }

    /// A probe of `port`; with `together`, it keeps its connection open until that many probes
    /// are connected (or 10 s pass), so every context in use is alive at once.
    static func probe(_ port: Int, together: Arrivals? = nil) async -> Result<Seen, ProbeFailure> {
        guard let host = try? HostKey(host: "127.0.0.1", port: port) else { return .failure(ProbeFailure(.protocol, "no host key")) }
        return await TLSProbe.session(host, timeoutMilliseconds: 10_000 * TestTime.scale) { connection in
            guard let presented = connection.presented else { return .failure(ProbeFailure(.protocol, "no certificate")) }
            together?.arriveAndWait()
            return .success(Seen(context: connection.contextAddress, fingerprint: presented.leaf.sha256Fingerprint.description))
        }
    }

    final class Arrivals: Sendable {
        let expected: Int
        let count = Atomic(0)
        init(_ expected: Int) { self.expected = expected }

        func arriveAndWait() {
            count.add(1, ordering: .relaxed)
            let deadline = ContinuousClock.now + TestTime.bound(.seconds(10))
            while count.load(ordering: .relaxed) < expected && ContinuousClock.now < deadline { usleep(1_000) }
        }
    }

    @Test func probesShareOneContextAndKeepTheirOwnSignals() async throws {
        let peers = try TLSPeers()
        defer { peers.stop() }
        let certificate = try await CertificateFactory.make()
        let plain = try await peers.listen("tls", certificate: certificate, count: 3)
        // TLS 1.2: only the context's callback (a request for a client certificate was seen) names the refusal.
        let asking = try await peers.listen("clientcert", certificate: certificate, options: ["tls": "1.2", "require": true])
        var contexts: Set<Int> = []
        // Three connections open at once, each with the context it was made from.
        let arrivals = Arrivals(plain.count)
        let seen = await withTaskGroup(of: Result<Seen, ProbeFailure>.self) { group in
            for peer in plain { group.addTask { await Self.probe(peer.port, together: arrivals) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for result in seen {
            let one = try result.get()
            #expect(one.fingerprint == certificate.fingerprint)
            contexts.insert(one.context)
        }
        // A peer that demands a client certificate is named as such, through the shared context's callback.
        let refused = await Self.probe(asking.port)
        guard case .failure(let failure) = refused else {
            Issue.record("a peer requiring a client certificate was probed without one: \(refused)")
            return
        }
        #expect(failure.detail.contains("demands a TLS client certificate"), "\(failure)")
        // And the next plain probe is not taken for one.
        contexts.insert(try await Self.probe(plain[0].port).get().context)
        #expect(contexts.count == 1 && contexts.first != 0, "\(contexts)")
    }
}
