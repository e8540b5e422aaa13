import Foundation
import TestSupport
import Testing

/// python-lsp-jsonrpc 1.1.2 (the JSON-RPC layer of python-lsp-server), a real third-party
/// client, against the real tofu-rpc: cancelling with the `$/cancelRequest` notification works;
/// cancelling the request's future kills the library's own reader thread, as README's editor
/// section warns (Tests/Fixtures/lsp_jsonrpc_cancel.py says how).
@Suite struct PythonLSPJSONRPCTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/lsp_jsonrpc_cancel.py").path

    @Test func cancellingWithTheNotificationWorks() async throws {
        let peers = try TLSPeers()
        // Accepts TCP and never speaks: a verifyCert of it stays in flight until cancelled.
        let silent = try await peers.listen("silent")
        let store = newStorePath("tofu-pylsp-jsonrpc")
        let run = try await runProgram("/usr/bin/env", ["python3", Self.script, productPath("tofu-rpc"), store, silent.address], timeout: .seconds(120))
        try #require(run.status != 3, "python-lsp-jsonrpc 1.1.2 is not installed for python3: run make test, which installs it (\(run.stderr))")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\n\(run.stderr)")
        let notification = report["notification"] as? [String: Any] ?? [:]
        #expect(notification["code"] as? Int == -32800, "the notification way: \(report)")
        #expect(notification["answeredAfter"] as? Bool == true && notification["readerAlive"] as? Bool == true, "the notification way: \(report)")
        // The library's bug, which README documents: if a later release fixes it, README must change.
        let futureCancel = report["futureCancel"] as? [String: Any] ?? [:]
        #expect(futureCancel["readerAlive"] as? Bool == false && futureCancel["answeredAfter"] as? Bool == false, "future.cancel(): \(report)")
        #expect(run.stderr.contains("InvalidStateError"), "\(run.stderr)")
        let readme = try String(contentsOfFile: URL(fileURLWithPath: Self.script).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md").path, encoding: .utf8)
        #expect(readme.contains("python-lsp-jsonrpc 1.1.2: cancel with the notification"), "README's editor section must warn of future.cancel()")
    }
}
