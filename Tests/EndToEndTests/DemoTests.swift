import Foundation
import TestSupport
import Testing

/// `make demo` walks the outage end to end and leaves nothing behind.
@Suite struct DemoTests {
    @Test func theDemoRunsAndCleansUp() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binDir = URL(fileURLWithPath: productPath("tofu")).deletingLastPathComponent().path
        let result = try await runProgram("/bin/bash", [root.appendingPathComponent("scripts/demo.sh").path, binDir], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        for step in ["pinned host=", "presents a different certificate", "deleted host=", "status=match", "replaced host=", "event=replaced"] {
            #expect(result.stdout.contains(step) || result.stderr.contains(step), "missing step: \(step)")
        }
        // Its output is not a terminal here (a log, a pipe): plain text, not one escape code.
        #expect(!result.stdout.contains("\u{1B}") && !result.stderr.contains("\u{1B}"), "escape codes in a piped demo")
        // The list after the stale pin is deleted says it is empty, beside the list (stderr).
        #expect(result.stderr.contains("(no pins)\n"), "\(result.stderr)")
        let store = result.stdout.firstMatch(of: /the store is (\/tmp\/tofu-demo\.[A-Za-z0-9]+)\//).map { String($0.output.1) }
        let directory = try #require(store)
        #expect(!FileManager.default.fileExists(atPath: directory), "the demo left \(directory) behind")
    }
}
