import Foundation
import JSONRPC
import TestSupport
import Testing

/// The examples of the JSON-RPC 2.0 specification (section 7), exact, against a server
/// that registers the specification's own example methods.
@Suite struct SpecificationExamplesTests {
    static func exampleMethods() -> MethodTable {
        var table = MethodTable()
        table.register("subtract") { params, _ in
            if case .array = params.value {
                let values = try params.positional()
                guard values.count == 2, let minuend = Int(param: values[0]), let subtrahend = Int(param: values[1]) else {
                    throw ResponseError.invalidParams(field: nil, "expected two integers")
                }
                return .int(Int64(minuend - subtrahend))
            }
            let named = try params.named(allowing: ["minuend", "subtrahend"])
            return .int(Int64(try named.required("minuend", as: Int.self) - named.required("subtrahend", as: Int.self)))
        }
        table.register("sum") { params, _ in
            .int(Int64(try params.positional().compactMap { Int(param: $0) }.reduce(0, +)))
        }
        table.register("update") { _, _ in .null }
        table.register("notify_hello") { _, _ in .null }
        table.register("notify_sum") { _, _ in .null }
        table.register("get_data") { _, _ in ["hello", 5] }
        return table
    }

    /// Responses with `data` dropped and `message` cut to the specification's words (ours
    /// go on after a colon with the details), in canonical text.
    static func specShaped(_ received: Received) -> String {
        func shape(_ value: Any) -> Any {
            guard var object = value as? [String: Any] else { return value }
            if var error = object["error"] as? [String: Any] {
                error["data"] = nil
                if let message = error["message"] as? String {
                    error["message"] = String(message.split(separator: ":", maxSplits: 1).first ?? "")
                }
                object["error"] = error
            }
            return object
        }
        if let batch = received.json as? [Any] { return Wire.json(batch.map(shape)) }
        return Wire.json(shape(received.json))
    }

    /// (request as the specification prints it, expected response or nil for none)
    static let examples: [(String, String?)] = [
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#, #"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#, #"{"jsonrpc": "2.0", "result": -19, "id": 2}"#),
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#, #"{"jsonrpc": "2.0", "result": 19, "id": 3}"#),
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#, #"{"jsonrpc": "2.0", "result": 19, "id": 4}"#),
        (#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#, nil),
        (#"{"jsonrpc": "2.0", "method": "foobar"}"#, nil),
        (#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#, #"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#),
        (#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#, #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
        (#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#, #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
        (
            """
            [
              {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
              {"jsonrpc": "2.0", "method"
            ]
            """, #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#
        ),
        ("[]", #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
        ("[1]", #"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#),
        (
            "[1,2,3]",
            """
            [
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
            ]
            """
        ),
        (
            """
            [
                {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
                {"foo": "boo"},
                {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
                {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
            ]
            """,
            """
            [
                {"jsonrpc": "2.0", "result": 7, "id": "1"},
                {"jsonrpc": "2.0", "result": 19, "id": "2"},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
                {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
            ]
            """
        ),
        (
            """
            [
                {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
            ]
            """, nil
        ),
    ]

    /// NDJSON carries one text per line, so the multi-line examples are sent with their
    /// newlines folded to spaces; LSP framing carries them exactly as printed.
    @Test(arguments: ["ndjson", "lsp"])
    func everyExampleExactly(framing: String) async throws {
        let server = InProcessServer(methods: Self.exampleMethods())
        for (index, (request, expected)) in Self.examples.enumerated() {
            let text = framing == "ndjson" ? request.replacingOccurrences(of: "\n", with: " ") : request
            server.send(Wire.frame(text, framing))
            // A marker after each example proves that a notification got no answer.
            let marker = Wire.request("get_data", id: "marker-\(index)")
            server.send(Wire.frame(marker, framing))
            // Answers may come out of order: the marker is told apart by its id.
            let received = try await server.reader.next(expected == nil ? 1 : 2)
            let isMarker = { (message: Received) in (message.object["id"] as? String) == "marker-\(index)" }
            #expect(received.filter(isMarker).count == 1, "example \(index): no marker answer in \(received)")
            if let expected, let answer = received.first(where: { !isMarker($0) }) {
                #expect(answer.framing == framing)
                #expect(Self.specShaped(answer) == Wire.canonical(expected), "example \(index): \(request)")
            }
        }
        server.closeInput()
        #expect(await server.ending() == .endOfInput)
    }
}
