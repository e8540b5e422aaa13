import Foundation
import JSONRPC
import TofuCore
import TofuStore
import TofuTLS

/// A progress token (verifyCert's `progressToken`, MCP's `_meta.progressToken`) is repeated in
/// every notification of a run over every pin: a long one would let a peer that does not read
/// its output multiply the token's size by the number of pins in tofu-rpc's memory (a 4 MB
/// token over 100 pins held 400 MB). So a string token is bounded; an integer is one anyway.
public enum ProgressToken {
    public static let maxBytes = 256
}

/// verifyCert: what a host presents now, against its pin. Read-only: it never pins and never
/// deletes; a match sets lastVerifiedAt, and matches and mismatches go into certHistory.
struct VerifyMethods: Sendable {
    let store: PinStore

    static let defaultConcurrency = 32
    /// A presented certificate that ends within this many days is `expiringSoon`, unless the
    /// call's expiringWithinDays says otherwise.
    static let defaultExpiringWithinDays = 30

    func register(in table: inout MethodTable) {
        table.register("verifyCert") { params, context in try await verifyCert(params, context) }
    }

    func verifyCert(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "pem", "timeoutMs", "all", "concurrency", "progressToken", "expiringWithinDays"])
        let timeout = try named.probeTimeout()
        let days = try named.integer("expiringWithinDays", in: 0...36_500, default: Self.defaultExpiringWithinDays) ?? Self.defaultExpiringWithinDays
        let soon = Timestamp.now(plusDays: days)
        if try named.optional("all", as: Bool.self) == true {
            for field in ["host", "pem"] where named.members[field] != nil {
                throw ResponseError.invalidParams(field: field, "cannot be combined with 'all'")
            }
            let concurrency = try named.integer("concurrency", in: 1...256, default: Self.defaultConcurrency) ?? Self.defaultConcurrency
            let token: JSONValue? = try named.optional("progressToken")
            if let token, token.intValue == nil, (token.stringValue?.utf8.count ?? Int.max) > ProgressToken.maxBytes {
                throw ResponseError.invalidParams(field: "progressToken", "must be a string of at most \(ProgressToken.maxBytes) bytes, or an integer")
            }
            return try await verifyAll(timeout: timeout, concurrency: concurrency, progressToken: token, expiringBefore: soon, context: context)
        }
        for field in ["concurrency", "progressToken"] where named.members[field] != nil {
            throw ResponseError.invalidParams(field: field, "only goes with 'all': true")
        }
        if named.members["all"] != nil && named.members["host"] == nil {
            throw ResponseError.invalidParams(field: "all", "must be true to verify every pin; otherwise give 'host'")
        }
        let host = try named.hostKey("host")
        if named.members["pem"] != nil {
            if named.members["timeoutMs"] != nil {
                throw ResponseError.invalidParams(field: "timeoutMs", "does not apply to an offline check with 'pem'")
            }
            return try await verifyOffline(host, presented: try named.certificate("pem"), expiringBefore: soon)
        }
        var result = try await answering { try await verifyLive(host, timeout: timeout, context: context) }
        result.expiringBefore = soon
        return result.json
    }

    // MARK: - Modes

    /// One host, live. `mayChange` is asked inside the store's transaction before the pin is
    /// promoted or renewed: false leaves it as it is and the call ends cancelled.
    func verifyLive(
        _ host: HostKey, timeout: Int, context: RequestContext? = nil, mayChange: @escaping @Sendable () -> Bool = { true }
    ) async throws -> VerifyResult {
        switch await TLSProbe.fetch(host, timeoutMilliseconds: timeout) {
        case .failure(let failure):
            if failure.reason == .cancelled || Task.isCancelled { throw CancellationError() }
            let pin = try await store.pin(for: host)
            return VerifyResult(host: host, status: .unreachable, pinned: pin, presented: nil, failure: failure)
        case .success(let presented):
            // The comparison is recorded (lastVerifiedAt, history): from there the verdict is the answer.
            switch try await committing(context, { try await store.recordVerification(of: presented.leaf, for: host, beforeChanging: mayChange) }) {
            case .unpinned:
                return VerifyResult(host: host, status: .unpinned, pinned: nil, presented: presented.leaf, probe: presented)
            case .match(let pin):
                return VerifyResult(host: host, status: .match, pinned: pin, presented: presented.leaf, probe: presented, matched: .pinned)
            case .rotated(let pin, let previous):
                return VerifyResult(
                    host: host, status: .match, pinned: pin, presented: presented.leaf, probe: presented, matched: .next,
                    event: .rotated, previous: previous)
            case .renewed(let pin, let previous):
                return VerifyResult(
                    host: host, status: .match, pinned: pin, presented: presented.leaf, probe: presented, matched: .renewal,
                    event: .renewed, previous: previous)
            case .matchedByKey(let pin):
                return VerifyResult(host: host, status: .match, pinned: pin, presented: presented.leaf, probe: presented, matched: .sameKey)
            case .mismatch(let pin):
                // Its next step names the user the controller was added with, when it was.
                let server = try? await store.server(for: host)
                return VerifyResult(host: host, status: .mismatch, pinned: pin, presented: presented.leaf, probe: presented, server: server ?? nil)
            }
        }
    }

    /// One host, against a certificate given as PEM; changes nothing. The staged certificate
    /// and, under policy publicKey, the pinned key match too (`matched` says which), as a live
    /// handshake would, but only a live handshake promotes or renews.
    func verifyOffline(_ host: HostKey, presented: CertificateSummary, expiringBefore: String? = nil) async throws -> JSONValue {
        let pin = try await answering { try await store.pin(for: host) }
        guard let pin else { return VerifyResult(host: host, status: .unpinned, pinned: nil, presented: presented, expiringBefore: expiringBefore).json }
        let judgement = PinStore.judge(pin, presented)
        let status: VerifyResult.Status = judgement == .different ? .mismatch : .match
        let server = status == .mismatch ? (try? await store.server(for: host)) ?? nil : nil
        return VerifyResult(
            host: host, status: status, pinned: pin, presented: presented, matched: judgement == .different ? nil : judgement, expiringBefore: expiringBefore,
            server: server
        ).json
    }

    /// Every pin, `concurrency` at a time, in host order; `$/progress` after each host when a token is given.
    ///
    /// A cancel stops new probes and any promotion or renewal not yet begun; probes under way
    /// finish. If a pin changed before the cancel (or before a failure ended the run), the error
    /// answer says which (`data.changed`), so no change goes unreported.
    func verifyAll(
        timeout: Int, concurrency: Int, progressToken: JSONValue?, expiringBefore: String? = nil, context: RequestContext
    ) async throws -> JSONValue {
        let hosts = try await answering { try await store.hostKeys() }
        let total = hosts.count
        let stopped = CancelFlag()
        var results = [JSONValue?](repeating: nil, count: total)
        var changed: [JSONValue] = []
        var failure: (any Error)?
        await withTaskCancellationHandler {
            await withTaskGroup(of: Result<(Int, VerifyResult), any Error>.self) { group in
                var next = 0
                var done = 0
                func startNext() {
                    guard next < total, !stopped.isCancelled else { return }
                    let index = next
                    let host = hosts[index]
                    next += 1
                    group.addTask {
                        do {
                            return .success((index, try await answering { try await verifyLive(host, timeout: timeout, mayChange: { !stopped.isCancelled }) }))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                for _ in 0..<min(concurrency, total) { startNext() }
                while let outcome = await group.next() {
                    switch outcome {
                    case .success(let (index, verified)):
                        var result = verified
                        result.expiringBefore = expiringBefore
                        results[index] = result.json
                        if let event = result.event, let pin = result.pinned {
                            changed.append(["host": .string(result.host.description), "event": .string(event.rawValue), "pin": PinJSON.pin(pin)])
                        }
                        done += 1
                        if let progressToken, !stopped.isCancelled {
                            context.notify(
                                "$/progress",
                                params: [
                                    "token": progressToken,
                                    "value": [
                                        "done": .int(Int64(done)), "total": .int(Int64(total)),
                                        "host": .string(result.host.description), "status": .string(result.status.rawValue),
                                    ],
                                ])
                        }
                    case .failure(let error):
                        // The first failure ends the run; what is under way finishes first.
                        if failure == nil && !stopped.isCancelled { failure = error }
                        stopped.cancel()
                    }
                    startNext()
                }
            }
        } onCancel: {
            stopped.cancel()
        }
        if stopped.isCancelled || Task.isCancelled {
            var error = (failure as? ResponseError) ?? .cancelled
            if !changed.isEmpty {
                let hostsWords = changed.compactMap { change -> String? in
                    guard let host = change["host"]?.stringValue, let event = change["event"]?.stringValue else { return nil }
                    return "\(host) (\(event))"
                }
                error.message += ". Before it ended, these pins changed: \(hostsWords.joined(separator: ", "))"
                error.merge(["changed": .array(changed)])
            }
            if failure == nil || failure is ResponseError { throw error }
            throw failure ?? error
        }
        return ["results": .array(results.compactMap { $0 })]
    }

}

/// One host's verification, as answered.
struct VerifyResult: Sendable {
    enum Status: String, Sendable {
        case match, mismatch, unpinned, unreachable
    }

    var host: HostKey
    var status: Status
    var pinned: Pin?
    var presented: CertificateSummary?
    var failure: ProbeFailure?
    var probe: ProbeResult?
    /// On a match, what matched: the pin, the staged certificate, or the pinned key.
    var matched: PinJudgement?
    /// What the pin did on this live handshake, if anything.
    var event: PinStatus?
    /// The certificate a rotation or renewal replaced.
    var previous: CertificateSummary?
    /// A presented certificate valid now that ends before this time is `expiringSoon`
    /// (default: `VerifyMethods.defaultExpiringWithinDays` from now).
    var expiringBefore: String?
    /// On a mismatch, the DNA Center server recorded for the host, if any: the next step re-adds it.
    var server: DnacServer?

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "host": .string(host.description),
            "status": .string(status.rawValue),
            "pinned": pinned.map { PinJSON.pin($0) } ?? .null,
            "presented": presented.map { .object(PinJSON.certificate($0)) } ?? .null,
        ]
        if let failure {
            object["reason"] = .string(failure.reason.rawValue)
            object["detail"] = .string(failure.detail)
            if let alert = failure.alert { object["alert"] = .string(alert) }
        }
        if let matched {
            object["matched"] = switch matched {
            case .pinned: "pin"
            case .next: "next"
            case .sameKey, .renewal: "publicKey"
            case .different: .null
            }
        }
        if probe != nil || failure != nil { object["event"] = event.map { .string($0.rawValue) } ?? .null }
        if let previous { object["previous"] = .object(PinJSON.certificate(previous)) }
        if let presented {
            let soon = expiringBefore ?? Timestamp.now(plusDays: VerifyMethods.defaultExpiringWithinDays)
            object["presentedValidity"] = .string(presented.validity(at: Timestamp.now(), soon: soon).rawValue)
            if status == .mismatch, let pinned, let change = pinned.certificate.change(to: presented) {
                object["change"] = .string(change.rawValue)
            }
        }
        if let remedy { object.merge(remedy.details) { _, new in new } }
        if status == .mismatch, let accept = acceptCall { object["acceptCall"] = accept.json }
        if let probe {
            object["verification"] = .string(probe.verification)
            object["tlsVersion"] = .string(probe.tlsVersion)
            object["address"] = .string(probe.address)
        }
        return .object(object)
    }

    /// With the recorded server, the one-step re-pin that a mismatch calls for.
    private var acceptCall: Remedy.Call? {
        guard let server, let presented else { return nil }
        return Remedy.Call("addDnacServer", [
            "server": .string(host.description), "username": .string(server.username),
            "acceptFingerprint": .string(presented.sha256Fingerprint.description),
        ])
    }

    /// What a result other than a match means, and the next step (see Remedy).
    private var remedy: Remedy? {
        let key = JSONValue.string(host.description)
        switch status {
        case .match:
            return nil
        case .unpinned:
            let shown = presented.map { " It presents \(Remedy.certificate($0))." } ?? ""
            return Remedy(
                summary: "\(host) has no pin, and verifying never pins.\(shown)",
                steps: [Remedy.Step(text: "To see the pins:", calls: [Remedy.Call("listCerts")])])
        case .unreachable:
            let why = failure.map { Remedy.sentence(" over TLS (\($0.reason.rawValue)): \($0.detail)") } ?? " over TLS."
            return Remedy(
                summary: "Cannot reach \(host)\(why)" + (pinned == nil ? " It has no pin." : " Its pin is unchanged."),
                steps: [Remedy.Step(text: "Check the address, the port and that the host is up, then verify it again:", calls: [Remedy.Call("verifyCert", ["host": key])])])
        case .mismatch:
            guard let pinned, let presented else { return nil }
            let change = pinned.certificate.change(to: presented) ?? .newKey
            let changeWords = change == .newKey ? "new key: the controller generated a new certificate" : "same key, re-issued"
            let staged = pinned.next.map { " It is not the staged next certificate \(Remedy.certificate($0.certificate)) either." } ?? ""
            let summary = "\(host) presents a different certificate than the one pinned (\(changeWords)). Pinned \(Remedy.certificate(pinned.certificate)), presented \(Remedy.certificate(presented)).\(staged)"
            if let accept = acceptCall {
                return Remedy(
                    summary: summary,
                    steps: [
                        Remedy.Step(
                            text: "If the controller's certificate really changed, confirm \(presented.sha256Fingerprint) with its administrator, then re-pin in one step (the old pin stays unless the new certificate and the credentials are accepted):",
                            calls: [accept])
                    ])
            }
            return Remedy(
                summary: summary,
                steps: [
                    Remedy.Step(
                        text: "If the host's certificate really changed, confirm \(presented.sha256Fingerprint) with its administrator, then delete the stale pin and pin the new certificate:",
                        calls: [
                            Remedy.Call("deleteCert", ["host": key, "expectedFingerprint": .string(pinned.certificate.sha256Fingerprint.description)]),
                            Remedy.Call("pinCert", ["host": key]),
                        ])
                ])
        }
    }
}
