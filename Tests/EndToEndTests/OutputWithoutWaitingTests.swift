import Foundation
import TestSupport
import Testing

/// A small answer is written by the thread that has it with one write that fails rather than
/// block (`FileIO.writeWithoutWaiting`, RWF_NOWAIT): no poll before each, and never a blocked
/// input thread. Whatever the output is (a pipe, a socket that takes part of a write, a
/// regular file), every answer arrives whole, once, in order.
@Suite struct OutputWithoutWaitingTests {
    /// python3 drives the real tofu-rpc: `count` lookups of a pinned host, each sent once the
    /// answer to the one before has come (or all at once), over the output `kind` names.
    static let script = #"""
        import json, os, socket, subprocess, sys, tempfile, threading, time
        server, store, kind, count, trace = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        command = [server, "--store", store]
        if trace != "-":
            command = ["strace", "-f", "-qq", "-e", "trace=poll,pwritev2", "-o", trace] + command
        def lookup(i):
            return ('{"jsonrpc":"2.0","id":%d,"method":"listCerts","params":{"host":"192.0.2.60"}}\n' % i).encode()
        ids = []
        if kind == "pipe":
            p = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for i in range(count):
                p.stdin.write(lookup(i)); p.stdin.flush()
                ids.append(json.loads(p.stdout.readline())["id"])
            p.stdin.close()
        elif kind == "socket":
            # A socket with the smallest send buffer, read slowly, and requests sent one by one:
            # each answer is written on its own, into a socket that often has room for part of it.
            ours, theirs = socket.socketpair()
            theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
            p = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=theirs.fileno())
            theirs.close()
            def send():
                for i in range(count):
                    p.stdin.write(lookup(i)); p.stdin.flush(); time.sleep(0.0002)
                p.stdin.close()
            threading.Thread(target=send, daemon=True).start()
            data = b""
            while True:
                chunk = ours.recv(700)
                if not chunk:
                    break
                data += chunk
                time.sleep(0.0003)
            ids = [json.loads(line)["id"] for line in data.splitlines()]
        else:
            with tempfile.TemporaryFile() as out:
                p = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out)
                p.stdin.write(b"".join(lookup(i) for i in range(count))); p.stdin.close()
                p.wait(); out.seek(0)
                lines = out.read().splitlines()
                ids = [json.loads(line)["id"] for line in lines if b'"sha256Fingerprint"' in line]
        print(ids == list(range(count)), len(ids), p.wait())
        """#

    private func run(_ kind: String, count: Int, trace: String = "-") async throws -> String {
        let store = newStorePath("tofu-nowait")
        let certificate = try await CertificateFactory.make()
        let setup = try StoreServer(storePath: store)
        _ = try await setup.result("pinCert", ["host": "192.0.2.60", "pem": certificate.pem])
        #expect(try await setup.stop() == 0)
        let result = try await runProgram("python3", ["-c", Self.script, productPath("tofu-rpc"), store, kind, String(count), trace], timeout: .seconds(240))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        return result.stdout
    }

    @Test func aClientWaitingForEachAnswerGetsItWithoutAPollBeforeEachWrite() async throws {
        let trace = newStorePath("tofu-nowait-trace")
        #expect(try await run("pipe", count: 300, trace: trace) == "True 300 0\n")
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let polls = calls.filter { $0.contains("poll(") }.count
        let writes = calls.filter { $0.contains("pwritev2(") && !$0.contains("EAGAIN") }.count
        #expect(writes >= 300, "\(writes) answers written without waiting, of 300")
        // The output thread's own polls, and one after each write the pipe refused, may remain.
        #expect(polls < 30, "\(polls) polls for 300 answers")
    }

    @Test func aSocketThatTakesPartOfAWriteGetsEveryAnswerWholeOnceInOrder() async throws {
        #expect(try await run("socket", count: 3000) == "True 3000 0\n")
    }

    @Test func aRegularFileGetsEveryAnswerWholeOnceInOrder() async throws {
        #expect(try await run("file", count: 3000) == "True 3000 0\n")
    }
}
