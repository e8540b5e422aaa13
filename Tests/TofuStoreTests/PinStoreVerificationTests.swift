import Testing
import TofuCore

@testable import TofuStore

/// What a completed handshake does to a pin (recordVerification, trustOnFirstUse), and the
/// staged next certificate and the policy that let a planned rotation pass: on every backend.
@Suite struct PinStoreVerificationTests {
    @Test(arguments: StoreKind.all)
    func aVerificationNeverPinsAndRecordsChangesNotEveryLook(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let underTest = try kind.make()
        let store = underTest.store
        let host = try hostKey("kong.example")
        guard case .unpinned = try await store.recordVerification(of: certificates.a, for: host) else {
            Issue.record("an unpinned host was not reported unpinned")
            return
        }
        #expect(try await store.pin(for: host) == nil)
        #expect(try await store.kinds(of: host) == [])

        _ = try await store.pin(certificates.a, for: host)
        guard case .match(let matched) = try await store.recordVerification(of: certificates.a, for: host) else {
            Issue.record("the pinned certificate did not match")
            return
        }
        #expect(matched.lastVerifiedAt != nil)
        #expect(try await store.pin(for: host)?.lastVerifiedAt == matched.lastVerifiedAt)

        guard case .mismatch(let current) = try await store.recordVerification(of: certificates.b, for: host) else {
            Issue.record("another certificate did not mismatch")
            return
        }
        #expect(current == matched)
        #expect(try await store.pin(for: host) == matched, "a mismatch changed the pin")
        var history = try await store.history(host: host, limit: 10)
        // A match that follows the pinning is no news; the first mismatch is.
        #expect(history.map(\.kind) == [.pinned, .mismatch])
        #expect(history.last?.sha256Fingerprint == certificates.b.sha256Fingerprint)
        #expect(history.last?.detail.hasSuffix(" | pinned: \(certificates.a.sha256Fingerprint)") == true, "\(history)")

        // Every hour of a verifyCert {all}: the same mismatch again is not recorded again...
        for _ in 0..<3 {
            guard case .mismatch = try await store.recordVerification(of: certificates.b, for: host) else {
                Issue.record("the same certificate did not mismatch again")
                return
            }
        }
        #expect(try await store.kinds(of: host) == [.pinned, .mismatch])
        // ...the match after it is (the host is back), and the matches after that are not...
        guard case .match = try await store.recordVerification(of: certificates.a, for: host) else {
            Issue.record("the pinned certificate did not match")
            return
        }
        _ = try await store.recordVerification(of: certificates.a, for: host)
        history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .mismatch, .matched])
        #expect(history.last?.detail.contains("matches again after the mismatch of \(history[1].at)") == true, "\(history)")
        // ...and so is each mismatch after a match, and each new certificate presented.
        _ = try await store.recordVerification(of: certificates.b, for: host)
        _ = try await store.recordVerification(of: certificates.c, for: host)
        _ = try await store.recordVerification(of: certificates.c, for: host)
        history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .mismatch, .matched, .mismatch, .mismatch])
        #expect(history.suffix(2).map(\.sha256Fingerprint) == [certificates.b.sha256Fingerprint, certificates.c.sha256Fingerprint])
        // Another process decides from the same history: c again is no news there either.
        let other = underTest.another()
        _ = try await other.recordVerification(of: certificates.c, for: host)
        #expect(try await other.kinds(of: host) == [.pinned, .mismatch, .matched, .mismatch, .mismatch])
        await other.close()
    }

    @Test(arguments: StoreKind.all)
    func stagingNeedsAPinAndAnotherCertificate(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.certNotFound(host: host)) { try await store.stage(certificates.b, for: host) }
        _ = try await store.pin(certificates.a, for: host)
        guard case .invalidParameter(let field, _)? = await tofuError({ try await store.stage(certificates.a, for: host) }) else {
            Issue.record("the pinned certificate itself was staged")
            return
        }
        #expect(field == "pem")

        let staged = try await store.stage(certificates.b, for: host)
        #expect(staged.next?.certificate == certificates.b)
        #expect(staged.certificate == certificates.a)
        #expect(try await store.pin(for: host) == staged)
        // The same again changes nothing; another replaces it, and the history says so.
        #expect(try await store.stage(certificates.b, for: host) == staged)
        #expect(try await store.kinds(of: host) == [.pinned, .staged])
        let restaged = try await store.stage(certificates.c, for: host)
        #expect(restaged.next?.certificate == certificates.c)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .staged, .staged])
        #expect(history.last?.detail.hasSuffix(" | replaces staged: \(certificates.b.sha256Fingerprint)") == true, "\(history)")
        #expect(try await store.list(after: nil, limit: 10, stagedOnly: true).pins.map(\.host) == [host])
    }

    @Test(arguments: StoreKind.all)
    func unstagingRemovesOnlyTheExpectedStagedCertificate(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.certNotFound(host: host)) { try await store.unstage(host, expected: nil) }
        let (pin, _) = try await store.pin(certificates.a, for: host)
        await #expect(throws: TofuError.nothingStaged(host: host)) { try await store.unstage(host, expected: nil) }
        let staged = try await store.stage(certificates.b, for: host)
        let wrong = certificates.c.sha256Fingerprint
        await #expect(throws: TofuError.stagedMismatch(host: host, pin: staged, expectedFingerprint: wrong)) {
            try await store.unstage(host, expected: wrong)
        }
        #expect(try await store.pin(for: host) == staged)

        let before = try await store.unstage(host, expected: certificates.b.sha256Fingerprint)
        #expect(before == staged, "unstage returns the pin as it was")
        #expect(try await store.pin(for: host) == pin)
        #expect(try await store.kinds(of: host) == [.pinned, .staged, .unstaged])
        #expect(try await store.list(after: nil, limit: 10, stagedOnly: true).pins.isEmpty)
    }

    @Test(arguments: StoreKind.all)
    func aPolicyIsSetOnAPinOnly(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.certNotFound(host: host)) { try await store.setPolicy(.publicKey, for: host) }
        _ = try await store.pin(certificates.a, for: host)
        #expect(try await store.setPolicy(.certificate, for: host).policy == .certificate)
        #expect(try await store.kinds(of: host) == [.pinned], "setting the same policy is no change")
        #expect(try await store.setPolicy(.publicKey, for: host).policy == .publicKey)
        #expect(try await store.pin(for: host)?.policy == .publicKey)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .policyChanged])
        #expect(history.last?.detail == "policy certificate -> publicKey")
    }

    /// The staged certificate, presented in a live handshake, becomes the pin in one step; a
    /// cancel asked inside the transaction leaves everything as it was.
    @Test(arguments: StoreKind.all)
    func aPresentedStagedCertificateIsPromotedUnlessCancelled(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        let staged = try await store.stage(certificates.b, for: host)

        await #expect(throws: TofuError.cancelled) { try await store.recordVerification(of: certificates.b, for: host, beforeChanging: { false }) }
        #expect(try await store.pin(for: host) == staged)
        #expect(try await store.kinds(of: host) == [.pinned, .staged])

        guard case .rotated(let rotated, let previous) = try await store.recordVerification(of: certificates.b, for: host) else {
            Issue.record("the staged certificate was not promoted")
            return
        }
        #expect(previous == certificates.a)
        #expect(rotated.certificate == certificates.b)
        #expect(rotated.next == nil)
        #expect(rotated.lastVerifiedAt != nil)
        #expect(try await store.pin(for: host) == rotated)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .staged, .rotated])
        #expect(history.last?.detail.hasPrefix("promoted the staged certificate | now subject: ") == true, "\(history)")
        // The old certificate is now a mismatch.
        guard case .mismatch = try await store.recordVerification(of: certificates.a, for: host) else {
            Issue.record("the replaced certificate still matched")
            return
        }
    }

    /// Under policy publicKey a newer certificate with the pinned key renews the pin and an
    /// older one matches by the key and changes nothing; under policy certificate both mismatch.
    @Test(arguments: StoreKind.all)
    func aSameKeyCertificateRenewsOnlyUnderPolicyPublicKeyAndOnlyForward(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let strict = try hostKey("strict.example")
        let keyed = try hostKey("keyed.example")
        _ = try await store.pin(certificates.a, for: strict)
        guard case .mismatch = try await store.recordVerification(of: certificates.aRenewed, for: strict) else {
            Issue.record("a same-key certificate matched under policy certificate")
            return
        }

        _ = try await store.pin(certificates.a, for: keyed, policy: .publicKey)
        _ = try await store.stage(certificates.c, for: keyed)
        await #expect(throws: TofuError.cancelled) { try await store.recordVerification(of: certificates.aRenewed, for: keyed, beforeChanging: { false }) }
        guard case .renewed(let renewed, let previous) = try await store.recordVerification(of: certificates.aRenewed, for: keyed) else {
            Issue.record("a newer same-key certificate did not renew")
            return
        }
        #expect(previous == certificates.a)
        #expect(renewed.certificate == certificates.aRenewed)
        #expect(renewed.next?.certificate == certificates.c, "a renewal keeps what is staged")
        #expect(try await store.pin(for: keyed) == renewed)

        guard case .matchedByKey(let kept) = try await store.recordVerification(of: certificates.a, for: keyed) else {
            Issue.record("the older same-key certificate did not match by its key")
            return
        }
        #expect(kept.certificate == certificates.aRenewed, "an older certificate replaced a newer one")
        #expect(try await store.pin(for: keyed)?.certificate == certificates.aRenewed)
        // A match by key after the renewal is no news: the renewal was the last verdict.
        #expect(try await store.kinds(of: keyed) == [.pinned, .staged, .renewed])
    }

    @Test(arguments: StoreKind.all)
    func trustOnFirstUsePinsAnUnpinnedHostUnlessCancelled(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        await #expect(throws: TofuError.cancelled) {
            try await store.trustOnFirstUse(certificates.a, for: host, accepting: nil, beforePinning: { false })
        }
        #expect(try await store.pin(for: host) == nil)
        #expect(try await store.kinds(of: host) == [])

        guard case .pinned(let pin) = try await store.trustOnFirstUse(certificates.a, for: host, accepting: nil, policy: .publicKey) else {
            Issue.record("the first use was not pinned")
            return
        }
        #expect(pin.certificate == certificates.a)
        #expect(pin.policy == .publicKey)
        #expect(try await store.pin(for: host) == pin)

        guard case .matched(let matched, let policyChanged) = try await store.trustOnFirstUse(certificates.a, for: host, accepting: nil) else {
            Issue.record("the pinned certificate did not match")
            return
        }
        #expect(matched == pin)
        #expect(!policyChanged)
        // A policy change is a change: it waits for the caller's consent like any other.
        await #expect(throws: TofuError.cancelled) {
            try await store.trustOnFirstUse(certificates.a, for: host, accepting: nil, policy: .certificate, beforePinning: { false })
        }
        #expect(try await store.pin(for: host)?.policy == .publicKey)
        guard case .matched(let changed, true) = try await store.trustOnFirstUse(certificates.a, for: host, accepting: nil, policy: .certificate) else {
            Issue.record("the policy change was not reported")
            return
        }
        #expect(changed.policy == .certificate)
        #expect(try await store.kinds(of: host) == [.pinned, .policyChanged])
    }

    @Test(arguments: StoreKind.all)
    func trustOnFirstUseRefusesAnotherCertificateAndAcceptsOnlyTheOneAccepted(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        let unpinned = try hostKey("unpinned.example")

        // Accepting one certificate refuses every other, pinned or not.
        guard case .notAccepted(nil) = try await store.trustOnFirstUse(certificates.a, for: unpinned, accepting: certificates.b.sha256Fingerprint) else {
            Issue.record("an unaccepted certificate was not refused on an unpinned host")
            return
        }
        #expect(try await store.pin(for: unpinned) == nil)
        #expect(try await store.kinds(of: unpinned) == [])

        let (pin, _) = try await store.pin(certificates.a, for: host)
        guard case .mismatch(let current) = try await store.trustOnFirstUse(certificates.b, for: host, accepting: nil) else {
            Issue.record("another certificate was not a mismatch")
            return
        }
        #expect(current == pin)
        guard case .notAccepted(let stillPinned) = try await store.trustOnFirstUse(certificates.b, for: host, accepting: certificates.c.sha256Fingerprint) else {
            Issue.record("an unaccepted certificate was not refused")
            return
        }
        #expect(stillPinned == pin)
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.pinned, .mismatch, .mismatch])
        #expect(history.last?.detail.hasSuffix(" | accepted: \(certificates.c.sha256Fingerprint)") == true, "\(history)")

        // The accepted one is accepted for replacement, and not replaced yet.
        guard case .replacementAccepted(let toReplace) = try await store.trustOnFirstUse(certificates.b, for: host, accepting: certificates.b.sha256Fingerprint) else {
            Issue.record("the accepted certificate was not accepted")
            return
        }
        #expect(toReplace == pin)
        #expect(try await store.pin(for: host) == pin)
        #expect(try await store.kinds(of: host) == [.pinned, .mismatch, .mismatch])
    }

    @Test(arguments: StoreKind.all)
    func trustOnFirstUsePromotesTheStagedCertificateAndRenewsByKey(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        _ = try await store.pin(certificates.a, for: host)
        _ = try await store.stage(certificates.b, for: host)
        await #expect(throws: TofuError.cancelled) {
            try await store.trustOnFirstUse(certificates.b, for: host, accepting: nil, beforePinning: { false })
        }
        guard case .rotated(let rotated, let previous) = try await store.trustOnFirstUse(certificates.b, for: host, accepting: nil, policy: .publicKey) else {
            Issue.record("the staged certificate was not promoted")
            return
        }
        #expect(previous == certificates.a)
        #expect(rotated.certificate == certificates.b)
        #expect(rotated.next == nil)
        #expect(rotated.policy == .publicKey)
        #expect(try await store.kinds(of: host) == [.pinned, .staged, .rotated, .policyChanged])

        let keyed = try hostKey("keyed.example")
        _ = try await store.pin(certificates.a, for: keyed, policy: .publicKey)
        guard case .renewed(let renewed, _) = try await store.trustOnFirstUse(certificates.aRenewed, for: keyed, accepting: nil) else {
            Issue.record("a newer same-key certificate did not renew")
            return
        }
        #expect(renewed.certificate == certificates.aRenewed)
        guard case .matched(let kept, false) = try await store.trustOnFirstUse(certificates.a, for: keyed, accepting: nil) else {
            Issue.record("an older same-key certificate did not match")
            return
        }
        #expect(kept.certificate == certificates.aRenewed)
    }

    @Test(arguments: StoreKind.all)
    func aMismatchIsRecordedWhateverIsPinned(kind: StoreKind) async throws {
        let certificates = try await Certificates.get()
        let store = try kind.make().store
        let host = try hostKey("kong.example")
        try await store.recordMismatch(certificates.b, for: host, why: "on reconnecting")
        let history = try await store.history(host: host, limit: 10)
        #expect(history.map(\.kind) == [.mismatch])
        #expect(history.first?.sha256Fingerprint == certificates.b.sha256Fingerprint)
        #expect(history.first?.detail.hasSuffix(" | on reconnecting") == true)
        #expect(try await store.pin(for: host) == nil)
    }
}
