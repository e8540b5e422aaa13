import Foundation
import TestSupport
import Testing

/// The text block of an MCP tool result is what an agent, or a person reading over its
/// shoulder, sees: certificate text escaped as the CLI escapes it.
@Suite struct MCPToolTextEscapingTests {
    /// A subject that spells `\u200B` beside a real U+200B and a CSI: in a tool's lines, the
    /// backslash is printed `\\` (after OpenSSL's own doubling), the real characters escaped.
    /// A result the tools show as JSON (exportPins) stays that JSON, escaped as JSON: the
    /// terminal's `\\` and `\x9B` are not JSON, and would change it or break it.
    @Test func toolTextIsEscapedAndJSONStaysJSON() async throws {
        let agent = try await MCPWireTests.Agent()
        let certificate = try await CertificateFactory.make(subject: #"/CN=spelled \\u200B real "# + "\u{200B}" + "/O=Kong\u{9B}2J")
        _ = try await agent.request("pinCert", ["host": "127.0.0.1:9", "pem": certificate.pem])

        let listed = try await agent.call("listCerts", ["host": "127.0.0.1_9"])
        let lines = try #require(((listed.object["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String, "\(listed)")
        #expect(lines == #"host=127.0.0.1_9;  subject=CN = spelled \\\\u200B real \u200B, O = Kong\x9B2J"#)

        let exported = try await agent.call("exportPins", [:])
        let result = try #require(exported.object["result"] as? [String: Any], "\(exported)")
        let text = try #require((result["content"] as? [[String: Any]])?.first?["text"] as? String, "\(exported)")
        #expect(!text.unicodeScalars.contains(where: CertificateTextEscapingTests.unsafe), "\(text)")
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        #expect(Wire.json(parsed) == Wire.json(result["structuredContent"] ?? NSNull()), "\(text)")
        #expect(try await agent.stop() == 0)
    }
}
