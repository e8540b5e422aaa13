import Foundation
import TestSupport
import Testing

/// tofu-rpc started with stdout and stderr closed (`>&- 2>&-`, a careless service unit): the
/// next files it opened took their numbers, and a store file on descriptor 1 would have had
/// answers written over its pages. Both are opened on /dev/null before anything runs.
@Suite struct StandardDescriptorsTests {
    static let script = #"""
        import os, sqlite3, subprocess, sys, time
        server, store, pem = sys.argv[1], sys.argv[2], sys.argv[3]
        p = subprocess.Popen(["bash", "-c", 'exec "$0" --store "$1" 1>&- 2>&-', server, store], stdin=subprocess.PIPE)
        request = '{"jsonrpc":"2.0","id":1,"method":"pinCert","params":{"host":"192.0.2.70","pem":%s}}\n' % __import__("json").dumps(pem)
        p.stdin.write(request.encode()); p.stdin.flush()
        deadline = time.time() + 60
        while time.time() < deadline:
            db = sqlite3.connect(store, timeout=10)
            try:
                if db.execute("SELECT count(*) FROM pin").fetchone()[0] == 1:
                    break
            except sqlite3.OperationalError:
                pass
            finally:
                db.close()
            time.sleep(0.05)
        targets = [os.readlink("/proc/%d/fd/%d" % (p.pid, fd)) for fd in (1, 2)]
        p.stdin.close()
        status = p.wait()
        db = sqlite3.connect(store)
        print(targets, db.execute("PRAGMA integrity_check").fetchone()[0], db.execute("SELECT count(*) FROM pin").fetchone()[0], status)
        """#

    @Test func closedStdoutAndStderrAreDevNullSoNoFileTakesTheirPlace() async throws {
        let store = newStorePath("tofu-closed-stdio")
        let certificate = try await CertificateFactory.make()
        let result = try await runProgram("python3", ["-c", Self.script, productPath("tofu-rpc"), store, certificate.pem], timeout: .seconds(120))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(result.stdout == "['/dev/null', '/dev/null'] ok 1 0\n")
    }
}
