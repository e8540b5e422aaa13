import JSONRPC
import TofuCore

/// tofu's errors as JSON-RPC errors: the code, an operator's sentence, and `data` with a
/// stable `kind` and the details a script needs.
extension ResponseError {
    static func from(_ error: TofuError) -> ResponseError {
        switch error {
        case .invalidParameter(let field, let reason):
            return .invalidParams(field: field, reason)
        case .certNotFound(let host):
            let remedy = Remedy(
                summary: "No certificate is pinned for \(host); nothing was changed.",
                steps: [Remedy.Step(text: "To see the pins:", calls: [Remedy.Call("listCerts")])])
            return ResponseError(code: ErrorCode(.certNotFound), kind: "certNotFound", remedy: remedy, details: ["host": .string(host.description)])
        case .certificateMismatch(let host, let pinned, let presented, let expected):
            return mismatch(host, pinned: pinned, given: presented, expected: expected)
        case .nothingStaged(let host):
            let remedy = Remedy(
                summary: "The pin for \(host) has no staged next certificate; nothing was changed.",
                steps: [
                    Remedy.Step(
                        text: "To stage the certificate the controller will present after a planned rotation (its PEM):",
                        calls: [Remedy.Call("pinCert", ["host": .string(host.description), "next": true])])
                ])
            return ResponseError(code: ErrorCode(.certNotFound), kind: "nothingStaged", remedy: remedy, details: ["host": .string(host.description)])
        case .stagedMismatch(let host, let pin, let expected):
            let staged = pin.next.map { Remedy.certificate($0.certificate) } ?? "none"
            var remedy = Remedy(summary: "The staged next certificate for \(host) is \(staged), not the expected \(expected); nothing was deleted.")
            if let next = pin.next {
                remedy.steps = [
                    Remedy.Step(
                        text: "Look at it again, and remove it with the fingerprint you see:",
                        calls: [
                            Remedy.Call("listCerts", ["host": .string(host.description)]),
                            Remedy.Call("deleteCert", [
                                "host": .string(host.description), "next": true,
                                "expectedFingerprint": .string(next.certificate.sha256Fingerprint.description),
                            ]),
                        ])
                ]
            }
            return ResponseError(
                code: ErrorCode(.certificateMismatch), kind: "certificateMismatch", remedy: remedy,
                details: [
                    "host": .string(host.description), "pinned": PinJSON.pin(pin), "expectedFingerprint": .string(expected.description),
                    "compared": "expectedNextFingerprint",
                    "remedy": "listCerts {host} to see the staged certificate (next), then deleteCert {host, next: true, expectedFingerprint: next.sha256Fingerprint}",
                ])
        case .serverNotFound(let host):
            let remedy = Remedy(
                summary: "No DNA Center server is recorded for \(host); nothing was changed.",
                steps: [Remedy.Step(text: "To see the recorded servers:", calls: [Remedy.Call("listDnacServers")])])
            return ResponseError(code: ErrorCode(.certNotFound), kind: "dnacServerNotFound", remedy: remedy, details: ["host": .string(host.description)])
        case .storeUnavailable(let reason):
            return ResponseError(
                code: ErrorCode(.storeUnavailable), kind: "storeUnavailable",
                remedy: Remedy(summary: Remedy.sentence("The pin store is unavailable: \(reason)")), details: ["reason": .string(reason)])
        case .damagedRow(let row, let store):
            return damaged(row, store: store)
        case .cancelled:
            return .cancelled
        }
    }

    /// -32002 when a pin is not the certificate the caller named: `expected`, a fingerprint
    /// (deleteCert, a re-pin), or `given`, a certificate (pinCert).
    private static func mismatch(_ host: HostKey, pinned: Pin, given: CertificateSummary?, expected: Fingerprint?) -> ResponseError {
        var details: [String: JSONValue] = ["host": .string(host.description), "pinned": PinJSON.pin(pinned)]
        let key = JSONValue.string(host.description)
        let pinnedFingerprint = JSONValue.string(pinned.certificate.sha256Fingerprint.description)
        var remedy: Remedy
        if let expected {
            details["expectedFingerprint"] = .string(expected.description)
            details["compared"] = "expectedFingerprint"
            details["remedy"] = .string("listCerts {host} to see the current pin, then deleteCert with its sha256Fingerprint")
            remedy = Remedy(
                summary: "The pin for \(host) is certificate \(Remedy.certificate(pinned.certificate)), not the expected \(expected); nothing was deleted.",
                steps: [
                    Remedy.Step(
                        text: "Look at the pin again, and delete it with the fingerprint you see:",
                        calls: [Remedy.Call("listCerts", ["host": key]), Remedy.Call("deleteCert", ["host": key, "expectedFingerprint": pinnedFingerprint])])
                ])
        } else if let given {
            details["presented"] = .object(PinJSON.certificate(given))
            details["change"] = .string((pinned.certificate.change(to: given) ?? .newKey).rawValue)
            details["compared"] = "givenCertificate"
            details["remedy"] = .string("deleteCert {host, expectedFingerprint: pinned.sha256Fingerprint}, then pin the new certificate")
            let both = "\(host) is pinned to a different certificate; nothing was changed. Pinned \(Remedy.certificate(pinned.certificate)), given \(Remedy.certificate(given))."
            if let next = pinned.next, next.certificate.sha256Fingerprint == given.sha256Fingerprint {
                remedy = Remedy(
                    summary: both + " The given certificate is the pin's staged next certificate: the first live check or add that meets it on the host makes it the pin.",
                    steps: [Remedy.Step(text: "Once the host presents it:", calls: [Remedy.Call("verifyCert", ["host": key])])])
            } else {
                let staged = pinned.next.map { " It is not the staged next certificate \(Remedy.certificate($0.certificate)) either." } ?? ""
                remedy = Remedy(
                    summary: both + staged,
                    steps: [
                        Remedy.Step(
                            text: "If the host's certificate really changed, delete the stale pin, then pin the new certificate:",
                            calls: [Remedy.Call("deleteCert", ["host": key, "expectedFingerprint": pinnedFingerprint]), Remedy.Call("pinCert", ["host": key])]),
                        Remedy.Step(
                            text: "For a planned rotation, stage it beside the pin instead:", calls: [Remedy.Call("pinCert", ["host": key, "next": true])]),
                    ])
            }
        } else {
            remedy = Remedy(summary: "\(host) is pinned to a different certificate; nothing was changed.")
        }
        return ResponseError(code: ErrorCode(.certificateMismatch), kind: "certificateMismatch", remedy: remedy, details: details)
    }

    /// -32005 for a row that cannot be read: which row, what is wrong, and how to repair it.
    static func damaged(_ row: DamagedRow, store: String) -> ResponseError {
        let repair = repair(of: row, store: store)
        let words = "\(row.name) in \(store) cannot be read: \(row.problem). Other rows are not affected."
        var details: [String: JSONValue] = [
            "reason": .string(words + " " + repair.words), "damagedRow": damagedRowJSON(row), "remedy": .string(repair.words),
        ]
        if let call = repair.call { details["remedyCall"] = call.json }
        let remedy = Remedy(summary: "The pin store is unavailable: " + words, steps: [repair.step])
        return ResponseError(code: ErrorCode(.storeUnavailable), kind: "storeUnavailable", remedy: remedy, details: details)
    }

    static func damagedRowJSON(_ row: DamagedRow) -> JSONValue {
        [
            "table": .string(row.table), "rowid": .int(row.rowid), "host": row.host.map(JSONValue.string) ?? .null,
            "column": .string(row.column), "problem": .string(row.problem),
        ]
    }

    /// The call that removes a damaged row, where one can reach it, else the sqlite3 command.
    private static func repair(of row: DamagedRow, store: String) -> (words: String, call: Remedy.Call?, step: Remedy.Step) {
        // Quoted for a POSIX shell, so a store path with a quote in it cannot become a command.
        let quotedStore = "'" + store.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        let sqlite = "sqlite3 \(quotedStore) 'DELETE FROM \(row.table) WHERE id = \(row.rowid)'"
        let fix = "or correct the row with sqlite3 (its id is \(row.rowid))"
        switch (row.table, row.reachableHost) {
        case ("pin", let host?):
            let call = Remedy.Call("deleteCert", ["host": .string(host.description)])
            return ("To repair: deleteCert {host: \(host)} deletes the damaged pin (then pin the host again), \(fix).", call,
                    Remedy.Step(text: "To repair, delete the damaged pin (then pin the host again), \(fix):", calls: [call]))
        case ("dnac_server", let host?):
            let call = Remedy.Call("removeDnacServer", ["server": .string(host.description)])
            return ("To repair: removeDnacServer {server: \(host)} removes the damaged record (then add the server again), \(fix).", call,
                    Remedy.Step(text: "To repair, remove the damaged record (then add the server again), \(fix):", calls: [call]))
        case ("event", _):
            return ("To repair: correct the history row with sqlite3, or delete it: \(sqlite).", nil,
                    Remedy.Step(text: "To repair, correct the history row with sqlite3, or delete it:", commands: [sqlite]))
        default:
            return ("No method can name this row: correct it with sqlite3, or delete it: \(sqlite).", nil,
                    Remedy.Step(text: "Only sqlite3 can reach this row: correct it, or delete it:", commands: [sqlite]))
        }
    }
}

extension ErrorCode {
    /// The JSON-RPC code of one of tofu's own errors.
    init(_ code: TofuErrorCode) { self.init(rawValue: code.rawValue) }
}

/// Runs a call into tofu's modules, turning their typed errors into JSON-RPC errors.
func answering<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as TofuError {
        throw ResponseError.from(error)
    }
}

/// `answering` for a synchronous call.
func answering<T>(_ body: () throws(TofuError) -> T) throws(ResponseError) -> T {
    do {
        return try body()
    } catch {
        throw ResponseError.from(error)
    }
}
