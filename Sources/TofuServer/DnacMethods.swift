import Foundation
import JSONRPC
import Posix
import TofuCore
import TofuStore
import TofuTLS

/// addDnacServer, listDnacServers, removeDnacServer: PI's "Add Cisco DNA Center Server",
/// with trust on first use and a safe one-step re-pin.
///
/// The password lives only in this call: it is never stored, logged, echoed or put in an error.
struct DnacMethods: Sendable {
    let store: PinStore

    func register(in table: inout MethodTable) {
        table.register("addDnacServer") { params, context in try await addDnacServer(params, context) }
        table.register("listDnacServers") { params, _ in
            _ = try params.named(allowing: [])
            let servers = try await answering { try await store.servers() }
            return ["servers": .array(servers.map(Self.json))]
        }
        table.register("removeDnacServer") { params, context in
            let host = try params.named(allowing: ["server"]).hostKey("server")
            switch try await committing(context, { try await store.removeServer(host) }) {
            case .server(let removed): return ["removed": Self.json(removed)]
            case .damaged(let row): return ["removed": .null, "damagedRow": ResponseError.damagedRowJSON(row)]
            }
        }
    }

    /// What happened on the TLS session, decided on its own thread.
    private enum SessionOutcome: Sendable {
        case storeFailed(TofuError)
        case mismatch(current: Pin, presented: ProbeResult)
        case notAccepted(current: Pin?, presented: ProbeResult)
        case decided(TofuDecision, presented: ProbeResult, answer: Result<HTTPResponse, HTTPExchangeError>?)
    }

    private struct Request: Sendable {
        let host: HostKey
        let username: String
        let password: String
        let timeout: Int
        let checkCredentials: Bool
        let accept: Fingerprint?
        let policy: PinPolicy?
    }

    /// Runs the add in a task of its own, so that a cancel reaches it only until its first step
    /// that cannot be undone (see `CommitGate`); from there it completes, and its answer says
    /// what it changed and sent.
    func addDnacServer(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let request = try validate(params)
        // A damaged record of this server is reported before anything is pinned or sent.
        _ = try await answering { try await store.server(for: request.host) }
        let gate = CommitGate()
        // Past the point of no return, the answer (result or error) says what was done.
        defer { if gate.isCommitted { context.answerEvenIfCancelled() } }
        let work = Task { try await add(request, gate: gate) }
        return try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            if gate.cancel() { work.cancel() }
        }
    }

    private func add(_ request: Request, gate: CommitGate) async throws -> JSONValue {
        let store = self.store
        let cancelled = ProbeFailure(.cancelled, "the call was cancelled before anything was pinned or sent")
        let outcome = await TLSProbe.session(request.host, timeoutMilliseconds: request.timeout) { connection -> Result<SessionOutcome, ProbeFailure> in
            guard let presented = connection.presented else { return .failure(ProbeFailure(.protocol, "no certificate was presented")) }
            // Decided on this thread, inside the store's isolation, before a byte is sent.
            let decision = Result { () throws(TofuError) in
                try store.blocking { store throws(TofuError) in
                    try store.trustOnFirstUse(
                        presented.leaf, for: request.host, accepting: request.accept, policy: request.policy, beforePinning: { gate.commit() })
                }
            }
            switch decision {
            case .failure(.cancelled): return .failure(cancelled)
            case .failure(let error): return .success(.storeFailed(error))
            case .success(.mismatch(let current)):
                // Dropped here: not one byte of HTTP goes to a host whose certificate changed.
                return .success(.mismatch(current: current, presented: presented))
            case .success(.notAccepted(let current)):
                // Not the certificate the caller accepted: dropped, pinned or not.
                return .success(.notAccepted(current: current, presented: presented))
            case .success(let decision):
                guard request.checkCredentials else { return .success(.decided(decision, presented: presented, answer: nil)) }
                // The first byte of credentials cannot be taken back: from here the call completes.
                guard gate.commit() else { return .failure(cancelled) }
                let answer: Result<HTTPResponse, HTTPExchangeError>
                do throws(HTTPExchangeError) {
                    answer = .success(try DnacAuthentication.requestToken(
                        over: connection, username: request.username, password: request.password, timeoutMilliseconds: request.timeout))
                } catch {
                    answer = .failure(error)
                }
                return .success(.decided(decision, presented: presented, answer: answer))
            }
        }
        switch outcome {
        case .failure(let failure):
            if failure.reason == .cancelled || Task.isCancelled { throw CancellationError() }
            throw Self.unreachable(request, failure)
        case .success(.storeFailed(let error)):
            throw Self.stamped(ResponseError.from(error), sent: false, changed: false)
        case .success(.mismatch(let current, let presented)):
            throw Self.mismatch(request, pinned: current, presented: presented.leaf)
        case .success(.notAccepted(let current, let presented)):
            throw Self.notAccepted(request, pinned: current, presented: presented.leaf)
        case .success(.decided(let decision, let presented, let answer)):
            return try await finish(request, decision: decision, presented: presented, answer: answer, gate: gate)
        }
    }

    /// After the session: judge the controller's answer, re-pin if accepted, record the server.
    /// Every error from here says what was sent and what changed.
    private func finish(
        _ request: Request, decision: TofuDecision, presented: ProbeResult, answer: Result<HTTPResponse, HTTPExchangeError>?, gate: CommitGate
    ) async throws -> JSONValue {
        var pin: Pin
        var status: PinStatus
        var policyChanged = false
        switch decision {
        case .pinned(let new): (pin, status) = (new, .pinned)
        case .matched(let current, let changed): (pin, status, policyChanged) = (current, .matched, changed)
        case .rotated(let current, _): (pin, status) = (current, .rotated)
        case .renewed(let current, _): (pin, status) = (current, .renewed)
        case .replacementAccepted(let current): (pin, status) = (current, .replaced)
        case .mismatch(let current): throw Self.mismatch(request, pinned: current, presented: presented.leaf)
        case .notAccepted(let current): throw Self.notAccepted(request, pinned: current, presented: presented.leaf)
        }
        if let answer {
            if case .failure(let failure) = answer, let other = failure.presentedOnReconnect {
                // A reconnection met another certificate: that is a mismatch too, for the history.
                try? await store.recordMismatch(
                    other, for: request.host, why: "on reconnecting for the older token path | checked: \(presented.leaf.sha256Fingerprint)")
            }
            // Any failure here leaves the old pin in place: the replacement has not happened yet.
            do {
                try Self.judge(answer, request: request, pin: pin, status: status, policyChanged: policyChanged)
            } catch let refusal as ResponseError where refusal.code == ErrorCode(.authenticationFailed) {
                // The history keeps the refusal (who, and how the controller answered); failing to record it changes no answer.
                if case .success(let response) = answer {
                    try? await store.recordRefusedCredentials(
                        for: request.host, fingerprint: presented.leaf.sha256Fingerprint, username: request.username,
                        why: "HTTP \(response.status) on \(response.path)")
                }
                throw refusal
            }
        }
        let sent = answer != nil
        let host = request.host
        let sentWords = sent
            ? "\(host) accepted the credentials of '\(request.username)' over the connection whose certificate (\(presented.leaf.sha256Fingerprint)) was checked"
            : "\(host) presented the accepted certificate \(presented.leaf.sha256Fingerprint); no credentials were sent"
        // Without a credential check, nothing was irreversible so far: the re-pin or the record is the first change.
        guard gate.commit() else { throw CancellationError() }
        if case .replacementAccepted(let current) = decision {
            do throws(TofuError) {
                (pin, status) = try await store.replace(host, expected: current.certificate.sha256Fingerprint, with: presented.leaf, policy: request.policy)
            } catch {
                throw Self.afterwards(
                    ResponseError.from(error), "\(sentWords), but the pin could not be replaced, so it was not changed:",
                    sent: sent, authenticated: sent, changed: false)
            }
        }
        let server: DnacServer
        do throws(TofuError) {
            server = try await store.recordServer(
                host, username: request.username, fingerprint: pin.certificate.sha256Fingerprint, authenticated: sent ? true : nil)
        } catch {
            var pinWords = switch status {
            case .matched, .staged: "the pin's certificate is unchanged"
            case .pinned: "its certificate was pinned on first use (\(pin.certificate.sha256Fingerprint))"
            default: "the pin was \(status.rawValue) (\(pin.certificate.sha256Fingerprint))"
            }
            if policyChanged { pinWords += " and its policy set to \(pin.policy.rawValue)" }
            var failure = Self.afterwards(
                ResponseError.from(error), "\(sentWords) and \(pinWords), but the server could not be recorded:",
                sent: sent, authenticated: sent ? true : nil, changed: status != .matched || policyChanged)
            failure.merge(["pinStatus": .string(status.rawValue), "pin": PinJSON.pin(pin)])
            throw failure
        }
        return [
            "server": Self.json(server), "pin": PinJSON.pin(pin), "pinStatus": .string(status.rawValue),
            "authenticated": sent ? .bool(true) : .null,
        ]
    }

    /// An error that happened after something was sent or changed: `words` say what happened
    /// first, and `data` says it too (credentialsSent, authenticated, storeChanged).
    private static func afterwards(_ error: ResponseError, _ words: String, sent: Bool, authenticated: Bool?, changed: Bool) -> ResponseError {
        var error = stamped(error, sent: sent, changed: changed)
        error.message = words + " " + continued(error.message)
        var details: [String: JSONValue] = ["authenticated": authenticated.map(JSONValue.bool) ?? .null]
        if let summary = error.data?["summary"]?.stringValue { details["summary"] = .string(words + " " + continued(summary)) }
        error.merge(details)
        return error
    }

    /// A sentence continued after a colon: "The pin store …" becomes "the pin store …" (a
    /// host key or an acronym is left as it is).
    private static func continued(_ sentence: String) -> String {
        guard let first = sentence.first, first.isUppercase, sentence.dropFirst().first?.isLowercase == true else { return sentence }
        return first.lowercased() + sentence.dropFirst()
    }

    /// The same add again, with what the caller gave that still applies: for after a failure
    /// that the operator fixes outside tofu (the address, the controller, the password).
    private static func retry(_ request: Request) -> Remedy.Call {
        var params: [String: JSONValue] = ["server": .string(request.host.description), "username": .string(request.username)]
        if let accept = request.accept { params["acceptFingerprint"] = .string(accept.description) }
        if let policy = request.policy { params["policy"] = .string(policy.rawValue) }
        if !request.checkCredentials { params["checkCredentials"] = false }
        return Remedy.Call("addDnacServer", params)
    }

    /// `error` with `data.credentialsSent` and `data.storeChanged` (a pin or the server record).
    private static func stamped(_ error: ResponseError, sent: Bool, changed: Bool) -> ResponseError {
        var error = error
        error.merge(["credentialsSent": .bool(sent), "storeChanged": .bool(changed)])
        return error
    }

    /// 200 with a Token: authenticated. 401/403: the credentials were refused. Anything else:
    /// not a DNA Center (or not one that answers as documented).
    private static func judge(
        _ answer: Result<HTTPResponse, HTTPExchangeError>, request: Request, pin: Pin, status: PinStatus, policyChanged: Bool
    ) throws {
        let kept: [String: JSONValue] = [
            "host": .string(request.host.description),
            "pinStatus": .string(status == .replaced ? "kept" : status.rawValue),
            "pin": PinJSON.pin(pin),
            "credentialsSent": true, "storeChanged": .bool((status != .matched && status != .replaced) || policyChanged),
        ]
        var keptWords = switch status {
        case .replaced: "The old pin was kept."
        case .pinned: "The certificate was pinned on first use."
        case .rotated: "The staged certificate it presented was promoted to the pin before the credentials were sent."
        case .renewed: "The renewed certificate (same public key) it presented replaced the stored one before the credentials were sent."
        case .matched, .staged: policyChanged ? "The pin's certificate is unchanged." : "The pin is unchanged."
        }
        if policyChanged { keptWords += " Its policy was set to \(pin.policy.rawValue) before the credentials were sent." }
        // A pin that this very call made on first use is the operator's to remove when the
        // host turns out not to be the controller.
        let firstUse = status == .pinned
            ? Remedy.Call("deleteCert", [
                "host": .string(request.host.description), "expectedFingerprint": .string(pin.certificate.sha256Fingerprint.description),
            ])
            : nil
        let notDnacSteps = [
            Remedy.Step(
                text: firstUse == nil
                    ? "Check the address and port of the controller."
                    : "Check the address and port of the controller. To remove the pin this first use made:",
                calls: firstUse.map { [$0] } ?? [])
        ]
        switch answer {
        case .failure(let error):
            var details = kept
            details["reason"] = .string(error.detail)
            if let other = error.presentedOnReconnect { details["presentedOnReconnect"] = .object(PinJSON.certificate(other)) }
            let remedy = Remedy(
                summary: Remedy.sentence("\(request.host) accepted TLS but did not answer the DNA Center token request, which carried the credentials over the checked connection: \(error.detail)") + " \(keptWords)",
                steps: notDnacSteps)
            throw ResponseError(code: ErrorCode(.notDnac), kind: "notDnac", remedy: remedy, details: details)
        case .success(let response):
            var details = kept
            details["status"] = .int(Int64(response.status))
            details["path"] = .string(response.path)
            details["username"] = .string(request.username)
            if response.status == 401 || response.status == 403 {
                let remedy = Remedy(
                    summary: "\(request.host) refused the credentials of '\(request.username)' (HTTP \(response.status) on \(response.path)). \(keptWords)",
                    steps: [Remedy.Step(text: "Check the username and password, then add the server again:", calls: [retry(request)])])
                throw ResponseError(code: ErrorCode(.authenticationFailed), kind: "authenticationFailed", remedy: remedy, details: details)
            }
            if (500...599).contains(response.status) {
                // A controller that is starting, upgrading or overloaded answers so: it is one, and it failed.
                details["reason"] = .string("answered HTTP \(response.status)")
                let remedy = Remedy(
                    summary: "\(request.host) answered HTTP \(response.status) to the DNA Center token request on \(response.path): the controller failed (as one does while it starts, upgrades or is overloaded). \(keptWords)",
                    steps: [Remedy.Step(text: "Wait until the controller works again, then add the server again:", calls: [retry(request)])])
                throw ResponseError(code: ErrorCode(.notDnac), kind: "controllerFailed", remedy: remedy, details: details)
            }
            let token = (try? JSONCodec.parse(response.body, maxDepth: 16))?["Token"]?.stringValue
            guard response.status == 200, let token, !token.isEmpty else {
                let what = response.status == 200 ? "answered 200 without a token" : "answered HTTP \(response.status)"
                details["reason"] = .string(what)
                let remedy = Remedy(
                    summary: "\(request.host) \(what) to the DNA Center token request on \(response.path), which carried the credentials over the checked connection; it does not look like a Cisco DNA Center. \(keptWords)",
                    steps: notDnacSteps)
                throw ResponseError(code: ErrorCode(.notDnac), kind: "notDnac", remedy: remedy, details: details)
            }
        }
    }

    // MARK: - Validation

    private func validate(_ params: Params) throws -> Request {
        let named = try params.named(allowing: [
            "server", "port", "username", "password", "confirmPassword", "timeoutMs", "checkCredentials", "acceptFingerprint", "policy",
        ])
        var host = try named.hostKey("server")
        if let port = try named.integer("port", in: 1...65535) {
            if host.port != HostKey.defaultPort && host.port != port {
                throw ResponseError.invalidParams(field: "port", "is \(port) but 'server' names port \(host.port); give the port once")
            }
            host = try HostKey(host: host.host, port: port)
        }
        let username: String = try named.required("username")
        guard !username.trimmingCharacters(in: .whitespaces).isEmpty else { throw ResponseError.invalidParams(field: "username", "must not be empty") }
        guard username.utf8.count <= 256, !username.contains(":"), !username.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ResponseError.invalidParams(field: "username", "must be at most 256 bytes, without ':' or control characters (HTTP Basic auth)")
        }
        // The password's value never appears in an error: only what is wrong with it.
        let password: String = try named.required("password")
        guard !password.isEmpty else { throw ResponseError.invalidParams(field: "password", "must not be empty") }
        guard password.utf8.count <= 1024 else { throw ResponseError.invalidParams(field: "password", "is longer than 1024 bytes") }
        let confirmation: String = try named.required("confirmPassword")
        guard confirmation == password else { throw ResponseError.invalidParams(field: "confirmPassword", "does not match 'password'") }
        let timeout = try named.probeTimeout()
        return Request(
            host: host, username: username, password: password, timeout: timeout,
            checkCredentials: try named.optional("checkCredentials", as: Bool.self) ?? true, accept: try named.fingerprint("acceptFingerprint"),
            policy: try named.policy("policy"))
    }

    // MARK: - Errors and JSON

    private static func unreachable(_ request: Request, _ failure: ProbeFailure) -> ResponseError {
        let host = request.host
        var details: [String: JSONValue] = [
            "host": .string(host.description), "reason": .string(failure.reason.rawValue), "detail": .string(failure.detail),
        ]
        if let alert = failure.alert { details["alert"] = .string(alert) }
        details["credentialsSent"] = false
        details["storeChanged"] = false
        let remedy = Remedy(
            summary: Remedy.sentence("Cannot reach \(host) over TLS (\(failure.reason.rawValue)): \(failure.detail)") + " Nothing was pinned or sent.",
            steps: [Remedy.Step(text: "Check the address, the port and that the controller is up, then add the server again:", calls: [retry(request)])])
        return ResponseError(code: ErrorCode(.hostUnreachable), kind: "hostUnreachable", remedy: remedy, details: details)
    }

    private static func mismatch(_ request: Request, pinned: Pin, presented: CertificateSummary) -> ResponseError {
        let host = request.host.description
        let change = pinned.certificate.change(to: presented) ?? .newKey
        let changeWords = change == .newKey ? "new key: the controller generated a new certificate" : "same key, re-issued"
        let add = Remedy.Call("addDnacServer", ["server": .string(host), "username": .string(request.username)])
        let accept = Remedy.Call("addDnacServer", [
            "server": .string(host), "username": .string(request.username), "acceptFingerprint": .string(presented.sha256Fingerprint.description),
        ])
        var details: [String: JSONValue] = [
            "host": .string(host), "pinned": PinJSON.pin(pinned), "presented": .object(PinJSON.certificate(presented)),
            "change": .string(change.rawValue), "compared": "presentedCertificate", "username": .string(request.username),
            "remedy": .string(
                "If the controller's certificate really changed, either delete the stale pin and add the server again, or add it again with acceptFingerprint set to the presented certificate's sha256Fingerprint (the old pin is kept until the credentials are accepted)."),
            "acceptCall": accept.json,
        ]
        let staged = pinned.next.map { " It is not the staged next certificate \(Remedy.certificate($0.certificate)) either." } ?? ""
        details["credentialsSent"] = false
        details["storeChanged"] = false
        let remedy = Remedy(
            summary: "\(host) presents a different certificate than the one pinned (\(changeWords)); the connection was dropped and nothing was sent. Pinned \(Remedy.certificate(pinned.certificate)), presented \(Remedy.certificate(presented)).\(staged)",
            steps: [
                Remedy.Step(
                    text: "Once you have confirmed \(presented.sha256Fingerprint) with the controller's administrator, either delete the stale pin and add the server again:",
                    calls: [
                        Remedy.Call("deleteCert", ["host": .string(host), "expectedFingerprint": .string(pinned.certificate.sha256Fingerprint.description)]),
                        add,
                    ]),
                Remedy.Step(text: "Or re-pin in one step (the old pin stays unless the new certificate and the credentials are accepted):", calls: [accept]),
            ])
        return ResponseError(code: ErrorCode(.certificateMismatch), kind: "certificateMismatch", remedy: remedy, details: details)
    }

    /// acceptFingerprint names one certificate and the host presented another: refused whether
    /// or not the host is pinned.
    private static func notAccepted(_ request: Request, pinned: Pin?, presented: CertificateSummary) -> ResponseError {
        let host = request.host.description
        let accepted = request.accept.map(\.description) ?? ""
        let accept = Remedy.Call("addDnacServer", [
            "server": .string(host), "username": .string(request.username), "acceptFingerprint": .string(presented.sha256Fingerprint.description),
        ])
        var details: [String: JSONValue] = [
            "host": .string(host), "pinned": pinned.map { PinJSON.pin($0) } ?? .null, "presented": .object(PinJSON.certificate(presented)),
            "acceptFingerprint": .string(accepted), "compared": "acceptFingerprint", "username": .string(request.username),
            "remedy": .string(
                "Confirm the certificate's fingerprint with the controller's administrator. If the controller really presents \(presented.sha256Fingerprint), add it again with that acceptFingerprint; if not, something else answers at this address."),
            "acceptCall": accept.json,
        ]
        if let pinned { details["change"] = .string((pinned.certificate.change(to: presented) ?? .newKey).rawValue) }
        details["credentialsSent"] = false
        details["storeChanged"] = false
        let pinWords = pinned.map { "Its pin \(Remedy.certificate($0.certificate)) is unchanged." } ?? "It has no pin, and none was made."
        let remedy = Remedy(
            summary: "\(host) presents certificate \(Remedy.certificate(presented)), not the accepted \(accepted). The connection was dropped: nothing was pinned and nothing was sent. \(pinWords)",
            steps: [
                Remedy.Step(
                    text: "Confirm the fingerprint with the controller's administrator. If the controller really presents \(presented.sha256Fingerprint), accept that one; if not, something else answers at this address:",
                    calls: [accept])
            ])
        return ResponseError(code: ErrorCode(.certificateMismatch), kind: "certificateMismatch", remedy: remedy, details: details)
    }

    static func json(_ server: DnacServer) -> JSONValue {
        [
            "server": .string(server.host.description), "address": .string(server.host.host), "port": .int(Int64(server.host.port)),
            "username": .string(server.username), "pinnedFingerprint": .string(server.pinnedFingerprint.description),
            "addedAt": .string(server.addedAt), "lastCheckedAt": .string(server.lastCheckedAt),
            "authenticated": server.authenticated.map(JSONValue.bool) ?? .null,
        ]
    }

}

/// Whether an addDnacServer may still be cancelled. Until its first step that cannot be undone
/// (a first-use pin, the first byte of credentials, the server record) a cancel stops it and
/// nothing changed or was sent; from then on it runs to the end, so that its answer can say
/// what it did instead of a bare "cancelled".
final class CommitGate: Sendable {
    private enum State: Sendable { case open, cancelled, committed }
    private let state = Locked(State.open)

    /// Passes the point of no return; false if the call was cancelled first.
    func commit() -> Bool {
        state.withLock { state in
            if state == .cancelled { return false }
            state = .committed
            return true
        }
    }

    /// Whether the call passed the point of no return.
    var isCommitted: Bool { state.withLock { $0 == .committed } }

    /// Cancels the call unless it passed the point of no return; true if it is now cancelled.
    func cancel() -> Bool {
        state.withLock { state in
            if state == .committed { return false }
            state = .cancelled
            return true
        }
    }
}

extension ResponseError {
    /// Adds `details` to `data` (an object), keeping what is there.
    mutating func merge(_ details: [String: JSONValue]) {
        var object: [String: JSONValue] = [:]
        if case .object(let existing)? = data { object = existing }
        for (key, value) in details { object[key] = value }
        data = .object(object)
    }
}
