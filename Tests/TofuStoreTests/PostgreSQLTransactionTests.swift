import Foundation
import Testing
import TofuCore

@testable import TofuStore

/// The PostgreSQL backend's transactions under other connections (other machines): replacement
/// raced from many, and a connection lost at the moment of committing.
@Suite(.enabled(if: PostgreSQLStoreUnderTest.configured))
struct PostgreSQLTransactionTests {
    /// Eight stores (eight machines) replacing one pin at once, each accepting a replacement of
    /// the same pinned certificate: one replacement is made; every other call finds it made
    /// (matched) or finds a third certificate there (refused); the history says it once.
    @Test func racingReplacementsOfOnePinReplaceItOnce() async throws {
        let certificates = try await Certificates.get()
        let underTest = try PostgreSQLStoreUnderTest()
        let stores = [underTest.store] + (1..<8).map { _ in underTest.another() }
        let host = try hostKey("replaced.example")
        _ = try await stores[0].pin(certificates.a, for: host)
        for store in stores { _ = try await store.hostKeys() }
        let candidates = [certificates.b, certificates.c]
        let outcomes = await withTaskGroup(of: (CertificateSummary, Result<PinStatus, TofuError>).self) { group in
            for (index, store) in stores.enumerated() {
                let certificate = candidates[index % 2]
                group.addTask {
                    do throws(TofuError) {
                        return (certificate, .success(try await store.replace(host, expected: certificates.a.sha256Fingerprint, with: certificate).1))
                    } catch {
                        return (certificate, .failure(error))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let pinned = try #require(try await stores[0].pin(for: host))
        let replacements = outcomes.filter { if case .success(.replaced) = $0.1 { true } else { false } }
        #expect(replacements.count == 1, "\(outcomes.map(\.1))")
        for (certificate, outcome) in outcomes {
            switch outcome {
            case .success(.replaced), .success(.matched): #expect(certificate == pinned.certificate)
            case .failure(.certificateMismatch): #expect(certificate != pinned.certificate)
            default: Issue.record("unexpected \(outcome)")
            }
        }
        #expect(try await stores[0].kinds(of: host) == [.pinned, .replaced])
        for store in stores { await store.close() }
    }

    /// The connection ends while COMMIT runs (here: the server ends the session while a deferred
    /// trigger the test added holds the commit): the answer says the change may or may not have
    /// been made, and to look before retrying, never that nothing was changed.
    @Test func aConnectionLostWhileCommittingSaysTheOutcomeIsUnknown() async throws {
        let certificates = try await Certificates.get()
        let underTest = try PostgreSQLStoreUnderTest()
        let store = underTest.store
        _ = try await store.pin(certificates.a, for: try hostKey("first.example"))

        let test = try PGConnection(uri: underTest.cluster.uri, timeoutMilliseconds: 10_000, schema: underTest.schema)
        let key = String(Int64.random(in: 1...Int64.max))
        try test.execute("CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(\(key)); RETURN NULL; END $$")
        try test.execute("CREATE CONSTRAINT TRIGGER hold AFTER INSERT ON event DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold()")
        try test.execute("SELECT pg_advisory_lock(\(key))")

        let host = try hostKey("committing.example")
        let write = Task { () -> TofuError? in
            do throws(TofuError) {
                _ = try await store.pin(certificates.b, for: host)
                return nil
            } catch {
                return error
            }
        }
        var committing: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while committing == nil && ContinuousClock.now < deadline {
            let found = try test.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tofu' AND query = 'COMMIT' AND wait_event_type = 'Lock'")
            committing = found.rowCount == 1 ? found.text(0, 0) : nil
            if committing == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let pid = try #require(committing, "tofu's COMMIT never waited on the trigger")
        try test.execute("SELECT pg_terminate_backend(\(pid))")
        let error = await write.value
        guard case .storeUnavailable(let reason) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(reason.contains("while committing") && reason.contains("may or may not have been made"), "\(reason)")
        #expect(!reason.contains("nothing was changed"), "\(reason)")
        try test.execute("SELECT pg_advisory_unlock(\(key))")
        try test.execute("DROP TRIGGER hold ON event")

        // Here the server rolled it back: the next call reconnects and says so.
        #expect(try await store.pin(for: host) == nil)
        #expect(try await store.pin(certificates.b, for: host).1 == .pinned)
        await store.close()
    }
}
