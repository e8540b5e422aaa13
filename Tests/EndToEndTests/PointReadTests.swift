import Foundation
import TestSupport
import Testing

/// `listCerts {host}`, answered on the server's input thread from the store's reader when it is idle
/// (see Connection's immediate handlers): the same answers as the task path, fresh, and
/// never a deadlock with a client that reads late.
@Suite struct PointReadTests {
    @Test func aPointReadIsTheListingsEntryAndSeesOtherProcessesAtOnce() async throws {
        let store = newStorePath("tofu-point")
        let reader = try StoreServer(storePath: store)
        let writer = try StoreServer(storePath: store)
        let certificate = try await CertificateFactory.make()

        // First call of the reader: it opens (here, creates) the store on its input thread.
        let before = try await reader.result("listCerts", ["host": "192.0.2.20"])
        #expect((before["certs"] as? [Any])?.isEmpty == true)

        _ = try await writer.result("pinCert", ["host": "192.0.2.20", "pem": certificate.pem])
        _ = try await writer.result("pinCert", ["host": "192.0.2.21", "pem": certificate.pem])
        let point = try await reader.result("listCerts", ["host": "192.0.2.20:443"])
        let listing = try await reader.result("listCerts", [:])
        let pin = try #require((point["certs"] as? [[String: Any]])?.first)
        #expect(pin["sha256Fingerprint"] as? String == certificate.fingerprint)
        let listed = try #require((listing["certs"] as? [[String: Any]])?.first { $0["host"] as? String == "192.0.2.20_443" })
        #expect(NSDictionary(dictionary: pin).isEqual(to: listed), "point read \(pin) differs from the listing's \(listed)")
        #expect(point["nextCursor"] is NSNull)

        _ = try await writer.result("deleteCert", ["host": "192.0.2.20"])
        let after = try await reader.result("listCerts", ["host": "192.0.2.20"])
        #expect((after["certs"] as? [Any])?.isEmpty == true)
        #expect(try await reader.stop() == 0)
        #expect(try await writer.stop() == 0)
    }

    /// A cold `tofu listcerts --host` only reads: opening the whole store would re-create its WAL
    /// with a synced write (GRDB creates and drops a table), changing the file on every lookup.
    /// The same process then writes, which opens the rest of the store.
    @Test func aColdPointReadWritesNothingAndTheProcessCanStillWrite() async throws {
        let store = newStorePath("tofu-point")
        let certificate = try await CertificateFactory.make()
        let setup = try StoreServer(storePath: store)
        _ = try await setup.result("pinCert", ["host": "192.0.2.40", "pem": certificate.pem])
        #expect(try await setup.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: store + "-wal"), "the last process to close should have removed the WAL")
        let before = try #require(fileBytes(store))

        let server = try StoreServer(storePath: store)
        let point = try await server.result("listCerts", ["host": "192.0.2.40"])
        #expect((point["certs"] as? [[String: Any]])?.first?["sha256Fingerprint"] as? String == certificate.fingerprint)
        #expect(fileBytes(store) == before, "a point read changed the store file")
        let walSize = (try? FileManager.default.attributesOfItem(atPath: store + "-wal"))?[.size] as? Int ?? 0
        #expect(walSize == 0, "a point read wrote \(walSize) bytes of WAL")

        _ = try await server.result("pinCert", ["host": "192.0.2.41", "pem": certificate.pem])
        let written = try await server.result("listCerts", ["host": "192.0.2.41"])
        #expect((written["certs"] as? [Any])?.count == 1)
        #expect(try await server.stop() == 0)
        #expect(fileBytes(store) != before)
    }

    @Test func aPointReadOfAStoreThatIsNotOursIsATypedErrorAndTouchesNothing() async throws {
        let store = newStorePath("tofu-point")
        let garbage = Data("this is not an SQLite database, and tofu must not touch it\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: store))
        let server = try StoreServer(storePath: store)
        let answer = try await server.call("listCerts", ["host": "192.0.2.20"])
        #expect(answer.errorCode == -32005)
        #expect(answer.errorKind == "storeUnavailable")
        let bad = try await server.call("listCerts", ["host": "no host!"])
        #expect(bad.errorCode == -32602)
        #expect(bad.errorData?["field"] as? String == "host")
        #expect(try await server.stop() == 0)
        #expect(fileBytes(store) == garbage)
    }

    /// A client that writes every request before it reads a byte: answers fill the output
    /// pipe long before the input is read, so a server whose input thread blocked on writing
    /// would stop reading and both would wait forever.
    @Test func aClientThatWritesEverythingBeforeReadingGetsEveryAnswer() async throws {
        let store = newStorePath("tofu-point")
        let setup = try StoreServer(storePath: store)
        let certificate = try await CertificateFactory.make()
        _ = try await setup.result("pinCert", ["host": "192.0.2.30", "pem": certificate.pem])
        #expect(try await setup.stop() == 0)

        let script = """
            import subprocess, sys
            server, store, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
            line = '{"jsonrpc":"2.0","id":%d,"method":"listCerts","params":{"host":"192.0.2.30"}}\\n'
            data = "".join(line % i for i in range(count)).encode()
            p = subprocess.Popen([server, "--store", store], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            p.stdin.write(data)
            p.stdin.close()
            out = p.stdout.read()
            print(out.count(b'"sha256Fingerprint"'), out.count(b"\\n"), p.wait())
            """
        // 400 KB of requests, 3.5 MB of answers: each over a pipe's 64 KiB many times.
        let result = try await runProgram("python3", ["-c", script, productPath("tofu-rpc"), store, "5000"], timeout: .seconds(300))
        #expect(result.stdout == "5000 5000 0\n", "\(result.stdout) \(result.stderr)")
    }
}
