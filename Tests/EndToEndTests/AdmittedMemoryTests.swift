import Foundation
import TestSupport
import Testing

/// What the calls tofu-rpc has read and not yet answered hold in memory is bounded, not only how
/// many run: `[0,0,…]` params are two bytes a value and about 25 bytes a value once parsed, so
/// `--max-in-flight` calls of `--max-message-bytes` each, running behind one write that waits for
/// another process's lock, held 12 times the bytes read (64 lines of 16 MiB: past 12 GB). Reading
/// stops while they are past the bound, and every call is still answered once the lock goes.
@Suite struct AdmittedMemoryTests {
    /// A field of /proc/PID/status, in KiB.
    static func status(_ pid: Int32, _ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    }

    /// Waits until the resident set of `pid` has not moved for `quiet` (it reads and parses no
    /// more: blocked, or done); false if it never stopped. (Its CPU time never stops: SQLite's busy
    /// handler retries the lock.)
    static func settles(_ pid: Int32, quiet: Duration = .seconds(2), timeout: Duration) async throws -> Bool {
        try await TestSupport.settles(quiet: quiet, timeout: timeout) { status(pid, "VmRSS") }
    }

    @Test func bigCallsWaitingBehindALockedWriteDoNotHoldTheirParsedFormsAllAtOnce() async throws {
        let certificate = try await CertificateFactory.make()
        let store = newStorePath("tofu-admitted")
        let messageBytes = 500_000
        let server = try StoreServer(storePath: store, arguments: ["--max-message-bytes", String(messageBytes), "--store-timeout-ms", "60000"])
        let pid = server.process.process.processIdentifier
        _ = try await server.result("pinCert", ["host": "a.example", "pem": certificate.pem])
        let holder = try await WriteLockHolder(store)
        server.process.send(line: Wire.request("pinCert", id: "blocked", params: ["host": "b.example", "pem": certificate.pem]))
        // The write has reached the lane, and waits for the lock; every call after it waits for it.
        try await Task.sleep(for: .milliseconds(300))
        let zeros = "[" + Array(repeating: "0", count: (messageBytes - 100) / 2).joined(separator: ",") + "]"
        let calls = 63
        for index in 0..<calls {
            server.process.send(line: #"{"jsonrpc":"2.0","id":\#(index),"method":"deleteCert","params":\#(zeros)}"#)
        }
        #expect(try await Self.settles(pid, timeout: TestTime.bound(.seconds(50))), "tofu-rpc never settled")
        let peakKiB = Self.status(pid, "VmHWM")
        holder.end(with: "ROLLBACK")
        try await holder.waitForExit()

        let answers = try await server.process.reader.next(calls + 1, timeout: TestTime.bound(.seconds(120)))
        let byID = Dictionary(answers.map { ("\($0.object["id"] ?? "?")", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byID["blocked"]?.object["result"] != nil, "\(String(describing: byID["blocked"]))")
        for index in 0..<calls {
            let code = (byID["\(index)"]?.object["error"] as? [String: Any])?["code"] as? Int
            #expect(code == -32602, "call \(index): \(String(describing: byID["\(index)"]?.text.prefix(200)))")
        }
        // Unbounded, the 63 parsed calls held about 63 x 6 MB (debug build); bounded, about one at
        // a time is held beside the process's own 40 MB or so.
        #expect(peakKiB < 200 << 10, "peak resident set \(peakKiB >> 10) MiB")
        #expect(try await server.stop() == 0)
    }
}
