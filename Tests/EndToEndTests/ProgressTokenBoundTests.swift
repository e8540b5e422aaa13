import Foundation
import TestSupport
import Testing

/// A progress token is repeated in every notification of verifyCert {all}: a peer that gives a
/// long one and does not read its output multiplied it by the number of pins in tofu-rpc's
/// memory (found by review: a 4 MB token over 100 pins held 400 MB, 15 MB over 1,000 pins would
/// be 15 GB). A string token is at most 256 bytes, tofu's own and MCP's alike.
@Suite struct ProgressTokenBoundTests {
    @Test func aLongProgressTokenIsRefused() async throws {
        let agent = try await MCPWireTests.Agent()
        let certificate = try await CertificateFactory.make()
        let hosts = Set((0..<2).map { _ in TLSPeers.closedPort() }).map { "127.0.0.1:\($0)" }
        for host in hosts { _ = try await agent.request("pinCert", ["host": host, "pem": certificate.pem]) }
        let long = String(repeating: "t", count: 257)

        let refused = try await agent.request("verifyCert", ["all": true, "timeoutMs": 2000, "progressToken": long])
        #expect(refused.errorCode == -32602 && refused.errorData?["field"] as? String == "progressToken", "\(refused.text.prefix(300))")
        let tool = try await agent.call("verifyCert", ["all": true, "timeoutMs": 2000], meta: ["progressToken": long])
        #expect(tool.errorCode == -32602 && tool.errorData?["field"] as? String == "progressToken", "\(tool.text.prefix(300))")

        // At the bound, a token is taken and comes back in each notification.
        let longest = String(repeating: "t", count: 256)
        let before = agent.messages.count
        let answer = try await agent.request("verifyCert", ["all": true, "timeoutMs": 2000, "progressToken": longest])
        #expect(((answer.object["result"] as? [String: Any])?["results"] as? [Any])?.count == hosts.count, "\(answer.text.prefix(300))")
        let progress = agent.messages.dropFirst(before).dropLast().map(\.object)
        #expect(progress.count == hosts.count && progress.allSatisfy { ($0["params"] as? [String: Any])?["token"] as? String == longest })
        #expect(try await agent.stop() == 0)
    }
}
