import Foundation
import JSONRPC
import TestSupport
import Testing

/// Handlers answered on the input thread (`MethodTable.register(_:immediate:otherwise:)`).
@Suite struct ImmediateHandlerTests {
    /// `echo` answers at once unless told `"later": true`, when its task handler answers;
    /// `refuse` throws a typed error at once; `crash` throws an untyped one; `slow` waits.
    static func methods(gate: Gate) -> MethodTable {
        var table = MethodTable()
        table.register(
            "echo",
            immediate: { params in
                let named = try params.named(allowing: ["text", "later"])
                if try named.optional("later", as: Bool.self) == true { return nil }
                return ["text": .string(try named.required("text")), "by": "immediate"]
            },
            otherwise: { params, _ in
                let named = try params.named(allowing: ["text", "later"])
                return ["text": .string(try named.required("text")), "by": "task"]
            })
        table.register("refuse", immediate: { _ in throw ResponseError.invalidParams(field: "host", "is refused") }, otherwise: { _, _ in "never" })
        table.register(
            "crash",
            immediate: { _ in
                struct Unexpected: Error {}
                throw Unexpected()
            }, otherwise: { _, _ in "never" })
        table.register("slow") { _, _ in
            try await gate.wait()
            return "slow done"
        }
        return table
    }

    @Test func answersAtOnceWhileATaskIsStillRunning() async throws {
        let gate = Gate()
        let server = InProcessServer(methods: Self.methods(gate: gate))
        server.send(line: Wire.request("slow", id: 1))
        server.send(line: Wire.request("echo", id: 2, params: ["text": "hello"]))
        let first = try await server.reader.next()
        #expect(first.object["id"] as? Int == 2)
        #expect(first.object["result"] as? [String: String] == ["text": "hello", "by": "immediate"])
        gate.release()
        let second = try await server.reader.next()
        #expect(second.object["result"] as? String == "slow done")
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }

    @Test func passesACallOnToTheTaskHandlerWhenItReturnsNil() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("echo", id: 1, params: ["text": "long", "later": true]))
        let answer = try await server.reader.next()
        #expect(answer.object["result"] as? [String: String] == ["text": "long", "by": "task"])
        server.closeInput()
        _ = await server.ending()
    }

    @Test func errorsAreTypedAndNotificationsGetNoAnswer() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        server.send(line: Wire.request("echo", params: ["text": "notified"]))  // a notification
        server.send(line: Wire.request("refuse", id: 1))
        server.send(line: Wire.request("crash", id: 2))
        server.send(line: Wire.request("echo", id: 3, params: ["wrong": 1]))
        let answers = try await server.reader.next(3)
        #expect(answers.map { $0.object["id"] as? Int } == [1, 2, 3])
        #expect(answers[0].errorCode == -32602)
        #expect(answers[0].errorData?["field"] as? String == "host")
        #expect(answers[1].errorCode == -32603)
        #expect(answers[2].errorCode == -32602)
        #expect(answers[2].errorData?["field"] as? String == "wrong")
        server.closeInput()
        _ = await server.ending()
        #expect(server.reader.leftover.isEmpty)
    }

    /// Thousands of answers, small and large, from the input thread and from tasks: each
    /// arrives whole, none twice, none lost (the input thread writes small batches itself
    /// while the output thread may be writing others).
    @Test func answersFromBothThreadsNeverInterleave() async throws {
        let server = InProcessServer(methods: Self.methods(gate: Gate()))
        let count = 3000
        var lines = ""
        for id in 0..<count {
            let text = String(repeating: "x", count: id % 7 == 0 ? 9000 : id % 50)
            lines += Wire.request("echo", id: id, params: ["text": text, "later": id % 3 == 0]) + "\n"
        }
        server.send(Array(lines.utf8))
        let answers = try await server.reader.next(count, timeout: .seconds(60))
        let ids = answers.compactMap { $0.object["id"] as? Int }
        #expect(Set(ids) == Set(0..<count))
        #expect(ids.count == count)
        for answer in answers {
            guard let id = answer.object["id"] as? Int, let result = answer.object["result"] as? [String: String] else {
                Issue.record("not an answer: \(answer)")
                continue
            }
            #expect(result["text"]?.count == (id % 7 == 0 ? 9000 : id % 50))
            #expect(result["by"] == (id % 3 == 0 ? "task" : "immediate"))
        }
        server.closeInput()
        _ = await server.ending()
    }
}
