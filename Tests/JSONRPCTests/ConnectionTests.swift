import Foundation
import JSONRPC
import Posix
import TestSupport
import Testing

/// A gate a test opens when it wants a blocked handler to go on.
final class Gate: Sendable {
    private let open = Locked(false)
    func release() { open.withLock { $0 = true } }
    func wait() async throws {
        while !open.withLock({ $0 }) {
            try Task.checkCancellation()
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

@Suite struct ConnectionTests {
    /// `slow` waits on the gate (honouring cancellation); `fast` answers at once;
    /// `progress` sends a notification before answering; `named` reads typed params.
    static func methods(gate: Gate) -> MethodTable {
        var table = MethodTable()
        table.register("slow") { _, _ in
            try await gate.wait()
            return "slow done"
        }
        table.register("fast") { _, _ in "fast done" }
        table.register("progress") { _, context in
            context.notify("$/progress", params: ["token": "t", "value": ["done": 1]])
            return "progress done"
        }
        table.register("named") { params, _ in
            let named = try params.named(allowing: ["host", "limit", "flag"])
            let host: String = try named.required("host")
            let limit: Int? = try named.optional("limit")
            return ["host": .string(host), "limit": limit.map { .int(Int64($0)) } ?? .null]
        }
        table.register("crash") { _, _ in
            struct Unexpected: Error {}
            throw Unexpected()
        }
        return table
    }

    @Test func aSlowCallDoesNotDelayAFastOne() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(gate: gate))
        server.send(line: Wire.request("slow", id: 1))
        server.send(line: Wire.request("fast", id: 2))
        let first = try await server.reader.next()
        #expect(first.object["id"] as? Int == 2)
        gate.release()
        let second = try await server.reader.next()
        #expect(second.object["id"] as? Int == 1)
        #expect(second.object["result"] as? String == "slow done")
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    @Test func cancelRequestAnswersTheCallWithRequestCancelled() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("slow", id: "s1"))
        server.send(line: Wire.request("$/cancelRequest", params: ["id": "s1"]))
        let answer = try await server.reader.next()
        #expect(answer.object["id"] as? String == "s1")
        let error = answer.object["error"] as? [String: Any]
        #expect(error?["code"] as? Int == -32800)
        #expect((error?["data"] as? [String: Any])?["kind"] as? String == "cancelled")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func cancellingOneEntryOfABatchLeavesTheOthers() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(gate: gate))
        server.send(line: Wire.json([
            ["jsonrpc": "2.0", "id": 1, "method": "slow"],
            ["jsonrpc": "2.0", "id": 2, "method": "fast"],
        ]))
        server.send(line: Wire.request("$/cancelRequest", params: ["id": 1]))
        try await Task.sleep(for: .milliseconds(50))
        gate.release()
        let answer = try await server.reader.next()
        let byID = Dictionary(uniqueKeysWithValues: answer.array.map { ($0["id"] as? Int ?? 0, $0) })
        #expect((byID[1]?["error"] as? [String: Any])?["code"] as? Int == -32800)
        #expect(byID[2]?["result"] as? String == "fast done")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func endOfInputAnswersEveryCallInFlightFirst() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(gate: gate))
        for id in 1...10 { server.send(line: Wire.request("slow", id: id)) }
        server.closeInput()
        try await Task.sleep(for: .milliseconds(50))
        gate.release()
        #expect(await server.ending() == .endOfInput)
        let answers = try await server.reader.drain()
        #expect(Set(answers.compactMap { $0.object["id"] as? Int }) == Set(1...10))
        #expect(answers.allSatisfy { $0.object["result"] as? String == "slow done" })
    }

    @Test func exitCancelsWhatIsInFlightAndFlushes() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("slow", id: 1))
        server.send(line: Wire.request("shutdown", id: 2))
        server.send(line: Wire.request("exit"))
        #expect(await server.ending() == .exit)
        let answers = try await server.reader.drain()
        #expect(answers.count == 2)
        let slow = answers.first { $0.object["id"] as? Int == 1 }
        #expect((slow?.object["error"] as? [String: Any])?["code"] as? Int == -32800)
    }

    @Test func afterShutdownOnlyExitIsAccepted() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("shutdown", id: 1))
        #expect(try await server.reader.next().object["result"] is NSNull)
        server.send(line: Wire.request("fast", id: 2))
        let refused = try await server.reader.next()
        #expect((refused.object["error"] as? [String: Any])?["code"] as? Int == -32600)
        server.send(line: Wire.request("exit"))
        #expect(await server.ending() == .exit)
    }

    @Test func exitWithoutShutdownEndsWithStatusOne() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("exit"))
        let ending = await server.ending()
        #expect(ending == .exitWithoutShutdown)
        #expect(ending.exitStatus == 1)
    }

    @Test func pastTheInFlightLimitRequestsWaitTheirTurnInOrder() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(gate: gate), limits: Limits(maxInFlight: 2))
        server.send(line: Wire.request("slow", id: 1))
        server.send(line: Wire.request("slow", id: 2))
        server.send(line: Wire.request("fast", id: 3))
        server.send(line: Wire.request("fast", id: 4))
        // 3 and 4 wait behind the two slow calls: nothing is answered yet…
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.reader.leftover.isEmpty)
        // …except a waiting request that is cancelled, which answers at once.
        server.send(line: Wire.request("$/cancelRequest", params: ["id": 4]))
        let cancelled = try await server.reader.next()
        #expect(cancelled.object["id"] as? Int == 4)
        #expect(cancelled.errorCode == -32800)
        gate.release()
        let rest = try await server.reader.next(3)
        #expect(Set(rest.compactMap { $0.object["id"] as? Int }) == [1, 2, 3])
        #expect(rest.allSatisfy { $0.errorCode == nil })
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    @Test func thousandsOfPipelinedRequestsAreAllAnswered() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()), limits: Limits(maxMessageBytes: 4096, maxInFlight: 4))
        var bytes: [UInt8] = []
        for id in 0..<5000 { bytes += Wire.ndjson(Wire.request("fast", id: id)) }
        server.send(bytes)
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
        let answers = try await server.reader.drain()
        #expect(answers.count == 5000)
        #expect(Set(answers.compactMap { $0.object["id"] as? Int }) == Set(0..<5000))
        #expect(answers.allSatisfy { $0.errorCode == nil })
    }

    @Test func exitAnswersWaitingRequestsCancelled() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()), limits: Limits(maxInFlight: 1))
        server.send(line: Wire.request("slow", id: 1))
        server.send(line: Wire.json([["jsonrpc": "2.0", "id": 2, "method": "fast"], ["jsonrpc": "2.0", "id": 3, "method": "fast"]]))
        server.send(line: Wire.request("exit"))
        #expect(await server.ending() == .exitWithoutShutdown)
        let answers = try await server.reader.drain()
        #expect(answers.count == 2)
        let single = answers.first { $0.object["id"] as? Int == 1 }
        #expect(single?.errorCode == -32800)
        let batch = answers.first { !$0.array.isEmpty }?.array ?? []
        #expect(batch.count == 2)
        #expect(batch.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? Int == -32800 })
    }

    @Test func notificationsSentByAHandlerGoOutInItsRequestsFraming() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        for framing in ["ndjson", "lsp"] {
            server.send(Wire.frame(Wire.request("progress", id: framing), framing))
            let messages = try await server.reader.next(2)
            #expect(messages.map(\.framing) == [framing, framing])
            #expect(messages[0].object["method"] as? String == "$/progress")
            #expect(messages[0].object["id"] == nil)
            #expect(messages[1].object["id"] as? String == framing)
        }
        server.closeInput()
        _ = await server.ending()
    }

    @Test func invalidParamsNameTheField() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        let cases: [(Any, String?)] = [
            (["limit": 5], "host"),
            (["host": 5], "host"),
            (["host": "h", "limit": "x"], "limit"),
            (["host": "h", "limit": 1.5], "limit"),
            (["host": "h", "hots": 1], "hots"),
            ([1, 2], nil),
        ]
        for (index, (params, field)) in cases.enumerated() {
            server.send(line: Wire.request("named", id: index, params: params))
            let answer = try await server.reader.next()
            let error = answer.object["error"] as? [String: Any]
            #expect(error?["code"] as? Int == -32602, "case \(index)")
            #expect((error?["data"] as? [String: Any])?["field"] as? String == field, "case \(index): \(answer)")
        }
        server.send(line: Wire.request("named", id: 99, params: ["host": "h", "limit": 2.0, "flag": NSNull()]))
        let answer = try await server.reader.next()
        #expect(Wire.json(answer.object["result"] ?? NSNull()) == #"{"host":"h","limit":2}"#)
        server.closeInput()
        _ = await server.ending()
    }

    @Test func anUnexpectedErrorIsAnInternalErrorAndTheServerGoesOn() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("crash", id: 1))
        #expect((try await server.reader.next().object["error"] as? [String: Any])?["code"] as? Int == -32603)
        server.send(line: Wire.request("fast", id: 2))
        #expect(try await server.reader.next().object["result"] as? String == "fast done")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func responseObjectsFromThePeerAreIgnored() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: #"{"jsonrpc":"2.0","id":7,"result":"stray"}"#)
        server.send(line: Wire.request("fast", id: 8))
        #expect(try await server.reader.next().object["id"] as? Int == 8)
        server.closeInput()
        _ = await server.ending()
    }

    @Test func idsAreEchoedVerbatim() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        let texts = [#""abc""#, "-5", "1.5", "0", "null", #""""#, "9007199254740993"]
        for id in texts {
            server.send(line: #"{"jsonrpc":"2.0","method":"fast","id":"# + id + "}")
            let answer = try await server.reader.next()
            #expect(answer.text.contains(#""id":"# + id), "id \(id) came back as \(answer.text)")
        }
        server.closeInput()
        _ = await server.ending()
    }
}
