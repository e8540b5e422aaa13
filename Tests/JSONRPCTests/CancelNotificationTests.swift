import Foundation
import JSONRPC
import TestSupport
import Testing

/// The hooks a protocol layered on a connection uses (MCP on tofu-rpc): a cancel notification of
/// its own spelling, which acts as `$/cancelRequest`, and a context delegated to the handler it
/// runs, whose notifications it translates and whose commitment is the call's.
@Suite struct CancelNotificationTests {
    static func methods(gate: Gate) -> MethodTable {
        var table = ConnectionTests.methods(gate: gate)
        table.registerCancelNotification("x/cancelled", CancelNotification(idParam: "requestId", otherParams: ["reason"]))
        return table
    }

    @Test func aRegisteredCancelNotificationCancelsTheCallItNames() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("slow", id: "s1"))
        server.send(line: Wire.request("slow", id: "s2"))
        server.send(line: Wire.request("x/cancelled", params: ["requestId": "s1", "reason": "the user pressed stop"]))
        let answer = try await server.reader.next()
        #expect(answer.object["id"] as? String == "s1")
        #expect(answer.errorCode == -32800, "\(answer)")
        // Only the one named: s2 still runs, and answers when cancelled in turn.
        server.send(line: Wire.request("x/cancelled", params: ["requestId": "s2"]))
        let second = try await server.reader.next()
        #expect(second.object["id"] as? String == "s2" && second.errorCode == -32800, "\(second)")
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    @Test func sentAsARequestItIsAnsweredAndItsParamsAreChecked() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("x/cancelled", id: 1, params: ["requestId": 99]))
        let unknown = try await server.reader.next()
        #expect(unknown.object["id"] as? Int == 1 && unknown.object["result"] is NSNull, "\(unknown)")
        server.send(line: Wire.request("x/cancelled", id: 2, params: ["id": 99]))
        let misnamed = try await server.reader.next()
        #expect(misnamed.errorCode == -32602 && misnamed.errorData?["field"] as? String == "id", "\(misnamed)")
        server.send(line: Wire.request("x/cancelled", id: 3, params: [:]))
        let missing = try await server.reader.next()
        #expect(missing.errorCode == -32602 && missing.errorData?["field"] as? String == "requestId", "\(missing)")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func anUnregisteredNameCancelsNothing() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: ConnectionTests.methods(gate: gate))
        server.send(line: Wire.request("slow", id: "s1"))
        server.send(line: Wire.request("x/cancelled", id: "c", params: ["requestId": "s1"]))
        let refused = try await server.reader.next()
        #expect(refused.object["id"] as? String == "c" && refused.errorCode == -32601, "\(refused)")
        gate.release()
        let answer = try await server.reader.next()
        #expect(answer.object["result"] as? String == "slow done", "\(answer)")
        server.closeInput()
        _ = await server.ending()
    }

    @Test func theTableListsItsCancelNotifications() {
        #expect(Self.methods(gate: Gate()).methodNames.contains("x/cancelled"))
        #expect(!ConnectionTests.methods(gate: Gate()).methodNames.contains("x/cancelled"))
    }

    /// `outer` runs `inner` with a delegated context: inner's `$/progress` goes out renamed and
    /// reshaped, its other notifications are dropped, and once inner has committed, a cancel
    /// of outer gets inner's answer, not -32800.
    @Test func aDelegatedContextTranslatesNotificationsAndSharesCommitment() async throws {
        let gate = Gate()
        var table = MethodTable()
        table.register("inner") { _, context in
            context.notify("$/progress", params: ["token": "t", "value": ["done": 1]])
            context.notify("other", params: nil)
            context.answerEvenIfCancelled()
            try? await gate.wait()
            return ["method": .string(context.method)]
        }
        let inner = table.handler(for: "inner")
        table.register("outer") { params, context in
            let delegate = context.delegating(to: "inner") { method, params in
                method == "$/progress" ? ("x/progress", ["done": params?["value"]?["done"] ?? .null]) : nil
            }
            return try await inner?(params, delegate) ?? .null
        }
        let server = InProcessServer(methods: table)
        server.send(line: Wire.request("outer", id: 7))
        let progress = try await server.reader.next()
        #expect(progress.object["method"] as? String == "x/progress", "\(progress)")
        #expect((progress.object["params"] as? [String: Any])?["done"] as? Int == 1, "\(progress)")
        server.send(line: Wire.request("$/cancelRequest", params: ["id": 7]))
        try await Task.sleep(for: .milliseconds(50))
        gate.release()
        let answer = try await server.reader.next()
        #expect(answer.object["id"] as? Int == 7, "\(answer)")
        #expect((answer.object["result"] as? [String: Any])?["method"] as? String == "inner", "a committed call answered \(answer)")
        server.closeInput()
        _ = await server.ending()
    }
}
