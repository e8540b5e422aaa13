import Testing
import TofuCore

@testable import TofuStore

/// Pin if absent, replace, delete: each a single transaction whose answer is what happened,
/// with its history, on every backend.
@Suite struct PinStorePinTests {
    @Test(arguments: StoreKind.all)
    func aFirstPinIsPinnedThenMatchedAndADifferentOneChangesNothing(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")

        let (pin, status) = try await store.pin(certificates.a, for: host)
        #expect(status == .pinned)
        #expect(pin.host == host)
        #expect(pin.certificate == certificates.a)
        #expect(pin.policy == .certificate)
        #expect(pin.next == nil)
        #expect(pin.lastVerifiedAt == nil)
        #expect(try await store.pin(for: host) == pin)

        let (again, againStatus) = try await store.pin(certificates.a, for: host)
        #expect(againStatus == .matched)
        #expect(again == pin)

        guard case .certificateMismatch(let mismatchHost, let pinned, let presented, let expected)? = await tofuError({ try await store.pin(certificates.b, for: host) }) else {
            Issue.record("a different certificate was not refused as a mismatch")
            return
        }
        #expect(mismatchHost == host)
        #expect(pinned == pin)
        #expect(presented == certificates.b)
        #expect(expected == nil)
        #expect(try await store.pin(for: host) == pin, "a refused pin changed the stored one")
        #expect(try await store.kinds(of: host) == [.pinned], "a match or a refusal wrote history")
    }

    @Test(arguments: StoreKind.all)
    func aPinTakesItsPolicyAndAMatchCanChangeIt(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        let (pin, _) = try await store.pin(certificates.a, for: host, policy: .publicKey)
        #expect(pin.policy == .publicKey)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.first?.detail.hasSuffix(" | policy: publicKey") == true, "\(history)")

        let (matched, status) = try await store.pin(certificates.a, for: host, policy: .certificate)
        #expect(status == .matched)
        #expect(matched.policy == .certificate)
        #expect(try await store.pin(for: host)?.policy == .certificate)
        #expect(try await store.kinds(of: host) == [.pinned, .policyChanged])
        // The same policy again is no change.
        _ = try await store.pin(certificates.a, for: host, policy: .certificate)
        #expect(try await store.kinds(of: host) == [.pinned, .policyChanged])
    }

    @Test(arguments: StoreKind.all)
    func aDeleteNeedsThePinAndTheExpectedCertificate(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.certNotFound(host: host)) { try await store.delete(host, expected: nil) }

        let (pin, _) = try await store.pin(certificates.a, for: host)
        let wrong = certificates.b.sha256Fingerprint
        await #expect(throws: TofuError.certificateMismatch(host: host, pinned: pin, presented: nil, expectedFingerprint: wrong)) {
            try await store.delete(host, expected: wrong)
        }
        #expect(try await store.pin(for: host) == pin)

        guard case .pin(let deleted) = try await store.delete(host, expected: certificates.a.sha256Fingerprint) else {
            Issue.record("the pin was not deleted as a pin")
            return
        }
        #expect(deleted == pin)
        #expect(try await store.pin(for: host) == nil)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .deleted])
        #expect(history.last?.sha256Fingerprint == certificates.a.sha256Fingerprint)

        // Without an expected certificate, whatever is pinned goes.
        _ = try await store.pin(certificates.b, for: host)
        guard case .pin(let other) = try await store.delete(host, expected: nil) else {
            Issue.record("the pin was not deleted as a pin")
            return
        }
        #expect(other.certificate == certificates.b)
        await #expect(throws: TofuError.certNotFound(host: host)) { try await store.delete(host, expected: nil) }
    }

    /// A damaged row is how an operator's repair starts: it is named, deleted without an
    /// expected certificate or with exactly the fingerprint it holds, and kept otherwise.
    @Test(arguments: StoreKind.all)
    func aDamagedPinIsDeletedOnlyWithoutExpectationOrWithItsOwnFingerprint(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        try underTest.damage(.pinCertificate, of: host)

        guard case .damagedRow(let row, _)? = await tofuError({ try await store.pin(for: host) }) else {
            Issue.record("a damaged pin was read")
            return
        }
        #expect(row.table == "pin")
        #expect(row.host == host.description)
        #expect(row.column == "der")

        // Another fingerprint cannot be shown to differ from what the row holds: refused.
        guard case .damagedRow(let refused, _)? = await tofuError({ try await store.delete(host, expected: certificates.b.sha256Fingerprint) }) else {
            Issue.record("a damaged row was deleted against another expected fingerprint")
            return
        }
        #expect(refused == row)
        #expect(try await store.kinds(of: host) == [.pinned])

        guard case .damaged(let deleted) = try await store.delete(host, expected: certificates.a.sha256Fingerprint) else {
            Issue.record("the damaged row was not deleted as one")
            return
        }
        #expect(deleted == row)
        #expect(try await store.pin(for: host) == nil)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .deleted])
        #expect(history.last?.sha256Fingerprint == certificates.a.sha256Fingerprint)
        #expect(history.last?.detail.hasPrefix("deleted a damaged row (id \(row.rowid)): der ") == true, "\(history)")
    }

    @Test(arguments: StoreKind.all)
    func aPinWhoseFingerprintCannotBeReadIsDeletedOnlyWithoutExpectation(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        try underTest.damage(.pinFingerprint, of: host)

        guard case .damagedRow? = await tofuError({ try await store.delete(host, expected: certificates.a.sha256Fingerprint) }) else {
            Issue.record("a row whose fingerprint cannot be read was deleted against an expected one")
            return
        }
        guard case .damaged(let row) = try await store.delete(host, expected: nil) else {
            Issue.record("the damaged row was not deleted as one")
            return
        }
        #expect(row.column == "sha256Fingerprint")
        #expect(try await store.pin(for: host) == nil)
        // The audit trail keeps the deletion, with all zeros for the unreadable fingerprint.
        let last = try await store.history(host: host, limit: 1).last
        #expect(last?.kind == .deleted)
        #expect(last?.sha256Fingerprint == Fingerprint(digest: [UInt8](repeating: 0, count: 32)))
    }

    @Test(arguments: StoreKind.all)
    func aReplacementKeepsThePolicyAndTheStagedCertificate(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host, policy: .publicKey)
        _ = try await store.stage(certificates.c, for: host)

        let (replaced, status) = try await store.replace(host, expected: certificates.a.sha256Fingerprint, with: certificates.b)
        #expect(status == .replaced)
        #expect(replaced.certificate == certificates.b)
        #expect(replaced.policy == .publicKey)
        #expect(replaced.next?.certificate == certificates.c)
        #expect(try await store.pin(for: host) == replaced)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .staged, .replaced])
        #expect(history.last?.detail.hasSuffix(" | replaced: \(certificates.a.sha256Fingerprint)") == true)

        // Replacing with the staged certificate unstages it; a new policy is recorded.
        let (promoted, _) = try await store.replace(host, expected: certificates.b.sha256Fingerprint, with: certificates.c, policy: .certificate)
        #expect(promoted.certificate == certificates.c)
        #expect(promoted.next == nil)
        #expect(promoted.policy == .certificate)
        #expect(try await store.kinds(of: host) == [.pinned, .staged, .replaced, .replaced, .policyChanged])
    }

    /// What another process did between the accept and the replacement is settled honestly.
    @Test(arguments: StoreKind.all)
    func aReplacementSettlesWhatHappenedMeanwhile(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let other = underTest.another()
        let host = try hostKey("kong.example")
        let expected = certificates.a.sha256Fingerprint

        // Deleted meanwhile: the accepted certificate is pinned.
        _ = try await store.pin(certificates.a, for: host)
        _ = try await other.delete(host, expected: nil)
        let (pinned, pinnedStatus) = try await store.replace(host, expected: expected, with: certificates.b)
        #expect(pinnedStatus == .pinned)
        #expect(pinned.certificate == certificates.b)
        #expect(try await store.history(host: host, limit: 1).last?.detail.contains("had been deleted meanwhile") == true)

        // Already replaced by the same certificate: a match, nothing written.
        let before = try await store.kinds(of: host)
        let (matched, matchedStatus) = try await store.replace(host, expected: expected, with: certificates.b)
        #expect(matchedStatus == .matched)
        #expect(matched == pinned)
        #expect(try await store.kinds(of: host) == before)

        // Changed to a third certificate: refused, nothing changes.
        _ = try await other.replace(host, expected: certificates.b.sha256Fingerprint, with: certificates.c)
        let third = try #require(try await store.pin(for: host))
        await #expect(throws: TofuError.certificateMismatch(host: host, pinned: third, presented: certificates.b, expectedFingerprint: expected)) {
            try await store.replace(host, expected: expected, with: certificates.b)
        }
        #expect(try await store.pin(for: host) == third)
        await other.close()
    }

    /// Many writers of one host, through two stores (two processes): exactly one first use, and
    /// every other answer agrees with it.
    @Test(arguments: StoreKind.all)
    func racingFirstUsesLeaveExactlyOnePin(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let stores = [underTest.store, underTest.another()]
        let host = try hostKey("kong.example")
        let candidates = [certificates.a, certificates.b, certificates.c]
        let outcomes = await withTaskGroup(of: (CertificateSummary, Result<PinStatus, TofuError>).self) { group in
            for index in 0..<30 {
                let store = stores[index % 2]
                let certificate = candidates[index % 3]
                group.addTask {
                    do throws(TofuError) {
                        return (certificate, .success(try await store.pin(certificate, for: host).1))
                    } catch {
                        return (certificate, .failure(error))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let winners = outcomes.filter { if case .success(.pinned) = $0.1 { true } else { false } }
        #expect(winners.count == 1, "\(outcomes)")
        let pinned = try #require(try await stores[0].pin(for: host))
        #expect(pinned.certificate == winners.first?.0)
        for (certificate, outcome) in outcomes {
            switch outcome {
            case .success(.pinned): break
            case .success(.matched): #expect(certificate == pinned.certificate)
            case .failure(.certificateMismatch): #expect(certificate != pinned.certificate)
            default: Issue.record("unexpected \(outcome)")
            }
        }
        #expect(try await stores[1].kinds(of: host) == [.pinned])
        await stores[1].close()
    }
}
