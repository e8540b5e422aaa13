import Foundation
import TestSupport
import Testing

/// The point reads of one read of a client's input share one SQLite snapshot (one read lock of
/// the file instead of one per lookup: `SQLiteBackend.read(sharingSnapshotOf:_:)`). That
/// snapshot must end before tofu-rpc waits: for more input, or for a client that does not read
/// its answers. A snapshot kept open would hide other processes' commits from the next lookup
/// and keep every checkpoint from emptying the WAL, which then grows without bound.
@Suite struct SharedSnapshotTests {
    /// Run by python3 against the real tofu-rpc: pipelined lookups, then another process's
    /// commit and a checkpoint that must find no reader holding the WAL (`wal_checkpoint`'s
    /// first column is 1 when one does), then a lookup that must see the new pin.
    static let script = #"""
        import json, sqlite3, subprocess, sys, threading, time
        server, store, pem, mode, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

        def lookup(i, host):
            return '{"jsonrpc":"2.0","id":%d,"method":"listCerts","params":{"host":"%s"}}\n' % (i, host)

        def commit_elsewhere(host):
            request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "pinCert", "params": {"host": host, "pem": pem}}) + "\n"
            out = subprocess.run([server, "--store", store], input=request.encode(), capture_output=True, check=True).stdout
            assert b'"pinStatus":"pinned"' in out, out

        def checkpoint():
            db = sqlite3.connect(store, timeout=0)
            busy, log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            db.close()
            return busy

        p = subprocess.Popen([server, "--store", store], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        data = "".join(lookup(i, "192.0.2.50" if i % 2 else "192.0.2.51") for i in range(count)).encode()
        if mode == "idle":
            # One write of every lookup, every answer read: tofu-rpc then waits for input.
            p.stdin.write(data); p.stdin.flush()
            answers = [p.stdout.readline() for _ in range(count)]
        else:
            # A client that writes and never reads: tofu-rpc stops reading once its output is
            # full, and waits for room with lookups still to answer.
            sent = [0]
            def send():
                for start in range(0, len(data), 4096):
                    p.stdin.write(data[start:start + 4096]); p.stdin.flush(); sent[0] = start
            writer = threading.Thread(target=send, daemon=True); writer.start()
            # Waiting for room: neither reading more nor using CPU, for a second.
            def cpu():
                fields = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])
            last, still = None, 0
            while still < 5:
                time.sleep(0.2)
                now = (sent[0], cpu())
                still, last = (still + 1, last) if now == last else (0, now)
            assert writer.is_alive(), "tofu-rpc read every request without waiting for room: send more"
        commit_elsewhere("192.0.2.52")
        busy = checkpoint()
        if mode != "idle":
            answers = [p.stdout.readline() for _ in range(count)]
            writer.join()
        pinned = sum(b'"sha256Fingerprint"' in answer for answer in answers)
        p.stdin.write(lookup(count, "192.0.2.52").encode()); p.stdin.flush()
        fresh = b'"sha256Fingerprint"' in p.stdout.readline()
        p.stdin.close()
        print(busy, pinned, fresh, p.wait())
        """#

    private func run(_ mode: String, lookups: Int) async throws -> String {
        let store = newStorePath("tofu-shared-snapshot")
        let certificate = try await CertificateFactory.make()
        let setup = try StoreServer(storePath: store)
        _ = try await setup.result("pinCert", ["host": "192.0.2.50", "pem": certificate.pem])
        _ = try await setup.result("pinCert", ["host": "192.0.2.51", "pem": certificate.pem])
        #expect(try await setup.stop() == 0)
        let result = try await runProgram(
            "python3", ["-c", Self.script, productPath("tofu-rpc"), store, certificate.pem, mode, String(lookups)], timeout: .seconds(240))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        return result.stdout
    }

    /// Printed: whether a checkpoint found a reader holding the WAL (0: none), how many answers
    /// held a pin, whether a lookup after the other process's commit saw it, the exit status.
    @Test func aSnapshotSharedByPipelinedLookupsEndsBeforeWaitingForInput() async throws {
        let printed = try await run("idle", lookups: 200)
        #expect(printed == "0 200 True 0\n")
    }

    @Test func aSnapshotSharedByPipelinedLookupsEndsBeforeWaitingForAClientToRead() async throws {
        // 30,000 answers of about 700 bytes: far over the output's bound and the pipe.
        let printed = try await run("stalled", lookups: 30000)
        #expect(printed == "0 30000 True 0\n")
    }
}
