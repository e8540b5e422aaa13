import Foundation
import TestSupport
import Testing

/// Where backupStore may write: what a peer (an agent, a script) can name as `path`.
@Suite struct BackupDestinationTests {
    /// A copy named after the live store's rollback journal (`<store>-journal`) was written and
    /// reported, then deleted by SQLite at the store's next open (a hot-journal check): a
    /// backup that vanishes with no word. A name ending in -journal, -wal or -shm, SQLite's side
    /// files, is refused (-32602, `path`), and nothing is written.
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
}
