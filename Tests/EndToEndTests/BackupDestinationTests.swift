import Foundation
import TestSupport
import Testing

/// Where backupStore may write: what a peer (an agent, a script) can name as `path`.
@Suite struct BackupDestinationTests {
    /// A copy named after the live store's rollback journal (`<store>-journal`) was written and
    /// reported, then deleted by SQLite at the store's next open (a hot-journal check): a
    /// backup that vanishes with no word. A name ending in -journal, -wal or -shm, SQLite's side
    /// files, is refused (-32602, `path`: a backup's name ends in .sqlite, .sqlite3 or .db), and
    /// nothing is written.
    @Test(arguments: ["-journal", "-wal", "-shm"])
    func aNameSQLiteTakesForASideFileIsRefused(suffix: String) async throws {
        let store = newStorePath()
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: store)
        _ = try await server.result("pinCert", ["host": "127.0.0.1:9", "pem": certificate.pem])
        let directory = (store as NSString).deletingLastPathComponent
        let others = "\(directory)/other.sqlite"
        for path in [store + suffix, others + suffix] where !FileManager.default.fileExists(atPath: path) {
            let answer = try await server.call("backupStore", ["path": path])
            #expect(answer.errorCode == -32602 && answer.errorData?["field"] as? String == "path", "\(path): \(answer)")
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written")
        }
        // A usual name is still written.
        let copy = try await server.result("backupStore", ["path": "\(directory)/copy.sqlite"])
        #expect(copy["pins"] as? Int == 1, "\(copy)")
        #expect(try await server.stop() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".tofu-backup") }.isEmpty)
    }

    /// Two tool calls of an agent (or two lines of any peer) made an SSH key log in as the user
    /// running tofu-rpc: importPins took an event whose detail is a line `ssh-ed25519 AAAA…`,
    /// and backupStore wrote the store, that line in it, as ~/.ssh/authorized_keys2 (a name
    /// sshd reads by default, often absent; 0600 as sshd wants; sshd skips the lines that are
    /// not keys). A backup's name must end in .sqlite, .sqlite3 or .db: no such file is written.
    @Test func aBackupIsNeverWrittenUnderANameAnotherProgramReads() async throws {
        let agent = try await MCPWireTests.Agent()
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqQ2pkAG0hY8GNfHFjXTq48UgrWpHZl5dwW6pgxZ+HF planted"
        let event: [String: Any] = [
            "type": "event", "host": "127.0.0.1_9", "at": "2026-01-01T00:00:00Z", "event": "pinned",
            "sha256Fingerprint": Array(repeating: "AB", count: 32).joined(separator: ":"), "detail": "\n\(key)\n",
        ]
        let imported = try await agent.call("importPins", ["records": [event]])
        #expect((imported.object["result"] as? [String: Any])?["isError"] as? Bool == false, "\(imported)")
        let home = temporaryDirectory("tofu-home")
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for path in [home + "/.ssh/authorized_keys2", home + "/.bash_profile", home + "/.forward", home + "/.sqlite"] {
            let answer = try await agent.call("backupStore", ["path": path])
            let result = answer.object["result"] as? [String: Any]
            #expect(result?["isError"] as? Bool == true, "\(path): \(answer)")
            let structured = result?["structuredContent"] as? [String: Any]
            #expect(structured?["code"] as? Int == -32602 && (structured?["data"] as? [String: Any])?["field"] as? String == "path", "\(answer)")
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written")
        }
        let kept = try await agent.call("backupStore", ["path": home + "/store-backup.sqlite3"])
        #expect((kept.object["result"] as? [String: Any])?["isError"] as? Bool == false, "\(kept)")
        #expect(try await agent.stop() == 0)
    }
}
