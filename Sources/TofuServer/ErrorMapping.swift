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
            return ResponseError(
                code: ErrorCode(.certNotFound), kind: "certNotFound",
                message: "No certificate is pinned for \(host); nothing was changed. List the pins with listCerts.",
                details: ["host": .string(host.description)])
        case .certificateMismatch(let host, let pinned, let presented, let expected):
            var details: [String: JSONValue] = ["host": .string(host.description), "pinned": PinJSON.pin(pinned)]
            let message: String
            if let expected {
                details["expectedFingerprint"] = .string(expected.description)
                message = "The pin for \(host) is certificate \(pinned.certificate.sha256Fingerprint), not the expected \(expected); nothing was deleted. List it again (listCerts) and retry with the fingerprint you see."
                details["remedy"] = .string("listCerts {host} to see the current pin, then deleteCert with its sha256Fingerprint")
            } else if let presented {
                details["presented"] = .object(PinJSON.certificate(presented))
                let change = pinned.certificate.change(to: presented) ?? .newKey
                details["change"] = .string(change.rawValue)
                let given = "\(host) is pinned to a different certificate (pinned \(pinned.certificate.sha256Fingerprint), given \(presented.sha256Fingerprint)); nothing was changed."
                if let next = pinned.next, next.certificate.sha256Fingerprint == presented.sha256Fingerprint {
                    message = given + " The given certificate is the pin's staged next certificate: the first verifyCert or addDnacServer that meets it on the host makes it the pin."
                } else {
                    let staged = pinned.next.map { " It is not the staged next certificate (\($0.certificate.sha256Fingerprint)) either." } ?? ""
                    message = given + staged + " If the host's certificate really changed, delete the pin (deleteCert) and pin again; for a planned rotation, stage it (pinCert with next: true)."
                }
                details["remedy"] = .string("deleteCert {host, expectedFingerprint: pinned.sha256Fingerprint}, then pin the new certificate")
            } else {
                message = "\(host) is pinned to a different certificate; nothing was changed."
            }
            return ResponseError(code: ErrorCode(.certificateMismatch), kind: "certificateMismatch", message: message, details: details)
        case .nothingStaged(let host):
            return ResponseError(
                code: ErrorCode(.certNotFound), kind: "nothingStaged",
                message: "The pin for \(host) has no staged next certificate; nothing was changed. Stage one with pinCert {host, pem, next: true}.",
                details: ["host": .string(host.description)])
        case .stagedMismatch(let host, let pin, let expected):
            let staged = pin.next?.certificate.sha256Fingerprint.description ?? "none"
            return ResponseError(
                code: ErrorCode(.certificateMismatch), kind: "certificateMismatch",
                message: "The staged next certificate for \(host) is \(staged), not the expected \(expected); nothing was deleted. List it again and retry with the fingerprint you see.",
                details: [
                    "host": .string(host.description), "pinned": PinJSON.pin(pin), "expectedFingerprint": .string(expected.description),
                    "remedy": "listCerts {host} to see the staged certificate (next), then deleteCert {host, next: true, expectedFingerprint: next.sha256Fingerprint}",
                ])
        case .serverNotFound(let host):
            return ResponseError(
                code: ErrorCode(.certNotFound), kind: "dnacServerNotFound",
                message: "No DNA Center server is recorded for \(host); nothing was changed. List them with listDnacServers.",
                details: ["host": .string(host.description)])
        case .storeUnavailable(let reason):
            return ResponseError(
                code: ErrorCode(.storeUnavailable), kind: "storeUnavailable", message: "Pin store unavailable: \(reason)",
                details: ["reason": .string(reason)])
        case .damagedRow(let row, let store):
            return damaged(row, store: store)
        case .cancelled:
            return .cancelled
        }
    }

    /// -32005 for a row that cannot be read: which row, what is wrong, and how to repair it.
    static func damaged(_ row: DamagedRow, store: String) -> ResponseError {
        let repair = repair(of: row, store: store)
        let reason = "\(row.name) in \(store) cannot be read: \(row.problem). Other rows are not affected. \(repair.words)"
        var details: [String: JSONValue] = ["reason": .string(reason), "damagedRow": damagedRowJSON(row), "remedy": .string(repair.words)]
        if let call = repair.call { details["remedyCall"] = call }
        return ResponseError(
            code: ErrorCode(.storeUnavailable), kind: "storeUnavailable", message: "Pin store unavailable: \(reason)", details: details)
    }

    static func damagedRowJSON(_ row: DamagedRow) -> JSONValue {
        [
            "table": .string(row.table), "rowid": .int(row.rowid), "host": row.host.map(JSONValue.string) ?? .null,
            "column": .string(row.column), "problem": .string(row.problem),
        ]
    }

    /// The call that removes a damaged row, where one can reach it, else the sqlite3 command.
    private static func repair(of row: DamagedRow, store: String) -> (words: String, call: JSONValue?) {
        // Quoted for a POSIX shell, so a store path with a quote in it cannot become a command.
        let quotedStore = "'" + store.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        let sqlite = "sqlite3 \(quotedStore) 'DELETE FROM \(row.table) WHERE id = \(row.rowid)'"
        let fix = "or correct the row with sqlite3 (its id is \(row.rowid))"
        switch (row.table, row.reachableHost) {
        case ("pin", let host?):
            return ("To repair: deleteCert {host: \(host)} deletes the damaged pin (then pin the host again), \(fix).",
                    ["method": "deleteCert", "params": ["host": .string(host.description)]])
        case ("dnac_server", let host?):
            return ("To repair: removeDnacServer {server: \(host)} removes the damaged record (then add the server again), \(fix).",
                    ["method": "removeDnacServer", "params": ["server": .string(host.description)]])
        case ("event", _):
            return ("To repair: correct the history row with sqlite3, or delete it: \(sqlite).", nil)
        default:
            return ("No method can name this row: correct it with sqlite3, or delete it: \(sqlite).", nil)
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
