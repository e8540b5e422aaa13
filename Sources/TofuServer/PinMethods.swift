import Foundation
import JSONRPC
import TofuCore
import TofuStore
import TofuTLS

/// pinCert, listCerts, deleteCert, certHistory, pruneHistory.
///
/// The writes (pinCert, deleteCert, setPinPolicy, pruneHistory) run on `writes`, a lane of
/// their own, each calling the store on that thread (`PinStore.blocking`): a write costs one
/// thread hop, not a task, the store's thread and a task again, and a read on the input thread
/// never waits behind its fsync (`listOneHost` passes while the store is busy).
struct PinMethods: Sendable {
    let store: PinStore
    let writes: SerialLane

    func register(in table: inout MethodTable) {
        table.register("pinCert", on: writes) { params, context in try pinCert(params, context) }
        if store.readsOverNetwork {
            // A PostgreSQL store, whose server may stop answering: never read on the input
            // thread. A lane of its own costs one thread hop where a task costs a task and two
            // (8 processes on 2 cores reached 41% of the C ceiling as tasks); the reads wait for
            // the store's one connection anyway.
            let reads = SerialLane(name: "tofu reads")
            table.register("listCerts", on: reads, result: { params, _ in try listCertsBlocking(params) })
        } else {
            table.register("listCerts", direct: { params in try listOneHost(params) }, otherwise: { params, _ in try await listCerts(params) })
            table.inputPause = { [store] in store.endReadRun() }
        }
        table.register("deleteCert", on: writes, result: { params, context in try deleteCert(params, context) })
        table.register("certHistory") { params, _ in try await certHistory(params) }
        table.register("pruneHistory", on: writes) { params, context in try pruneHistory(params, context) }
        table.register("setPinPolicy", on: writes) { params, context in try setPinPolicy(params, context) }
    }

    func pinCert(_ params: Params, _ context: RequestContext) throws -> JSONValue {
        let named = try params.named(allowing: ["host", "pem", "next", "policy"])
        let host = try named.hostKey("host")
        let certificate = try named.certificate("pem")
        let policy = try named.policy("policy")
        if try named.optional("next", as: Bool.self) == true {
            if policy != nil { throw ResponseError.invalidParams(field: "policy", "does not go with 'next': set the pin's policy with setPinPolicy") }
            let pin = try committing(context, in: store) { store throws(TofuError) in try store.stage(certificate, for: host) }
            return ["pin": PinJSON.pin(pin), "pinStatus": .string(PinStatus.staged.rawValue)]
        }
        let (pin, status) = try committing(context, in: store) { store throws(TofuError) in try store.pin(certificate, for: host, policy: policy) }
        return ["pin": PinJSON.pin(pin), "pinStatus": .string(status.rawValue)]
    }

    func setPinPolicy(_ params: Params, _ context: RequestContext) throws -> JSONValue {
        let named = try params.named(allowing: ["host", "policy"])
        let host = try named.hostKey("host")
        guard let policy = try named.policy("policy") else { throw ResponseError.invalidParams(field: "policy", "is required") }
        let pin = try committing(context, in: store) { store throws(TofuError) in try store.setPolicy(policy, for: host) }
        return ["pin": PinJSON.pin(pin)]
    }

    /// listCerts' params, read and checked.
    private struct ListRequest {
        let host: HostKey?
        let limit: Int
        let after: String?
        let includePem: Bool
        let expiringBefore: String?
        let stagedOnly: Bool
        /// The request names its host alone: a point read with every default.
        let bare: Bool

        private static let names: Set<String> = ["host", "limit", "cursor", "includePem", "expiringWithinDays", "staged"]

        init(_ params: Params) throws {
            let named = try params.named(allowing: Self.names)
            host = try named.optionalHostKey("host")
            // A point read names its host alone: the other names are not looked for one by one.
            guard named.members.count > (host == nil ? 0 : 1) else {
                (limit, after, includePem, stagedOnly, expiringBefore, bare) = (1000, nil, false, false, nil, true)
                return
            }
            bare = false
            limit = try named.integer("limit", in: 1...10_000, default: 1000) ?? 1000
            after = try named.optional("cursor", as: String.self).map { cursor throws(ResponseError) in try PageCursor.decode(cursor) }
            includePem = try named.optional("includePem", as: Bool.self) ?? false
            stagedOnly = try named.optional("staged", as: Bool.self) ?? false
            expiringBefore = try named.integer("expiringWithinDays", in: 0...36_500).map { days in
                Timestamp.now(plusDays: days)
            }
        }

        func answer(_ page: consuming (pins: [Pin], more: Bool)) -> JSONValue {
            var next = JSONValue.null
            if page.more, let last = page.pins.last { next = .string(PageCursor.encode(after: last.host)) }
            // Each pin is let go once it is an object of the answer: a page of 10,000 is not in
            // memory twice over.
            var pins = page.pins
            page.pins = []
            pins.reverse()
            var certs: [JSONValue] = []
            certs.reserveCapacity(pins.count)
            while let pin = pins.popLast() { certs.append(PinJSON.pin(pin, includePem: includePem)) }
            return ["certs": .array(certs), "nextCursor": next]
        }

        /// The page asked for; `sharingSnapshot` as `PinStore.list`'s.
        func page(of store: isolated PinStore, sharingSnapshot: Bool = false) throws(TofuError) -> (pins: [Pin], more: Bool) {
            try store.list(after: after, limit: limit, host: host, expiringBefore: expiringBefore, stagedOnly: stagedOnly, sharingSnapshot: sharingSnapshot)
        }

        /// `answer`'s object built straight in jansson, for a page of a few pins (a point read's).
        func answer(direct page: (pins: [Pin], more: Bool)) -> JanssonObject {
            var certs = JanssonArray()
            for pin in page.pins { certs.append(PinJSON.pin(pin, includePem: includePem, as: JanssonObject.self)) }
            return Self.answer(certs: certs, nextCursor: page.more ? page.pins.last.map { PageCursor.encode(after: $0.host) } : nil)
        }

        static func answer(certs: consuming JanssonArray, nextCursor: String?) -> JanssonObject {
            var object = JanssonObject()
            object.set("certs", array: certs)
            object.set("nextCursor", orNull: nextCursor)
            return object
        }
    }

    func listCerts(_ params: Params) async throws -> JSONValue {
        let request = try ListRequest(params)
        return request.answer(try await answering { try await request.page(of: store) })
    }

    /// `listCerts` on a lane's thread (a store read over the network); a point read's answer
    /// built in jansson, as on the input thread.
    func listCertsBlocking(_ params: Params) throws -> LaneResult {
        let request = try ListRequest(params)
        if request.bare, let host = request.host,
            let answer = plainAnswer(try answering { () throws(TofuError) in try store.blocking { store throws(TofuError) in try store.plainPin(host) } })
        {
            return .direct(answer)
        }
        let page = try answering { () throws(TofuError) in try store.blocking { store throws(TofuError) in try request.page(of: store) } }
        return request.host == nil ? .value(request.answer(page)) : .direct(request.answer(direct: page))
    }

    /// listCerts of one host, answered on the connection's input thread: the question an
    /// operator or a script asks most ("what is pinned for this host?") is one indexed read, and
    /// a hop to a task and back would cost several times the read. Read on the input thread's own
    /// connection (`PinStore.pointRead`) even while the store writes, else through the store when
    /// it is idle. Nil for a listing, and when neither can read at once (the input thread never
    /// waits behind a write): those go to `listCerts`. Only for a store on this machine (see
    /// `register`). The lookups of one read of input share a database snapshot, ended before the
    /// input thread waits again (`MethodTable.inputPause`).
    func listOneHost(_ params: Params) throws -> JanssonObject? {
        let request = try ListRequest(params)
        guard let host = request.host else { return nil }
        // The common case, a plain pin asked for alone, is checked and answered from the row as
        // stored; anything else is read as a `Pin` below.
        if request.bare {
            let found = try store.pointRead(host) ?? answering { () throws(TofuError) in try store.ifIdle { store throws(TofuError) in try store.plainPin(host) } }
            guard let found else { return nil }
            if let answer = plainAnswer(found) { return answer }
        }
        let page = try answering { () throws(TofuError) in
            try store.ifIdle { store throws(TofuError) in try request.page(of: store, sharingSnapshot: true) }
        }
        guard let page else { return nil }
        return request.answer(direct: page)
    }

    /// A point read's answer from a plain pin (or from its absence); nil when the row must be
    /// read as a `Pin` (`PlainPinLookup.notPlain`, or a text that is not UTF-8).
    private func plainAnswer(_ found: PlainPinLookup) -> JanssonObject? {
        var certs = JanssonArray()
        switch found {
        case .noPin: break
        case .plain(let plain):
            guard let pin = PinJSON.pin(plain: plain) else { return nil }
            certs.append(pin)
        case .notPlain: return nil
        }
        return ListRequest.answer(certs: certs, nextCursor: nil)
    }

    /// The deleted pin's answer is built in jansson (the hot path); the rarer ones as values.
    func deleteCert(_ params: Params, _ context: RequestContext) throws -> LaneResult {
        let named = try params.named(allowing: ["host", "expectedFingerprint", "next"])
        let host = try named.hostKey("host")
        let expected = try named.fingerprint("expectedFingerprint")
        if try named.optional("next", as: Bool.self) == true {
            let pin = try committing(context, in: store) { store throws(TofuError) in try store.unstage(host, expected: expected) }
            var unstaged = pin
            unstaged.next = nil
            return .value(["deleted": .null, "deletedNext": pin.next.map { .object(PinJSON.certificate($0.certificate)) } ?? .null, "pin": PinJSON.pin(unstaged)])
        }
        switch try committing(context, in: store, { store throws(TofuError) in try store.delete(host, expected: expected) }) {
        case .pin(let deleted):
            var answer = JanssonObject()
            answer.set("deleted", object: PinJSON.pin(deleted, includePem: false, as: JanssonObject.self))
            return .direct(answer)
        case .damaged(let row): return .value(["deleted": .null, "damagedRow": ResponseError.damagedRowJSON(row)])
        }
    }

    func certHistory(_ params: Params) async throws -> JSONValue {
        let named = try params.named(allowing: ["host", "limit", "event", "since"])
        let host = try named.optionalHostKey("host")
        let limit = try named.integer("limit", in: 1...100_000, default: 1000) ?? 1000
        let kinds = try named.eventKinds("event")
        let since = try named.time("since")
        let events = try await answering { try await store.history(host: host, kinds: kinds, since: since, limit: limit) }
        return ["events": .array(events.map(PinJSON.event))]
    }

    /// Deletes the events before a time, durably before it answers. The pruning is not itself
    /// an event (the history is per host, and an emptied history would hold only that): the
    /// answer says how many went, and tofu-rpc logs it at notice.
    func pruneHistory(_ params: Params, _ context: RequestContext) throws -> JSONValue {
        let named = try params.named(allowing: ["before", "host"])
        guard let before = try named.time("before") else { throw ResponseError.invalidParams(field: "before", "is required (a date or a time)") }
        let host = try named.optionalHostKey("host")
        let pruned = try committing(context, in: store) { store throws(TofuError) in try store.pruneHistory(before: before, host: host) }
        return ["pruned": .int(Int64(pruned)), "before": .string(before)]
    }
}
