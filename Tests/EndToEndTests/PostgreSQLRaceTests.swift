import Foundation
import TestSupport
import Testing

/// Many tofu-rpc processes (the machines of a fleet) on one PostgreSQL store at once.
@Suite(.enabled(if: PostgreSQLDatabase.configured))
struct PostgreSQLRaceTests {
    /// Four machines racing first uses, deletes of what each pinned, stagings and rotations (a
    /// live handshake promoting the staged certificate) on one host, on a handful of others,
    /// and on a TLS peer on 127.0.0.1: every answer is one of the answers the contract allows,
    /// the history of each host replays from nothing into the pin the store holds, and every
    /// write a machine was answered is in it, in the order that machine was answered, once.
    @Test func fourMachinesRacingOneStoreKeepOnePinPerHostAndEveryAnsweredWrite() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let directory = temporaryDirectory()
        var certificates: [TestCertificate] = []
        for index in 0..<5 { certificates.append(try await CertificateFactory.make(subject: "/CN=machine\(index)", in: directory)) }
        // The TLS host presents the fifth certificate: the one its pin is rotated to.
        let rotatedTo = certificates[4]
        let peers = try TLSPeers()
        let peer = try await peers.listen("tls", certificate: rotatedTo)
        let hosts = ["race.example"] + (0..<5).map { "h\($0).example" }
        let machines = try (0..<4).map { _ in try FleetMachine(cluster, database: database) }

        // All four start at once on an empty database: the migration is raced too.
        let outcomes = try await withThrowingTaskGroup(of: MachineOutcome.self) { group in
            for (index, machine) in machines.enumerated() {
                let plan = RacePlan(
                    mine: certificates[index], rotatedTo: rotatedTo, tlsHost: peer, hosts: hosts, seed: UInt64(index + 1) * 7919)
                group.addTask { try await plan.run(on: machine) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        for outcome in outcomes {
            #expect(outcome.unexpected.isEmpty, "answers the contract does not allow: \(outcome.unexpected)")
        }
        let history = try await HistoryCheck(cluster, database: database)
        let pins = try await storedPins(cluster, database: database)
        #expect(history.problems(pins: pins).isEmpty, "\(history.problems(pins: pins))")
        for outcome in outcomes {
            let missing = history.missing(outcome.acknowledged)
            #expect(missing.isEmpty, "answered but not in the history in order: \(missing)")
        }
        // Every event is an answered write, once: nothing more, nothing lost.
        var answered: [Acknowledged: Int] = [:]
        for write in outcomes.flatMap(\.acknowledged) { answered[write, default: 0] += 1 }
        var events = history.counts
        let staged = events.filter { $0.key.event == "staged" }
        let verdicts = events.filter { $0.key.event == "matched" || $0.key.event == "mismatch" }
        events = events.filter { !["staged", "matched", "mismatch"].contains($0.key.event) }
        #expect(events == answered, "events \(events.count) kinds, answered writes \(answered.count) kinds")
        // A staging answered "staged" may have found the certificate staged already (no event).
        #expect(staged.values.reduce(0, +) <= outcomes.map(\.stagings).reduce(0, +))
        // Recorded verdicts (each possible where it stands: HistoryCheck) never outnumber the answered ones.
        #expect(verdicts.values.reduce(0, +) <= outcomes.map(\.verdicts).reduce(0, +))
        // The race did race: each kind of write happened, and some were refused.
        let kinds = Set(answered.keys.map(\.event))
        #expect(kinds.isSuperset(of: ["pinned", "deleted", "rotated"]), "\(kinds)")
        #expect(outcomes.map(\.refused).reduce(0, +) > 0)
        // One migration, whoever ran it.
        let migrations = try await cluster.query("SELECT count(*) FROM tofu.migration GROUP BY version HAVING count(*) > 1", database: database)
        #expect(migrations.isEmpty)

        for machine in machines { #expect(try await machine.stop() == 0) }
        peers.stop()
    }

    /// Ten tofu-rpc processes started together on an empty database, each writing at once:
    /// every write succeeds and each migration is applied once.
    @Test func tenMachinesStartingTogetherMigrateOnce() async throws {
        let cluster = try PGTestCluster.shared()
        let database = try await cluster.createDatabase()
        let certificate = try await CertificateFactory.make()
        let machines = try (0..<10).map { _ in try FleetMachine(cluster, database: database) }
        let statuses = try await withThrowingTaskGroup(of: String.self) { group in
            for (index, machine) in machines.enumerated() {
                group.addTask {
                    let answer = try await machine.call("pinCert", ["host": "start\(index).example", "pem": certificate.pem])
                    return (answer.object["result"] as? [String: Any])?["pinStatus"] as? String ?? "\(answer)"
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: "pinned", count: 10), "\(statuses)")
        let versions = try await cluster.query("SELECT version, count(*) FROM tofu.migration GROUP BY version ORDER BY version", database: database)
        // Every version from 1 up, each applied once.
        #expect(!versions.isEmpty && versions == (1...versions.count).map { "\($0)|1" }, "\(versions)")
        for machine in machines { #expect(try await machine.stop() == 0) }
    }
}

/// What one machine was answered.
struct MachineOutcome: Sendable {
    /// The writes it was told were made, in the order it was told.
    var acknowledged: [Acknowledged] = []
    /// Stagings answered "staged" (made, or found made already).
    var stagings = 0
    /// Verifications answered match or mismatch (recorded when a change, else not).
    var verdicts = 0
    /// Calls refused by the contract's rules (a different pin, no pin): nothing changed.
    var refused = 0
    /// Answers the contract does not allow here.
    var unexpected: [String] = []
}

/// One machine's share of the race: random steps, the same on every run.
struct RacePlan: Sendable {
    let mine: TestCertificate
    let rotatedTo: TestCertificate
    let tlsHost: Peer
    let hosts: [String]
    let seed: UInt64
    var steps = 40

    func run(on machine: FleetMachine) async throws -> MachineOutcome {
        var random = SeededGenerator(state: seed)
        var outcome = MachineOutcome()
        // All four begin with a rotation of the TLS host: one pins it, the others find it
        // pinned; some stage its certificate, and a live verification promotes it.
        for kind in [0, 1, 2] { try await tlsStep(machine, kind, &outcome) }
        for _ in 0..<steps {
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 25 {
                try await tlsStep(machine, Int.random(in: 0..<5, using: &random), &outcome)
            } else {
                let host = roll < 60 ? hosts[0] : hosts[Int.random(in: 1..<hosts.count, using: &random)]
                try await plainStep(machine, host: host, pinning: Bool.random(using: &random), &outcome)
            }
        }
        return outcome
    }

    /// Pins this machine's certificate, or deletes it (only if it is still the pin).
    private func plainStep(_ machine: FleetMachine, host: String, pinning: Bool, _ outcome: inout MachineOutcome) async throws {
        let key = host + "_443"
        if pinning {
            let answer = try await machine.call("pinCert", ["host": host, "pem": mine.pem])
            record(answer, "pinCert \(host)", &outcome) { result in
                switch result["pinStatus"] as? String {
                case "pinned": .write(Acknowledged(host: key, event: "pinned", fingerprint: mine.fingerprint))
                case "matched": .nothing
                default: nil
                }
            }
        } else {
            let answer = try await machine.call("deleteCert", ["host": host, "expectedFingerprint": mine.fingerprint])
            record(answer, "deleteCert \(host)", &outcome) { result in
                let deleted = (result["deleted"] as? [String: Any])?["sha256Fingerprint"] as? String
                return deleted == mine.fingerprint ? .write(Acknowledged(host: key, event: "deleted", fingerprint: mine.fingerprint)) : nil
            }
        }
    }

    /// A step on the TLS host: pin, stage the certificate it presents, verify it live (which
    /// promotes what is staged), or delete.
    private func tlsStep(_ machine: FleetMachine, _ kind: Int, _ outcome: inout MachineOutcome) async throws {
        let key = tlsHost.key
        switch kind {
        case 0:
            let answer = try await machine.call("pinCert", ["host": tlsHost.address, "pem": mine.pem])
            record(answer, "pinCert TLS host", &outcome) { result in
                switch result["pinStatus"] as? String {
                case "pinned": .write(Acknowledged(host: key, event: "pinned", fingerprint: mine.fingerprint))
                case "matched": .nothing
                default: nil
                }
            }
        case 1:
            let answer = try await machine.call("pinCert", ["host": tlsHost.address, "pem": rotatedTo.pem, "next": true])
            // The certificate is already the pin: refused, nothing changes.
            if answer.errorCode == -32602 && (answer.errorData?["field"] as? String) == "pem" {
                outcome.refused += 1
                return
            }
            record(answer, "stage on TLS host", &outcome) { result in result["pinStatus"] as? String == "staged" ? .staging : nil }
        case 2:
            let answer = try await machine.call("verifyCert", ["host": tlsHost.address, "timeoutMs": 10_000])
            record(answer, "verifyCert TLS host", &outcome) { result in
                let event = { (name: String) in MachineOutcome.Step.write(Acknowledged(host: key, event: name, fingerprint: rotatedTo.fingerprint)) }
                switch (result["status"] as? String, result["event"] as? String) {
                case ("match", "rotated"): return event("rotated")
                // A verdict is recorded only when it is a change (a first mismatch, a match after
                // one): whether this one was cannot be told from the answer.
                case ("match", nil), ("mismatch", _): return .verdict
                case ("unpinned", _): return .nothing
                default: return nil
                }
            }
        default:
            let expected = kind == 3 ? rotatedTo : mine
            let answer = try await machine.call("deleteCert", ["host": tlsHost.address, "expectedFingerprint": expected.fingerprint])
            record(answer, "deleteCert TLS host", &outcome) { result in
                let deleted = (result["deleted"] as? [String: Any])?["sha256Fingerprint"] as? String
                return deleted == expected.fingerprint ? .write(Acknowledged(host: key, event: "deleted", fingerprint: expected.fingerprint)) : nil
            }
        }
    }

    /// Files an answer: a result through `judge` (nil: not an allowed result), a refusal
    /// (-32001 no pin, -32002 a different pin) as refused, anything else as unexpected.
    private func record(_ answer: Received, _ what: String, _ outcome: inout MachineOutcome, _ judge: ([String: Any]) -> MachineOutcome.Step?) {
        if let code = answer.errorCode {
            if code == -32001 || code == -32002 { outcome.refused += 1 } else { outcome.unexpected.append("\(what): \(answer.text)") }
            return
        }
        switch judge(answer.object["result"] as? [String: Any] ?? [:]) {
        case .write(let write): outcome.acknowledged.append(write)
        case .staging: outcome.stagings += 1
        case .verdict: outcome.verdicts += 1
        case .nothing: break
        case nil: outcome.unexpected.append("\(what): \(answer.text)")
        }
    }
}

extension MachineOutcome {
    /// What one answer says was done.
    enum Step {
        case write(Acknowledged)
        case staging
        case verdict
        case nothing
    }
}
