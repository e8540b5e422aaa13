import Foundation
import Posix
import TestSupport
import Testing

/// A PostgreSQL cluster of the tests (scripts/pg-cluster.sh): make test's, shared by every test
/// and named by the environment, or one a test starts for itself so it may stop and restart it.
/// tofu's processes reach it as the role `tofu` over TCP on 127.0.0.1 with the password in
/// PGPASSWORD; the test reaches it as that role too, or as the superuser over the socket in its
/// directory.
struct PGTestCluster: Sendable {
    let directory: String
    let script: String
    let port: Int
    let password: String

    /// make test's cluster; `PostgreSQLDatabase.Missing` when the environment does not name one.
    static func shared() throws -> PGTestCluster {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["TOFU_TEST_PG_DIR"], let script = environment["TOFU_TEST_PG_CLUSTER"],
              let password = environment["TOFU_TEST_PG_PASSWORD"], let uri = environment["TOFU_TEST_PG_URI"],
              let port = port(of: uri)
        else { throw PostgreSQLDatabase.Missing() }
        return PGTestCluster(directory: directory, script: script, port: port, password: password)
    }

    /// A cluster of the calling test's own, in a temporary directory, started; `remove` it.
    static func start() async throws -> PGTestCluster {
        let script = try shared().script
        let directory = temporaryDirectory("tofu-pg")
        let started = try await runProgram("/bin/bash", [script, "start", directory])
        guard started.status == 0 else {
            _ = try? await runProgram("/bin/bash", [script, "stop", directory])
            throw FixtureFailure("pg-cluster.sh start failed: \(started.stderr)")
        }
        var values: [String: String] = [:]
        for line in started.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let uri = values["TOFU_TEST_PG_URI"], let port = port(of: uri), let password = values["TOFU_TEST_PG_PASSWORD"] else {
            throw FixtureFailure("pg-cluster.sh start printed no cluster: \(started.stdout)")
        }
        return PGTestCluster(directory: directory, script: script, port: port, password: password)
    }

    private static func port(of uri: String) -> Int? {
        guard let at = uri.range(of: "@127.0.0.1:") else { return nil }
        return Int(uri[at.upperBound...].prefix { $0.isNumber })
    }

    /// The URI of `database` for the role tofu, without the password (a child's --store).
    func uri(_ database: String) -> String { "postgresql://tofu@127.0.0.1:\(port)/\(database)" }

    /// What a child needs besides the URI: the password, never an argument.
    var environment: [String: String] { ["PGPASSWORD": password] }

    /// A new database owned by tofu, for one test; its name.
    func createDatabase() async throws -> String {
        let name = "f_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await superuser("CREATE DATABASE \(name) OWNER tofu")
        return name
    }

    /// Runs `sql` as the superuser in `database`; the rows, one a line, fields separated by `|`.
    @discardableResult
    func superuser(_ sql: String, database: String = "postgres") async throws -> [String] {
        let result = try await runProgram("/bin/bash", [script, "sql", directory, database, sql])
        guard result.status == 0 else { throw FixtureFailure("as the superuser: \(sql): \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// Runs `sql` as tofu in `database`, as a machine of the fleet would; the rows.
    func query(_ sql: String, database: String) async throws -> [String] {
        let result = try await runProgram("/usr/bin/psql", ["-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql, uri(database)], environment: environment)
        guard result.status == 0 else { throw FixtureFailure("\(sql): \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// `pg_ctl stop -m immediate`: every server process ends at once, as in a crash.
    func kill() async throws {
        let result = try await runProgram("/bin/bash", [script, "kill", directory])
        guard result.status == 0 else { throw FixtureFailure("pg-cluster.sh kill failed: \(result.stderr)") }
    }

    /// Starts the cluster again on its port, after `kill`; returns once it takes connections.
    func restart() async throws {
        let result = try await runProgram("/bin/bash", [script, "restart", directory])
        guard result.status == 0 else { throw FixtureFailure("pg-cluster.sh restart failed: \(result.stderr)") }
    }

    /// Stops a cluster of the test's own and removes its directory.
    func remove() async {
        _ = try? await runProgram("/bin/bash", [script, "stop", directory])
    }

    /// Runs `body` with a cluster of its own, removed however `body` ends.
    static func withOwnCluster(_ body: (PGTestCluster) async throws -> Void) async throws {
        let cluster = try await start()
        do {
            try await body(cluster)
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }
}

/// An open psql session as tofu: statements sent one at a time, each waited for, so a test can
/// hold a lock (an open transaction) while tofu's processes run into it.
final class PSQLSession: Sendable {
    private let process: ServerProcess
    private let counter = Counter()

    init(_ cluster: PGTestCluster, database: String) throws {
        process = try ServerProcess(
            "/usr/bin/psql", arguments: ["-XAtq", "-v", "ON_ERROR_STOP=1", cluster.uri(database)], environment: cluster.environment)
    }

    /// Runs `sql` (one or more statements) and waits until psql has run them.
    func run(_ sql: String) async throws {
        let marker = "done-\(counter.next())"
        process.send(Array("\(sql);\nSELECT '\(marker)';\n".utf8))
        let deadline = ContinuousClock.now + TestTime.bound(.seconds(30))
        while !String(decoding: process.reader.leftover, as: UTF8.self).contains(marker) {
            guard ContinuousClock.now < deadline, process.process.isRunning else {
                throw FixtureFailure("psql did not run \(sql): \(process.stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Ends the session (a transaction still open is rolled back).
    func close() async throws {
        process.closeInput()
        _ = try await process.waitForExit()
    }
}

/// One tofu-rpc (a machine of the fleet) on a PostgreSQL store, with calls that give up after
/// a bound of their own: a store that hangs fails the test instead of holding it.
struct FleetMachine {
    let server: StoreServer
    private static let counter = Counter()

    init(_ cluster: PGTestCluster, database: String, arguments: [String] = []) throws {
        server = try StoreServer(storePath: cluster.uri(database), arguments: arguments, environment: cluster.environment)
    }

    /// Calls `method` and returns its answer, checked against protocol/openrpc.json; throws
    /// `PeerError.timeout` if none comes within `timeout`.
    func call(_ method: String, _ params: [String: Any], timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation) async throws -> Received {
        let id = Self.counter.next()
        server.process.send(line: Wire.request(method, id: id, params: params))
        let answer = try await server.process.reader.next(timeout: TestTime.bound(timeout))
        #expect(answer.object["id"] as? Int == id, "answer out of order: \(answer)", sourceLocation: sourceLocation)
        let problems = OpenRPCDocument.repository.problems(answering: method, answer)
        #expect(problems.isEmpty, "\(method): \(problems)", sourceLocation: sourceLocation)
        return answer
    }

    func stop() async throws -> Int32 { try await server.stop() }
}

/// What the store answered, turned into the history events it promised: what a coherent history
/// must hold, in order, for each process that was answered.
struct Acknowledged: Hashable, CustomStringConvertible {
    let host: String
    let event: String
    let fingerprint: String

    var description: String { "\(event) \(fingerprint.prefix(11)) on \(host)" }
}

/// The history of one database, checked: each host's events replayed from an empty store must
/// each be possible where they stand, end in the pin the store holds, and contain every
/// acknowledged write of each process in the order that process was answered.
struct HistoryCheck {
    /// Every event, oldest first: (host, event, fingerprint).
    let events: [Acknowledged]

    init(_ cluster: PGTestCluster, database: String) async throws {
        events = try await cluster.query("SELECT host, event, sha256Fingerprint FROM tofu.event ORDER BY id", database: database).map { row in
            let fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return Acknowledged(host: fields[0], event: fields[1], fingerprint: fields.count > 2 ? fields[2] : "")
        }
    }

    /// The replay's problems (empty when coherent), given each host's pin as the store holds it
    /// (host → (pinned, staged) fingerprints).
    func problems(pins: [String: (pinned: String, next: String?)]) -> [String] {
        var problems: [String] = []
        var state: [String: (pinned: String, next: String?)] = [:]
        for (index, event) in events.enumerated() {
            let current = state[event.host]
            let fp = event.fingerprint
            var possible = true
            switch event.event {
            case "pinned":
                possible = current == nil
                state[event.host] = (fp, nil)
            case "deleted":
                possible = current?.pinned == fp
                state[event.host] = nil
            case "staged":
                possible = current != nil && current?.pinned != fp
                if let current { state[event.host] = (current.pinned, fp) }
            case "rotated":
                possible = current?.next == fp
                state[event.host] = (fp, nil)
            case "replaced":
                possible = current != nil && current?.pinned != fp
                state[event.host] = (fp, current?.next == fp ? nil : current?.next)
            case "matched":
                possible = current?.pinned == fp
            case "mismatch":
                possible = current != nil && current?.pinned != fp
            default:
                possible = false
            }
            if !possible { problems.append("event \(index), \(event), cannot follow \(current.map { "pin \($0.pinned.prefix(11)) next \($0.next?.prefix(11) ?? "none")" } ?? "no pin")") }
        }
        for host in Set(state.keys).union(pins.keys) {
            let replayed = state[host]
            let stored = pins[host]
            if replayed?.pinned != stored?.pinned || replayed?.next != stored?.next {
                problems.append("\(host): the history ends in \(String(describing: replayed)), the store holds \(String(describing: stored))")
            }
        }
        return problems
    }

    /// The acknowledged writes of one process that are not in the history in the order it was
    /// answered them (empty when all are).
    func missing(_ acknowledged: [Acknowledged]) -> [Acknowledged] {
        var rest = events[...]
        var missing: [Acknowledged] = []
        for write in acknowledged {
            if let found = rest.firstIndex(of: write) {
                rest = events[(found + 1)...]
            } else {
                missing.append(write)
            }
        }
        return missing
    }

    /// How many events there are of each (host, event, fingerprint).
    var counts: [Acknowledged: Int] { events.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
}

/// Every pin of a database as the store holds it: host → (pinned, staged) fingerprints.
func storedPins(_ cluster: PGTestCluster, database: String) async throws -> [String: (pinned: String, next: String?)] {
    let rows = try await cluster.query("SELECT host, sha256Fingerprint, coalesce(nextSha256Fingerprint, '') FROM tofu.pin", database: database)
    var pins: [String: (pinned: String, next: String?)] = [:]
    for row in rows {
        let fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3 else { continue }
        pins[fields[0]] = (fields[1], fields[2].isEmpty ? nil : fields[2])
    }
    return pins
}

/// A fixture that could not do its part (a cluster that would not start, a query refused).
struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
