import JSONRPC
import TofuCore
import TofuStore

/// exportPins, importPins: a store moved to another, SQLite or PostgreSQL, a page at a time.
struct TransferMethods: Sendable {
    let store: PinStore

    func register(in table: inout MethodTable) {
        table.register("exportPins") { params, _ in try await exportPins(params) }
        table.register("importPins") { params, context in try await importPins(params, context) }
    }

    /// A page of the export: the header first on the first page, the end record last on the
    /// last; `limit` counts the records between.
    func exportPins(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["cursor", "limit"])
        let limit = try named.integer("limit", in: 1...10_000, default: 1000) ?? 1000
        let position = try named.optional("cursor", as: String.self).map { cursor throws(ResponseError) in try ExportCursor.decode(cursor) }
        let page = try await answering { try await store.exportPage(after: position, limit: limit) }
        var records = page.records.map(TransferJSON.json)
        if position == nil { records.insert(TransferJSON.header, at: 0) }
        if page.next == nil { records.append(TransferJSON.end) }
        return ["records": .array(records), "nextCursor": page.next.map { .string(ExportCursor.encode($0)) } ?? .null]
    }

    /// Most hosts imported in one transaction: one disk sync for many hosts, while a
    /// PostgreSQL transaction's advisory locks (one a host) stay far below what its lock
    /// table holds.
    static let hostsPerTransaction = 100

    /// Imports records host by host, in order; each host's records in one transaction (several
    /// hosts share one). A host's records follow one another (its pin, its events oldest first,
    /// its server) and are all in this call. A record that is not what an export holds stops the
    /// call: the hosts before its host are imported (and listed in the error's `data.hosts`),
    /// nothing of it or after it is. A record whose host cannot be read may be the host before
    /// it: that one is not imported either.
    func importPins(_ params: Params, _ context: RequestContext) async throws -> JSONValue {
        let named = try params.named(allowing: ["records", "replace", "firstLine"])
        let records: [JSONValue] = try named.required("records")
        let replace = try named.optional("replace", as: Bool.self) ?? false
        let firstLine = try named.integer("firstLine", in: 1...Int.max)
        var done: [JSONValue] = []
        /// Hosts whose records are complete, not yet imported.
        var ready: [HostTransfer] = []
        var pending: HostTransfer?
        /// The index of the first record of `pending`.
        var pendingStart: Int?
        var seen: Set<HostKey> = []

        func importReady() async throws {
            guard let first = ready.first else { return }
            let transfers = ready
            ready = []
            do {
                let outcomes = try await committing(context) { try await store.importHosts(transfers, replace: replace) }
                done += outcomes.map(\.json)
            } catch let error as ResponseError {
                throw Self.stopped(error, before: first.host, done: done)
            } catch is CancellationError {
                throw Self.stopped(.cancelled, before: first.host, done: done)
            }
        }

        func complete() async throws {
            guard let transfer = pending else { return }
            pending = nil
            pendingStart = nil
            ready.append(transfer)
            if ready.count >= Self.hostsPerTransaction { try await importReady() }
        }

        /// The call stops at `index`: what is complete before it is imported first.
        func invalid(_ problem: TransferJSON.Problem, at index: Int, host: HostKey?) async throws -> ResponseError {
            try await importReady()
            return Self.invalid(problem, index: index, from: pendingStart ?? index, firstLine: firstLine, host: host, done: done)
        }

        for (index, value) in records.enumerated() {
            let host: HostKey?
            do {
                host = try TransferJSON.kind(of: value).host
            } catch {
                throw try await invalid(error, at: index, host: nil)
            }
            if host != pending?.host { try await complete() }
            let parsed: TransferJSON.Parsed
            do {
                parsed = try TransferJSON.parse(value)
            } catch {
                throw try await invalid(error, at: index, host: host)
            }
            guard case .record(let record) = parsed else {
                // A header starts another export (files may be concatenated): its hosts are its own.
                if case .header = parsed { seen = [] }
                continue
            }
            if pending == nil { pendingStart = index }
            if let problem = Self.placement(record, in: &pending, seen: &seen) { throw try await invalid(problem, at: index, host: host) }
        }
        try await complete()
        try await importReady()
        return ["hosts": .array(done)]
    }

    /// Adds `record` to the host it belongs to, or says why it cannot go there.
    private static func placement(_ record: TransferRecord, in pending: inout HostTransfer?, seen: inout Set<HostKey>) -> TransferJSON.Problem? {
        let host = record.host
        if pending == nil {
            guard seen.insert(host).inserted else {
                return TransferJSON.Problem(field: "host", reason: "\(host) had records earlier in this call: a host's records (its pin, its events, its server) follow one another")
            }
            pending = HostTransfer(host: host)
        }
        guard var transfer = pending else { return nil }
        defer { pending = transfer }
        switch record {
        case .pin(let pin):
            guard transfer.pin == nil, transfer.events.isEmpty, transfer.server == nil else {
                return TransferJSON.Problem(field: "type", reason: "a pin of \(host) comes after other records of it: a host's pin comes first, once")
            }
            transfer.pin = pin
        case .event(let event):
            guard transfer.server == nil else {
                return TransferJSON.Problem(field: "type", reason: "an event of \(host) comes after its server record, which comes last")
            }
            transfer.events.append(event)
        case .server(let server):
            guard transfer.server == nil else {
                return TransferJSON.Problem(field: "type", reason: "\(host) has a second server record: a host has one, last")
            }
            transfer.server = server
        }
        return nil
    }

    /// "line 7" when the caller said which line `records[0]` is, else "records[6]".
    private static func location(index: Int, firstLine: Int?) -> String {
        guard let firstLine else { return "records[\(index)]" }
        let (line, overflow) = firstLine.addingReportingOverflow(index)
        return overflow ? "records[\(index)]" : "line \(line)"
    }

    /// -32602 `invalidRecord` for the record at `index`: where it is, which member, why, and
    /// which hosts of the call were imported before it; nothing from the record at `from` on was.
    private static func invalid(_ problem: TransferJSON.Problem, index: Int, from: Int, firstLine: Int?, host: HostKey?, done: [JSONValue]) -> ResponseError {
        let place = location(index: index, firstLine: firstLine)
        let hostWords = host.map { " (host \($0))" } ?? ""
        var details: [String: JSONValue] = [
            "index": .int(Int64(index)), "field": .string(problem.field), "reason": .string(problem.reason), "hosts": .array(done),
            "host": host.map { .string($0.description) } ?? .null,
        ]
        if let firstLine, case (let line, false) = firstLine.addingReportingOverflow(index) { details["line"] = .int(Int64(line)) }
        let nothing = "Nothing from \(from == index ? "it" : location(index: from, firstLine: firstLine)) on was imported"
        return ResponseError(
            code: .invalidParams, kind: "invalidRecord",
            message: "Invalid params: \(place)\(hostWords) is not a record of a tofu export: '\(problem.field)' \(problem.reason). \(nothing).",
            details: details)
    }

    /// A store failure while importing `host`: the store's own error, with the hosts imported
    /// before it in `data.hosts` and its message saying so.
    private static func stopped(_ error: ResponseError, before host: HostKey, done: [JSONValue]) -> ResponseError {
        var stopped = error
        guard case .object(var data)? = error.data else { return error }
        data["hosts"] = .array(done)
        data["stoppedAt"] = .string(host.description)
        stopped.data = .object(data)
        let count = done.count
        stopped.message += " The import stopped at \(host): nothing of it was imported" + (count == 0 ? "." : "; the \(count) host\(count == 1 ? "" : "s") before it \(count == 1 ? "was" : "were").")
        return stopped
    }
}
