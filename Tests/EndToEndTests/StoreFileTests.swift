import Foundation
import TestSupport
import Testing

/// The store file: shared by processes, durable, created safely, refused when it is not usable.
@Suite struct StoreFileTests {
    @Test func aPinSurvivesARestart() async throws {
        let store = newStorePath(inSubdirectory: true)
        let certificate = try await CertificateFactory.make()
        let first = try StoreServer(storePath: store)
        _ = try await first.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect(try await first.stop() == 0)
        let second = try StoreServer(storePath: store)
        let listed = try await second.result("listCerts")
        #expect((listed["certs"] as? [[String: Any]])?.first?["sha256Fingerprint"] as? String == certificate.fingerprint)
        _ = try await second.stop()
    }

    @Test func aSecondProcessSeesEachChangeAtOnce() async throws {
        let store = newStorePath(inSubdirectory: true)
        let certificate = try await CertificateFactory.make()
        let writer = try StoreServer(storePath: store)
        let reader = try StoreServer(storePath: store)
        _ = try await reader.result("listCerts")
        _ = try await writer.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect((try await reader.result("listCerts")["certs"] as? [Any])?.count == 1)
        _ = try await writer.result("deleteCert", ["host": "kong.example"])
        #expect((try await reader.result("listCerts")["certs"] as? [Any])?.isEmpty == true)
        let again = try await reader.call("deleteCert", ["host": "kong.example"])
        #expect(again.errorCode == -32001)
        _ = try await writer.stop()
        _ = try await reader.stop()
    }

    /// Two processes pin one host with different certificates at the same moment, many times:
    /// exactly one wins each round, the other is told -32002, and history has one pin per host.
    @Test func racingPinsLeaveExactlyOnePin() async throws {
        let store = newStorePath(inSubdirectory: true)
        let a = try await CertificateFactory.make()
        let b = try await CertificateFactory.make()
        let left = try StoreServer(storePath: store)
        let right = try StoreServer(storePath: store)
        let rounds = 40
        for round in 0..<rounds {
            left.process.send(line: Wire.request("pinCert", id: round, params: ["host": "race\(round).example", "pem": a.pem]))
            right.process.send(line: Wire.request("pinCert", id: round, params: ["host": "race\(round).example", "pem": b.pem]))
        }
        let leftAnswers = try await left.process.reader.next(rounds)
        let rightAnswers = try await right.process.reader.next(rounds)
        var winners: [Int: String] = [:]
        for (answers, name) in [(leftAnswers, "left"), (rightAnswers, "right")] {
            for answer in answers {
                let round = answer.object["id"] as? Int ?? -1
                if answer.errorCode == nil {
                    #expect(winners[round] == nil, "round \(round) has two winners")
                    winners[round] = name
                } else {
                    #expect(answer.errorCode == -32002, "\(answer.text)")
                }
            }
        }
        #expect(winners.count == rounds, "every round has one winner")
        let listed = try await left.result("listCerts")
        let pins = listed["certs"] as? [[String: Any]] ?? []
        #expect(pins.count == rounds)
        for pin in pins {
            let round = Int((pin["host"] as? String ?? "").dropFirst(4).prefix(while: \.isNumber)) ?? -1
            let expected = winners[round] == "left" ? a.fingerprint : b.fingerprint
            #expect(pin["sha256Fingerprint"] as? String == expected)
        }
        let events = try await right.result("certHistory", ["limit": 1000])["events"] as? [[String: Any]] ?? []
        #expect(events.count == rounds)
        #expect(Set(events.compactMap { $0["host"] as? String }).count == rounds)
        _ = try await left.stop()
        _ = try await right.stop()
    }

    /// 3,000 pins paged 97 at a time while another process deletes every third one: no pin
    /// comes twice, and every pin that existed throughout comes once. (Every pin and delete is
    /// a synced commit; more would mostly load the disk that the other tests share.)
    @Test func pagingStaysCorrectWhileAnotherProcessDeletes() async throws {
        let store = newStorePath(inSubdirectory: true)
        let certificate = try await CertificateFactory.make()
        let seeder = try StoreServer(storePath: store)
        let total = 3_000
        let hosts = (0..<total).map { String(format: "h%05d.example", $0) }
        var bytes: [UInt8] = []
        for (index, host) in hosts.enumerated() {
            bytes += Wire.ndjson(Wire.request("pinCert", id: index, params: ["host": host, "pem": certificate.pem]))
        }
        seeder.process.send(bytes)
        let seeded = try await seeder.process.reader.next(total, timeout: .seconds(120))
        #expect(seeded.allSatisfy { $0.errorCode == nil })

        let deleted = Set(hosts.enumerated().filter { $0.offset % 3 == 1 }.map { $0.element + "_443" })
        var deletions: [UInt8] = []
        for (index, host) in deleted.sorted().enumerated() {
            deletions += Wire.ndjson(Wire.request("deleteCert", id: index, params: ["host": host]))
        }
        let pager = try StoreServer(storePath: store)
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            var params: [String: Any] = ["limit": 97]
            if let cursor { params["cursor"] = cursor }
            let page = try await pager.result("listCerts", params)
            let hosts = (page["certs"] as? [[String: Any]] ?? []).compactMap { $0["host"] as? String }
            seen += hosts
            cursor = page["nextCursor"] as? String
            pages += 1
            // A page is one query: full unless it is the last, whatever the deleter does meanwhile.
            #expect(cursor == nil ? (1...97).contains(hosts.count) : hosts.count == 97, "page \(pages) has \(hosts.count) entries")
            try #require(pages <= total / 97 + 1, "more pages than pins allow")
            if pages == 5 { seeder.process.send(deletions) }
        } while cursor != nil
        #expect(seen.count == Set(seen).count, "a pin came twice")
        let throughout = Set(hosts.map { $0 + "_443" }).subtracting(deleted)
        #expect(throughout.isSubset(of: Set(seen)), "\(throughout.subtracting(Set(seen)).count) pins were skipped")
        #expect(seen == seen.sorted(), "pages are in host-key order")
        _ = try await seeder.process.reader.next(deleted.count, timeout: .seconds(120))
        _ = try await seeder.stop()
        _ = try await pager.stop()
    }

    /// Every page holds exactly `limit` pins but the last, which holds the rest and no cursor;
    /// a store of exactly two pages has no empty third one. An off-by-one fails here at once.
    @Test func pagesHaveExactSizes() async throws {
        let store = newStorePath(inSubdirectory: true)
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: store)
        func seed(_ range: Range<Int>) async throws {
            var bytes: [UInt8] = []
            for index in range {
                bytes += Wire.ndjson(Wire.request("pinCert", id: "seed\(index)", params: ["host": String(format: "p%04d.example", index), "pem": certificate.pem]))
            }
            server.process.send(bytes)
            let seeded = try await server.process.reader.next(range.count, timeout: .seconds(120))
            #expect(seeded.allSatisfy { $0.errorCode == nil })
        }
        func pageSizes(limit: Int) async throws -> (sizes: [Int], hosts: [String]) {
            var sizes: [Int] = []
            var hosts: [String] = []
            var cursor: String?
            repeat {
                var params: [String: Any] = ["limit": limit]
                if let cursor { params["cursor"] = cursor }
                let page = try await server.result("listCerts", params)
                let entries = (page["certs"] as? [[String: Any]] ?? []).compactMap { $0["host"] as? String }
                sizes.append(entries.count)
                hosts += entries
                cursor = page["nextCursor"] as? String
                try #require(sizes.count <= 20, "the cursor never ends: \(sizes)")
            } while cursor != nil
            return (sizes, hosts)
        }
        try await seed(0..<194)
        #expect(try await pageSizes(limit: 97).sizes == [97, 97])
        #expect(try await pageSizes(limit: 194).sizes == [194])
        #expect(try await pageSizes(limit: 195).sizes == [194])
        #expect(try await pageSizes(limit: 193).sizes == [193, 1])
        try await seed(194..<500)
        let listed = try await pageSizes(limit: 97)
        #expect(listed.sizes == [97, 97, 97, 97, 97, 15])
        #expect(listed.hosts == (0..<500).map { String(format: "p%04d.example_443", $0) })
        _ = try await server.stop()
    }

    @Test func createdOwnerOnlyEvenWithAPermissiveUmask() async throws {
        let root = temporaryDirectory("tofu-store")
        let store = root + "/deep/er/store.sqlite"
        let certificate = try await CertificateFactory.make()
        let server = try ServerProcess("/bin/sh", arguments: ["-c", "umask 000; exec '\(productPath("tofu-rpc"))' --store '\(store)'"])
        server.send(line: Wire.request("pinCert", id: 1, params: ["host": "kong.example", "pem": certificate.pem]))
        #expect(try await server.reader.next().errorCode == nil)
        #expect(permissions(store) == 0o600)
        #expect(permissions(root + "/deep/er") == 0o700)
        #expect(permissions(root + "/deep") == 0o700)
        server.closeInput()
        _ = try await server.waitForExit()
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: store + suffix) {
            #expect(permissions(store + suffix) == 0o600, "\(suffix)")
        }
    }

    @Test func theStoreLocationFollowsFlagThenEnvironment() async throws {
        let home = temporaryDirectory("tofu-home")
        let certificate = try await CertificateFactory.make()
        let cases: [([String], [String: String], String)] = [
            ([], ["HOME": home, "XDG_DATA_HOME": "", "TOFU_STORE": ""], home + "/.local/share/tofu/store.sqlite"),
            ([], ["HOME": home, "XDG_DATA_HOME": home + "/xdg", "TOFU_STORE": ""], home + "/xdg/tofu/store.sqlite"),
            ([], ["HOME": home, "XDG_DATA_HOME": "relative/ignored", "TOFU_STORE": ""], home + "/.local/share/tofu/store.sqlite"),
            ([], ["HOME": home, "XDG_DATA_HOME": home + "/xdg", "TOFU_STORE": home + "/env.sqlite"], home + "/env.sqlite"),
            (["--store", home + "/flag.sqlite"], ["HOME": home, "TOFU_STORE": home + "/env.sqlite"], home + "/flag.sqlite"),
        ]
        for (index, (arguments, environment, expected)) in cases.enumerated() {
            let server = try ServerProcess(arguments: arguments, environment: environment)
            let answer = try await server.call("pinCert", id: index, params: ["host": "h\(index).example", "pem": certificate.pem])
            #expect(answer.errorCode == nil, "\(answer)")
            server.closeInput()
            _ = try await server.waitForExit()
            #expect(FileManager.default.fileExists(atPath: expected), "case \(index): no store at \(expected)")
        }
    }

    // MARK: - Stores that cannot be used

    /// Every refused store answers -32005 with the reason, and its bytes stay as they were.
    static func expectRefused(_ store: String, reasonContaining reason: String, prefix: [String] = []) async throws {
        let before = fileBytes(store)
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: store)
        for (method, params) in [("listCerts", [String: Any]()), ("pinCert", ["host": "kong.example", "pem": certificate.pem]), ("deleteCert", ["host": "kong.example"])] {
            let answer = try await server.call(method, params)
            #expect(answer.errorCode == -32005, "\(method): \(answer)")
            #expect(answer.errorKind == "storeUnavailable")
            #expect(answer.errorReason.contains(reason), "\(answer)")
        }
        #expect(try await server.call("rpc.discover").errorCode == nil, "the server goes on serving")
        _ = try await server.stop()
        #expect(fileBytes(store) == before, "the refused store was changed")
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAndLeftAlone() async throws {
        let store = temporaryDirectory("tofu-store") + "/store.sqlite"
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: store))
        try await Self.expectRefused(store, reasonContaining: "damaged or not an SQLite database")
    }

    @Test func anotherApplicationsDatabaseIsRefusedAndLeftAlone() async throws {
        let store = temporaryDirectory("tofu-store") + "/store.sqlite"
        _ = try await runProgram("sqlite3", [store, "CREATE TABLE accounts(id INTEGER); INSERT INTO accounts VALUES (1);"])
        try await Self.expectRefused(store, reasonContaining: "not a tofu store")
    }

    @Test func aStoreFromANewerTofuIsRefusedAndLeftAlone() async throws {
        let store = newStorePath(inSubdirectory: true)
        let first = try StoreServer(storePath: store)
        _ = try await first.result("listCerts")
        _ = try await first.stop()
        let insert = try await runProgram("sqlite3", [store, "INSERT INTO grdb_migrations VALUES ('v99: from the future');"])
        #expect(insert.status == 0, "\(insert.stderr)")
        try await Self.expectRefused(store, reasonContaining: "newer tofu")
    }

    @Test func aLockedStoreAnswersStoreUnavailableAfterTheTimeout() async throws {
        let store = newStorePath(inSubdirectory: true)
        let first = try StoreServer(storePath: store)
        _ = try await first.result("listCerts")
        let holder = try await WriteLockHolder(store)
        let server = try StoreServer(storePath: store, arguments: ["--store-timeout-ms", "200"])
        let certificate = try await CertificateFactory.make()
        let answer = try await server.call("pinCert", ["host": "kong.example", "pem": certificate.pem])
        #expect(answer.errorCode == -32005)
        #expect(answer.errorReason.contains("locked"), "\(answer)")
        holder.end(with: "ROLLBACK")
        try await holder.waitForExit()
        // Once the lock is gone the same process writes.
        #expect(try await server.call("pinCert", ["host": "kong.example", "pem": certificate.pem]).errorCode == nil)
        _ = try await server.stop()
        _ = try await first.stop()
    }

    /// A store the server may only read: reads answer, changes are -32005, bytes unchanged.
    /// As root, permission bits bind nobody, so the server runs as 'nobody' via setpriv.
    /// With `writableDirectory` false, not even SQLite's -shm file can be made beside it.
    @Test(arguments: [true, false])
    func aReadOnlyStoreServesReadsAndRefusesChanges(writableDirectory: Bool) async throws {
        let directory = temporaryDirectory("tofu-store")
        let store = directory + "/store.sqlite"
        let certificate = try await CertificateFactory.make()
        let first = try StoreServer(storePath: store)
        _ = try await first.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        _ = try await first.stop()
        chmod(store, 0o444)
        let asNobody = geteuid() == 0
        if asNobody && writableDirectory { chown(directory, 65534, 65534) }
        chmod(directory, writableDirectory ? 0o755 : 0o555)
        defer { chmod(directory, 0o700) }
        let before = fileBytes(store)
        let command = asNobody
            ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", productPath("tofu-rpc"), "--store", store]
            : [productPath("tofu-rpc"), "--store", store]
        let server = try ServerProcess(command[0], arguments: Array(command.dropFirst()))
        let listed = try await server.call("listCerts", id: 1)
        let certs = (listed.object["result"] as? [String: Any])?["certs"] as? [[String: Any]]
        #expect(certs?.first?["sha256Fingerprint"] as? String == certificate.fingerprint, "reads work: \(listed) \(server.stderr)")
        let change = try await server.call("deleteCert", id: 2, params: ["host": "kong.example"])
        #expect(change.errorCode == -32005)
        #expect(change.errorReason.contains("read-only"), "\(change)")
        server.closeInput()
        _ = try await server.waitForExit()
        #expect(fileBytes(store) == before)
    }
}

/// Many processes opening one new store at the same moment all migrate it, once.
@Suite struct StoreCreationRaceTests {
    @Test func manyProcessesCreatingOneStoreAtOnce() async throws {
        for round in 0..<10 {
            let store = temporaryDirectory("tofu-race") + "/store.sqlite"
            let timeout = String(5000 * TestTime.scale)
            let servers = try (0..<6).map { _ in try ServerProcess(arguments: ["--store", store, "--store-timeout-ms", timeout]) }
            for server in servers { server.send(line: Wire.request("listCerts", id: round)) }
            for server in servers {
                let answer = try await server.reader.next()
                #expect(answer.errorCode == nil, "round \(round): \(answer.text)")
                server.closeInput()
                _ = try await server.waitForExit()
            }
        }
    }

    /// The moment behind the race above, made certain: another process holds the write lock of
    /// a new, empty store file while tofu-rpc switches it to WAL. SQLite answers busy there at
    /// once, without waiting; the open still waits for the lock, up to --store-timeout-ms.
    /// That timeout is far longer than the lock is meant to be held: the holder lets go when this
    /// test's task runs again, which on a loaded machine can be seconds late (a 10 s timeout
    /// once ran out in a full `make test`).
    @Test func openingANewStoreWaitsForAWriteLockHeldElsewhere() async throws {
        let store = temporaryDirectory("tofu-race") + "/store.sqlite"
        #expect(FileManager.default.createFile(atPath: store, contents: nil, attributes: [.posixPermissions: 0o600]))
        let holder = try await WriteLockHolder(store)
        let server = try ServerProcess(arguments: ["--store", store, "--store-timeout-ms", String(300_000 * TestTime.scale)])
        let started = ContinuousClock.now
        server.send(line: Wire.request("listCerts", id: 1))
        try await Task.sleep(for: .milliseconds(300))
        holder.end(with: "COMMIT")
        let released = ContinuousClock.now - started
        let answer = try await server.reader.next()
        #expect(answer.errorCode == nil, "lock released \(released) after the request, answered \(ContinuousClock.now - started) after it: \(answer.text)")
        #expect(ContinuousClock.now - started >= .milliseconds(300), "answered before the lock was released: \(answer.text)")
        try await holder.waitForExit()
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }
}

@Suite struct CleanExitTests {
    /// After a clean exit the store file alone holds every pin (a plain copy is a whole backup):
    /// the last connection to close folds the WAL back and removes it, whatever the process did,
    /// reads through the pool's readers included.
    @Test(arguments: ["listCerts", "certHistory", "listDnacServers", "verifyCert"])
    func aCleanExitLeavesNoWAL(after method: String) async throws {
        let store = newStorePath()
        let certificate = try await CertificateFactory.make()
        let server = try StoreServer(storePath: store)
        _ = try await server.result("pinCert", ["host": "kong.example", "pem": certificate.pem])
        let params: [String: Any] = method == "verifyCert" ? ["host": "kong.example", "pem": certificate.pem] : [:]
        _ = try await server.result(method, params)
        #expect(try await server.stop() == 0)
        for suffix in ["-wal", "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: store + suffix), "\(method): \(suffix) left after a clean exit")
        }
    }
}
