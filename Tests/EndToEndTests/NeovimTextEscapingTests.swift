import Foundation
import TestSupport
import Testing

/// The Neovim plugin shows certificate text escaped as both CLIs print it (clients/nvim's
/// text.lua), a backslash as `\\` included.
@Suite struct NeovimTextEscapingTests {
    /// A subject that spells `\u200B` and one that holds a real U+200B: OpenSSL's one-line form
    /// doubles the first one's backslash and the plugin doubles both, so the two lines differ,
    /// as `tofu listcerts` shows them.
    @Test func aSubjectThatSpellsAnEscapeIsNotShownAsOne() async throws {
        let store = newStorePath()
        let server = try StoreServer(storePath: store)
        let spelled = try await CertificateFactory.make(subject: #"/CN=ko\\u200Bng"#)
        let real = try await CertificateFactory.make(subject: "/CN=ko\u{200B}ng")
        // Keys on loopback; pinCert never connects, and no step of this test dials them.
        _ = try await server.result("pinCert", ["host": "127.0.0.1_8443", "pem": spelled.pem])
        _ = try await server.result("pinCert", ["host": "localhost_9443", "pem": real.pem])

        let nvim = try NeovimSession(script: "escape_test.lua", params: ["rpc": NeovimPluginTests.rpc, "store": store])
        let listed = try await nvim.step("listed")
        let lines = [#"host=127.0.0.1_8443;  subject=CN = ko\\\\u200Bng"#, #"host=localhost_9443;  subject=CN = ko\u200Bng"#]
        #expect(NeovimPluginTests.strings(listed["lines"]) == lines, "\(listed)")
        try nvim.go()
        #expect(try await nvim.finish() == 0, "\(nvim.transcript)")

        let cli = try await CLITests.run(.swift, ["listcerts"], store: store)
        #expect(cli.stdout == lines.joined(separator: "\n") + "\n", "\(cli)")
        _ = try await server.stop()
    }
}
