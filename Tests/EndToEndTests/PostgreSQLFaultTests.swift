import Foundation
import Posix
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL store that goes away, stops answering, or holds a lock: every call is answered
/// (-32005 with the reason, bounded by --store-timeout-ms), nothing is half-applied, and the
/// service comes back by itself.
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLFaultTests {
    /// A cluster of the test's own, down when two machines start, then up, then stopped at
    /// once (`pg_ctl stop -m immediate`) in the middle of their writes and started again: every
    /// call is answered, those in between with -32005 naming the server; each machine goes on
    /// without a restart; every answered write is in the history, which replays coherently.
    @Test func aRestartInTheMiddleOfWritesLosesNoAnsweredWriteAndEveryCallIsAnswered() async throws {
        try await PGTestCluster.withOwnCluster { cluster in
            let database = try await cluster.createDatabase()
            let certificates = [try await CertificateFactory.make(subject: "/CN=machine0"), try await CertificateFactory.make(subject: "/CN=machine1")]
            try await cluster.kill()

            let machines = try (0..<2).map { _ in try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", "2000"]) }
            // Down at start: answered at once, saying where and what to do.
            for method in ["listCerts", "pinCert"] {
                let params: [String: Any] = method == "pinCert" ? ["host": "down.example", "pem": certificates[0].pem] : [:]
                let answer = try await machines[0].call(method, params, timeout: .seconds(30))
                #expect(answer.errorCode == -32005 && answer.errorKind == "storeUnavailable", "\(answer)")
                #expect(answer.errorReason.contains("127.0.0.1:\(cluster.port)") && answer.errorReason.contains("cannot connect"), "\(answer.errorReason)")
            }
            try await cluster.restart()

            let load = LoadState(machines: machines.count)
            let outcomes = try await withThrowingTaskGroup(of: LoadOutcome.self) { group in
                for (index, machine) in machines.enumerated() {
                    group.addTask { try await writeUntilStopped(machine, index: index, certificate: certificates[index], load: load) }
                }
                // Some writes, then the crash; each machine is answered in between; then the start.
                try await eventually(within: .seconds(120)) { load.all { $0.acknowledged >= 5 } }
                try await cluster.kill()
                try await eventually(within: .seconds(60)) { load.all { $0.unavailable >= 2 } }
                let before = load.snapshot.map(\.acknowledged)
                try await cluster.restart()
                try await eventually(within: .seconds(120)) { zip(load.snapshot, before).allSatisfy { $0.acknowledged >= $1 + 5 } }
                load.stop()
                return try await group.reduce(into: []) { $0.append($1) }
            }

            let snapshot = load.snapshot
            #expect(snapshot.allSatisfy { $0.acknowledged >= 10 && $0.unavailable >= 2 }, "\(snapshot)")
            for outcome in outcomes {
                #expect(outcome.unexpected.isEmpty, "\(outcome.unexpected)")
                for reason in outcome.reasons {
                    #expect(reason.contains("127.0.0.1:\(cluster.port)"), "\(reason)")
                    #expect(!reason.contains(cluster.password))
                    #expect(!reason.contains("\n") && !reason.contains("\t"), "libpq's lines and tabs, not one line: \(reason)")
                }
            }
            let history = try await HistoryCheck(cluster, database: database)
            let pins = try await storedPins(cluster, database: database)
            #expect(history.problems(pins: pins).isEmpty, "\(history.problems(pins: pins))")
            for outcome in outcomes {
                #expect(history.missing(outcome.acknowledged).isEmpty, "answered but lost: \(history.missing(outcome.acknowledged))")
            }
            // Nothing but answered writes, and those a crash cut off from their answer.
            var possible: [Acknowledged: Int] = [:]
            for write in outcomes.flatMap({ $0.acknowledged + $0.uncertain }) { possible[write, default: 0] += 1 }
            for (event, count) in history.counts {
                #expect(count <= possible[event] ?? 0, "\(count) × \(event), of which \(possible[event] ?? 0) possible")
            }
            for machine in machines {
                #expect(try await machine.stop() == 0)
                // The server's last words to each session went nowhere but into the answers.
                #expect(!machine.server.process.stderr.contains("terminating connection"), "\(machine.server.process.stderr)")
            }
        }
    }

    /// A tofu-rpc killed (SIGKILL) inside its write, after inserting the pin and while waiting
    /// to insert its history row: the pin never appears without its history, and its locks
    /// (the host's advisory lock, the row) are released at once, not when the wait ends, so
    /// other machines go on.
    @Test func aMachineKilledInsideItsWriteLeavesNothingHalfDoneAndReleasesItsLocks() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let first = try await CertificateFactory.make(subject: "/CN=first")
        let second = try await CertificateFactory.make(subject: "/CN=second")
        let killed = try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", "60000"])
        let other = try FleetMachine(cluster, database: database)
        let seeded = try await killed.call("pinCert", ["host": "seed.example", "pem": first.pem])
        #expect(seeded.errorCode == nil, "\(seeded)")

        // The test holds the history table: tofu's write waits there, inside its transaction.
        let holder = try PSQLSession(cluster, database: database)
        try await holder.run("BEGIN; LOCK TABLE tofu.event IN EXCLUSIVE MODE")
        killed.server.process.send(line: Wire.request("pinCert", id: 999, params: ["host": "held.example", "pem": first.pem]))
        let waiting = """
            SELECT a.pid FROM pg_stat_activity a WHERE a.datname = current_database() AND a.application_name = 'tofu'
            AND a.wait_event_type = 'Lock'
            AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)
            AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation = 'tofu.pin'::regclass AND l.mode = 'RowExclusiveLock')
            """
        var backend: [String] = []
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while backend.isEmpty && ContinuousClock.now < deadline {
            backend = try await cluster.query(waiting, database: database)
            if backend.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(backend.count == 1, "tofu's write never waited inside its transaction holding the host's lock")

        Glibc.kill(killed.server.process.process.processIdentifier, SIGKILL)
        _ = try await killed.server.process.waitForExit()
        // Its session ends while the table is still held: its locks go with it.
        let held = """
            SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE d.datname = current_database() AND l.locktype = 'advisory'
            """
        var advisory = ["1"]
        let released = ContinuousClock.now + TestTime.bound(.seconds(30))
        while advisory != ["0"] && ContinuousClock.now < released {
            try await Task.sleep(for: .milliseconds(100))
            advisory = try await cluster.query(held, database: database)
        }
        #expect(advisory == ["0"], "the killed machine's host lock is still held while its session waits")
        let gone = try await cluster.query("SELECT count(*) FROM pg_stat_activity WHERE pid = \(backend[0])", database: database)
        #expect(gone == ["0"], "the killed machine's session still waits")

        try await holder.run("COMMIT")
        try await holder.close()
        let pinned = try await other.call("pinCert", ["host": "held.example", "pem": second.pem], timeout: .seconds(30))
        #expect((pinned.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned", "\(pinned)")
        let history = try await HistoryCheck(cluster, database: database)
        #expect(history.problems(pins: try await storedPins(cluster, database: database)).isEmpty)
        #expect(history.events.filter { $0.host == "held.example_443" } == [Acknowledged(host: "held.example_443", event: "pinned", fingerprint: second.fingerprint)])
        #expect(try await other.stop() == 0)
    }

    /// Another machine holding the row of a host longer than --store-timeout-ms: the write
    /// waits about that long, then answers -32005 saying a lock was held; other hosts are
    /// written meanwhile, and the write goes through once the row is free.
    @Test func aLockHeldLongerThanTheTimeoutIsAnsweredWithinAboutTheTimeout() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machine = try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", "1500"])
        _ = try await machine.call("pinCert", ["host": "held.example", "pem": certificate.pem])

        let holder = try PSQLSession(cluster, database: database)
        try await holder.run("BEGIN; SELECT 1 FROM tofu.pin WHERE host = 'held.example_443' FOR UPDATE")
        let start = ContinuousClock.now
        let refused = try await machine.call("deleteCert", ["host": "held.example", "expectedFingerprint": certificate.fingerprint], timeout: .seconds(30))
        let waited = ContinuousClock.now - start
        #expect(refused.errorCode == -32005 && refused.errorKind == "storeUnavailable", "\(refused)")
        #expect(refused.errorReason.contains("lock") && refused.errorReason.contains("--store-timeout-ms"), "\(refused.errorReason)")
        #expect(waited >= .milliseconds(1400), "answered after \(waited), before the lock wait could end")
        // Generous: a loaded machine may answer late, but never hang.
        #expect(waited < .milliseconds(1500) + TestTime.bound(.seconds(30)), "answered after \(waited)")
        let elsewhere = try await machine.call("pinCert", ["host": "free.example", "pem": certificate.pem])
        #expect(elsewhere.errorCode == nil, "\(elsewhere)")

        try await holder.run("COMMIT")
        try await holder.close()
        let deleted = try await machine.call("deleteCert", ["host": "held.example", "expectedFingerprint": certificate.fingerprint])
        #expect(deleted.errorCode == nil, "\(deleted)")
        let history = try await HistoryCheck(cluster, database: database)
        #expect(history.events.filter { $0.host == "held.example_443" }.map(\.event) == ["pinned", "deleted"])
        #expect(try await machine.stop() == 0)
    }

    /// The server stops answering in the middle of a call (its process for this connection is
    /// stopped, as a machine cut off by the network would be): the call is given up within a
    /// bound set by --store-timeout-ms and answered -32005; the next call opens a new connection.
    @Test func aServerThatStopsAnsweringIsGivenUpWithinTheTimeout() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machine = try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", "1000"])
        _ = try await machine.call("pinCert", ["host": "frozen.example", "pem": certificate.pem])
        let backends = try await cluster.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tofu'", database: database)
        let pid = try #require(backends.count == 1 ? backends.first.flatMap { Int32($0) } : nil, "\(backends)")

        Glibc.kill(pid, SIGSTOP)
        let start = ContinuousClock.now
        let answer: Received
        do {
            answer = try await machine.call("deleteCert", ["host": "frozen.example", "expectedFingerprint": certificate.fingerprint], timeout: .seconds(60))
        } catch {
            Glibc.kill(pid, SIGCONT)
            throw error
        }
        let waited = ContinuousClock.now - start
        Glibc.kill(pid, SIGCONT)
        #expect(answer.errorCode == -32005 && answer.errorKind == "storeUnavailable", "\(answer)")
        #expect(answer.errorReason.contains("127.0.0.1:\(cluster.port)") && answer.errorReason.contains("did not answer"), "\(answer.errorReason)")
        // The bound is 2 × 1000 ms + 1 s; generous, for a loaded machine.
        #expect(waited < .seconds(3) + TestTime.bound(.seconds(30)), "answered after \(waited)")

        // Nothing was deleted, and the next call is served on a new connection.
        let listed = try await machine.call("listCerts", ["host": "frozen.example"])
        #expect(((listed.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(listed)")
        let deleted = try await machine.call("deleteCert", ["host": "frozen.example", "expectedFingerprint": certificate.fingerprint])
        #expect(deleted.errorCode == nil, "\(deleted)")
        #expect(try await machine.stop() == 0)
    }

    /// A point read (`listCerts {host}`) of a PostgreSQL store is never answered on the input
    /// thread, as one of an SQLite store is: while the server does not answer it, the calls
    /// sent after it are still read and answered (the hostile review found them held 5 s).
    @Test func aPointReadWaitingForAServerThatStoppedAnsweringHoldsUpNothingElse() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machine = try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", "3000"])
        _ = try await machine.call("pinCert", ["host": "frozen.example", "pem": certificate.pem])
        let backends = try await cluster.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tofu'", database: database)
        let pid = try #require(backends.count == 1 ? backends.first.flatMap { Int32($0) } : nil, "\(backends)")

        let process = machine.server.process
        Glibc.kill(pid, SIGSTOP)
        let answers: [Received]
        do {
            process.send(line: Wire.request("listCerts", id: 9001, params: ["host": "frozen.example"]))
            process.send(line: Wire.request("nope", id: 9002, params: [:]))
            answers = [try await process.reader.next(timeout: TestTime.bound(.seconds(60))), try await process.reader.next(timeout: TestTime.bound(.seconds(60)))]
        } catch {
            Glibc.kill(pid, SIGCONT)
            throw error
        }
        Glibc.kill(pid, SIGCONT)
        #expect(answers.map { $0.object["id"] as? Int } == [9002, 9001], "the call after the point read waited for it: \(answers)")
        #expect(answers[0].errorCode == -32601, "\(answers[0])")
        #expect(answers[1].errorCode == -32005 && answers[1].errorKind == "storeUnavailable", "\(answers[1])")
        let listed = try await machine.call("listCerts", ["host": "frozen.example"])
        #expect(((listed.object["result"] as? [String: Any])?["certs"] as? [Any])?.count == 1, "\(listed)")
        #expect(try await machine.stop() == 0)
    }

    /// Nothing listening where the URI points, or a URI libpq cannot read: -32005, naming host
    /// and port, and no word of the password, in the answer or on stderr.
    @Test func anUnreachableOrMalformedStoreIsAnsweredWithoutThePassword() async throws {
        let port = try freePort()
        let secret = "Sekr3t" + UUID().uuidString.prefix(8)
        let uris = [
            "postgresql://tofu:\(secret)@127.0.0.1:\(port)/tofu",
            "postgresql://tofu@127.0.0.1:\(port)/tofu?password=\(secret)",
            "postgresql://tofu:p%zz\(secret)@127.0.0.1:\(port)/tofu",
            "postgresql://tofu:\(secret)@[::1:\(port)/tofu",
            "postgres://tofu@127.0.0.1:\(port)/tofu?sslmode=bogus&password=%zz\(secret)",
        ]
        for uri in uris {
            let server = try StoreServer(storePath: uri, arguments: ["--store-timeout-ms", "2000"])
            server.process.send(line: Wire.request("listCerts", id: 1, params: ["host": "kong.example"]))
            let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(60)))
            #expect(answer.errorCode == -32005 && answer.errorKind == "storeUnavailable", "\(answer)")
            #expect(!answer.text.contains(secret), "\(answer.text)")
            if uri.contains("127.0.0.1") {
                #expect(answer.errorReason.contains("127.0.0.1:\(port)"), "\(answer.errorReason)")
            }
            #expect(try await server.stop() == 0)
            #expect(!server.process.stderr.contains(secret), "\(server.process.stderr)")
        }
    }

    /// The largest --store-timeout-ms there is: held as the longest bound PostgreSQL takes, not
    /// overflowed (a trap would end the process).
    @Test func theLargestTimeoutIsHeldNotOverflowed() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machine = try FleetMachine(cluster, database: database, arguments: ["--store-timeout-ms", String(Int.max)])
        let pinned = try await machine.call("pinCert", ["host": "kong.example", "pem": certificate.pem], timeout: .seconds(30))
        #expect((pinned.object["result"] as? [String: Any])?["pinStatus"] as? String == "pinned", "\(pinned)")
        #expect(try await machine.stop() == 0)
    }

    /// A listener that takes the connection and never answers: the connection attempt is
    /// given up within its bound, and answered -32005.
    @Test func aServerThatNeverAnswersTheConnectionIsGivenUp() async throws {
        let peers = try TLSPeers()
        let silent = try await peers.listen("silent")
        let server = try StoreServer(storePath: "postgresql://tofu@127.0.0.1:\(silent.port)/tofu", arguments: ["--store-timeout-ms", "1000"])
        // Timed from a process that is up and reading (rpc.discover does not open the store).
        server.process.send(line: Wire.request("rpc.discover", id: 0))
        _ = try await server.process.reader.next(timeout: TestTime.bound(.seconds(60)))
        let start = ContinuousClock.now
        server.process.send(line: Wire.request("listCerts", id: 1, params: [:]))
        let answer = try await server.process.reader.next(timeout: TestTime.bound(.seconds(60)))
        let waited = ContinuousClock.now - start
        #expect(answer.errorCode == -32005, "\(answer)")
        #expect(answer.errorReason.contains("127.0.0.1:\(silent.port)"), "\(answer.errorReason)")
        // libpq's connect_timeout is whole seconds, at least 2; generous, for a loaded machine.
        #expect(waited < .seconds(2) + TestTime.bound(.seconds(30)), "answered after \(waited)")
        #expect(try await server.stop() == 0)
        peers.stop()
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FixtureFailure("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw FixtureFailure("bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Counts shared by the machines' loads and the test that drives the server down and up.
final class LoadState: Sendable {
    struct Counts: Sendable, CustomStringConvertible {
        var acknowledged = 0
        var unavailable = 0
        var description: String { "\(acknowledged) answered writes, \(unavailable) × -32005" }
    }

    private let state: Locked<(counts: [Counts], stopped: Bool)>

    init(machines: Int) { state = Locked((Array(repeating: Counts(), count: machines), false)) }

    var snapshot: [Counts] { state.withLock { $0.counts } }
    var stopped: Bool { state.withLock { $0.stopped } }
    func all(_ condition: (Counts) -> Bool) -> Bool { snapshot.allSatisfy(condition) }
    func stop() { state.withLock { $0.stopped = true } }
    func update(_ machine: Int, _ change: (inout Counts) -> Void) { state.withLock { change(&$0.counts[machine]) } }
}

/// What one machine's load was answered.
struct LoadOutcome: Sendable {
    var acknowledged: [Acknowledged] = []
    /// Writes answered -32005: made or not, the answer could not say.
    var uncertain: [Acknowledged] = []
    /// The reasons of the -32005 answers.
    var reasons: [String] = []
    var unexpected: [String] = []
}

/// Pins this machine's certificate on, or deletes it from, one of eight hosts, call after call,
/// until `load` is stopped.
func writeUntilStopped(_ machine: FleetMachine, index: Int, certificate: TestCertificate, load: LoadState) async throws -> LoadOutcome {
    var random = SeededGenerator(state: UInt64(index + 1) * 104_729)
    var outcome = LoadOutcome()
    while !load.stopped {
        let host = "load\(Int.random(in: 0..<8, using: &random)).example"
        let pinning = Bool.random(using: &random)
        let write = Acknowledged(host: host + "_443", event: pinning ? "pinned" : "deleted", fingerprint: certificate.fingerprint)
        let answer = pinning
            ? try await machine.call("pinCert", ["host": host, "pem": certificate.pem])
            : try await machine.call("deleteCert", ["host": host, "expectedFingerprint": certificate.fingerprint])
        switch answer.errorCode {
        case nil:
            let result = answer.object["result"] as? [String: Any] ?? [:]
            if pinning ? result["pinStatus"] as? String == "pinned" : result["deleted"] != nil {
                outcome.acknowledged.append(write)
                load.update(index) { $0.acknowledged += 1 }
            }
        case -32001, -32002:
            break
        case -32005 where answer.errorKind == "storeUnavailable" && !answer.errorReason.isEmpty:
            outcome.uncertain.append(write)
            outcome.reasons.append(answer.errorReason)
            load.update(index) { $0.unavailable += 1 }
            try await Task.sleep(for: .milliseconds(20))
        default:
            outcome.unexpected.append(answer.text)
        }
    }
    return outcome
}
