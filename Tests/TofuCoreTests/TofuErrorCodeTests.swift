import Foundation
import Testing
import TofuCore

/// tofu's own error codes: the numbers on the wire, and clients/tofu.sh, which cannot import
/// them, naming exactly these.
@Suite struct TofuErrorCodeTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("clients/tofu.sh").path

    /// Callers branch on these numbers (README, protocol document): they never change.
    @Test func theCodesOnTheWire() {
        #expect(TofuErrorCode.allCases.map(\.rawValue) == [-32001, -32002, -32003, -32004, -32005, -32006])
    }

    /// tofu.sh's `exit_status_for` names every code of TofuErrorCode and no other of tofu's own
    /// (besides the JSON-RPC usage errors), each with an exit status of its own, never the
    /// EX_FAILURE of an unknown code.
    @Test func tofuShNamesEveryCode() throws {
        let text = try String(contentsOfFile: Self.script, encoding: .utf8)
        let function = try #require(text.firstRange(of: /\nexit_status_for\(\) \{\n(?:.*\n)*?\}\n/), "no exit_status_for in tofu.sh")
        // `    -32001) echo "$EX_NOT_FOUND" ;;`: each code with the status it is given.
        var statuses: [Int: [String]] = [:]
        for line in text[function].split(separator: "\n") {
            guard let arm = line.wholeMatch(of: /\s*([-0-9|]+)\)\s*echo\s+"\$(EX_[A-Z_]+)"\s*;;\s*/) else { continue }
            for code in arm.output.1.split(separator: "|") { statuses[Int(code) ?? 0, default: []].append(String(arm.output.2)) }
        }
        let usage: Set = [-32600, -32601, -32602]
        #expect(Set(statuses.keys).subtracting(usage) == Set(TofuErrorCode.allCases.map(\.rawValue)), "\(statuses)")
        let own = TofuErrorCode.allCases.map { statuses[$0.rawValue] ?? [] }
        #expect(own.allSatisfy { $0.count == 1 && $0 != ["EX_FAILURE"] && $0 != statuses[-32602] }, "\(statuses)")
        #expect(Set(own).count == own.count, "two codes share a status: \(statuses)")
    }
}
