import Foundation
import TestSupport
import Testing

/// The JSON-RPC transport of the real `tofu-rpc` binary over real pipes, in both framings.
@Suite struct TransportTests {
    /// Sends `text`, then a marker request; returns the `expected` answers to `text`. Answers
    /// may come in any order, so the marker is told apart by its id; an answer beyond
    /// `expected` would be read in place of a later marker and fail that case.
    static func answers(to text: String, expected: Int, framing: String, on server: ServerProcess, marker: Int) async throws -> [Received] {
        server.send(Wire.frame(text, framing))
        server.send(Wire.frame(Wire.request("rpc.discover", id: "marker-\(marker)"), framing))
        let received = try await server.reader.next(expected + 1)
        for message in received { #expect(message.framing == framing, "answer to \(text) came in \(message.framing)") }
        let isMarker = { (message: Received) in message.object["id"] as? String == "marker-\(marker)" }
        #expect(received.filter(isMarker).count == 1, "no answer to the marker after \(text): \(received)")
        return received.filter { !isMarker($0) }
    }

    @Test(arguments: ["ndjson", "lsp"])
    func transportLevelCases(framing: String) async throws {
        let server = try ServerProcess()
        let cases: [(String, (([Received]) -> Bool))] = [
            // parse error
            (#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#, { $0.count == 1 && $0[0].errorCode == -32700 && $0[0].object["id"] is NSNull }),
            // invalid request: wrong types, not an object, wrong version
            (#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#, { $0.count == 1 && $0[0].errorCode == -32600 && $0[0].object["id"] is NSNull }),
            ("1", { $0.count == 1 && $0[0].errorCode == -32600 }),
            (#"{"jsonrpc": "1.0", "method": "rpc.discover", "id": 5}"#, { $0.count == 1 && $0[0].errorCode == -32600 && $0[0].object["id"] as? Int == 5 }),
            (#"{"jsonrpc": "2.0", "method": "rpc.discover", "id": [1]}"#, { $0.count == 1 && $0[0].errorCode == -32600 && $0[0].object["id"] is NSNull }),
            (#"{"jsonrpc": "2.0", "method": "rpc.discover", "params": 3, "id": 6}"#, { $0.count == 1 && $0[0].errorCode == -32600 }),
            // unknown method
            (#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#, { $0.count == 1 && $0[0].errorCode == -32601 && $0[0].errorKind == "methodNotFound" }),
            // empty batch: one Invalid Request, not an array
            ("[]", { $0.count == 1 && $0[0].errorCode == -32600 && $0[0].object["id"] is NSNull }),
            // invalid batches: an array of errors
            ("[1]", { $0.count == 1 && $0[0].array.count == 1 && $0[0].array.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? Int == -32600 } }),
            ("[1,2,3]", { $0.count == 1 && $0[0].array.count == 3 }),
            // mixed batch: result, error, unknown method, notification (no entry)
            (
                #"[{"jsonrpc":"2.0","method":"rpc.discover","id":"a"},{"foo":"boo"},{"jsonrpc":"2.0","method":"nope","id":"b"},{"jsonrpc":"2.0","method":"rpc.discover"}]"#,
                { answers in
                    guard answers.count == 1 else { return false }
                    let batch = answers[0].array
                    let ids = batch.map { $0["id"] as? String ?? "null" }.sorted()
                    return batch.count == 3 && ids == ["a", "b", "null"]
                }
            ),
            // unknown params are refused, naming the field
            (#"{"jsonrpc":"2.0","method":"rpc.discover","params":{"x":1},"id":7}"#, { $0.count == 1 && $0[0].errorCode == -32602 }),
        ]
        for (index, (text, check)) in cases.enumerated() {
            let received = try await Self.answers(to: text, expected: 1, framing: framing, on: server, marker: index)
            #expect(check(received), "case \(index) \(text): got \(received)")
        }
        let unanswered = [
            // all notifications: nothing at all
            #"[{"jsonrpc":"2.0","method":"rpc.discover"},{"jsonrpc":"2.0","method":"nope"}]"#,
            // a single notification, even of an unknown method: nothing
            #"{"jsonrpc":"2.0","method":"nope"}"#,
            // a response object from the peer: ignored
            #"{"jsonrpc":"2.0","id":9,"result":1}"#,
        ]
        for (index, text) in unanswered.enumerated() {
            let received = try await Self.answers(to: text, expected: 0, framing: framing, on: server, marker: 100 + index)
            #expect(received.isEmpty)
        }
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test func invalidUTF8IsAParseErrorAndTheNextRequestIsAnswered() async throws {
        let server = try ServerProcess()
        server.send(Array(#"{"jsonrpc":"2.0","method":"a"#.utf8) + [0xC0, 0xAF] + Array(#"","id":1}"#.utf8) + [0x0A])
        #expect(try await server.reader.next().errorCode == -32700)
        server.send(Array("Content-Length: 5\r\n\r\n\"\u{0}".utf8) + [0xED, 0xA0, 0x80])
        #expect(try await server.reader.next().errorCode == -32700)
        #expect(try await server.call("rpc.discover").object["result"] != nil)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test(arguments: ["ndjson", "lsp"])
    func limitsAnswerAnErrorAndServingGoesOn(framing: String) async throws {
        let server = try ServerProcess(arguments: ["--max-message-bytes", "2000", "--max-depth", "8", "--max-batch", "3"])
        let big = Wire.request("rpc.discover", id: 1, params: ["x": String(repeating: "a", count: 3000)])
        let deep = #"{"jsonrpc":"2.0","id":"deep","method":"rpc.discover","params":{"a":"# + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "}}"
        let batch = Wire.json((1...4).map { ["jsonrpc": "2.0", "method": "rpc.discover", "id": $0] })
        for (index, (text, limit)) in [(big, "messageBytes"), (deep, "depth"), (batch, "batchEntries")].enumerated() {
            let received = try await Self.answers(to: text, expected: 1, framing: framing, on: server, marker: index)
            let data = (received.first?.object["error"] as? [String: Any])?["data"] as? [String: Any]
            #expect(received.first?.errorCode == -32600)
            #expect(data?["kind"] as? String == "limitExceeded")
            #expect(data?["limit"] as? String == limit, "\(received)")
        }
        // The id of a too-deep request is still echoed, so the caller can match the error.
        let deepAnswer = try await Self.answers(to: deep, expected: 1, framing: framing, on: server, marker: 99)
        #expect(deepAnswer.first?.object["id"] as? String == "deep")
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test func contentLengthLargerThanTheLimitIsSkippedNotBuffered() async throws {
        let server = try ServerProcess(arguments: ["--max-message-bytes", "1000"])
        server.send(Array("Content-Length: 5000\r\n\r\n".utf8) + [UInt8](repeating: 0x20, count: 5000))
        let answer = try await server.reader.next()
        #expect(answer.framing == "lsp")
        #expect(answer.errorCode == -32600)
        #expect(try await server.call("rpc.discover", framing: "lsp").object["result"] != nil)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test(arguments: [
        ("Content-Type: application/json\r\n\r\n{}", "without a Content-Length"),
        ("Content-Length: -5\r\n\r\n{}", "Content-Length on line 1 of a header block is not a decimal number"),
        ("Content-Length: five\r\n\r\n{}", "Content-Length on line 1 of a header block is not a decimal number"),
    ])
    func unrecoverableFramingClosesWithTheReasonOnStderr(stream: String, reason: String) async throws {
        let server = try ServerProcess()
        // A request before the broken block is still answered.
        server.send(line: Wire.request("rpc.discover", id: 1))
        server.send(Array(stream.utf8))
        #expect(try await server.reader.next().object["id"] as? Int == 1)
        #expect(try await server.waitForExit() == 2)
        #expect(server.stderr.contains(reason), "stderr: \(server.stderr)")
    }

    @Test func mixedFramingsInOneSession() async throws {
        let server = try ServerProcess()
        for (index, framing) in ["ndjson", "lsp", "lsp", "ndjson", "lsp"].enumerated() {
            let answer = try await server.call("rpc.discover", id: index, framing: framing)
            #expect(answer.framing == framing)
            #expect(answer.object["id"] as? Int == index)
        }
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test func endOfInputAnswersEverythingInFlightThenExitsZero() async throws {
        let server = try ServerProcess()
        var bytes: [UInt8] = []
        for id in 1...200 { bytes += Wire.frame(Wire.request("rpc.discover", id: id), id % 2 == 0 ? "lsp" : "ndjson") }
        server.send(bytes)
        server.closeInput()
        // 200 answers of 44 KB: seconds under ThreadSanitizer.
        #expect(try await server.waitForExit(timeout: .seconds(120)) == 0)
        let answers = try await server.reader.drain()
        #expect(Set(answers.compactMap { $0.object["id"] as? Int }) == Set(1...200))
        #expect(server.reader.leftover.isEmpty)
    }

    @Test func shutdownThenExitIsStatusZeroAndExitAloneIsOne() async throws {
        let polite = try ServerProcess()
        #expect(try await polite.call("shutdown").object["result"] is NSNull)
        polite.send(line: Wire.request("exit"))
        #expect(try await polite.waitForExit() == 0)

        let abrupt = try ServerProcess()
        abrupt.send(line: Wire.request("exit"))
        #expect(try await abrupt.waitForExit() == 1)
    }

    @Test func aTruncatedMessageAtEndOfInputIsReported() async throws {
        let server = try ServerProcess()
        server.send(Array("Content-Length: 100\r\n\r\n{\"jsonrpc\"".utf8))
        server.closeInput()
        #expect(try await server.waitForExit() == 2)
        #expect(server.stderr.contains("bytes before the end"))
    }

    @Test func aFinalLineWithoutNewlineIsAnswered() async throws {
        let server = try ServerProcess()
        server.send(Array(Wire.request("rpc.discover", id: 1).utf8))
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        #expect(try await server.reader.drain().first?.object["id"] as? Int == 1)
    }

    /// A failed notification is logged with its method name, which the peer chose: control and
    /// bidirectional-override characters in it are escaped, never written to the terminal.
    @Test func aMethodNameIsLoggedWithoutItsControlCharacters() async throws {
        let server = try ServerProcess(arguments: ["--log-level", "notice"])
        server.send(line: Wire.request("evil\u{1B}]0;owned\u{07}\u{9B}2J\u{202E}exe.txt"))
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        let log = server.stderr
        #expect(log.contains("evil\\u{1B}]0;owned\\u{7}\\u{9B}2J\\u{202E}exe.txt"), "\(log)")
        for raw in ["\u{1B}", "\u{07}", "\u{9B}", "\u{202E}"] {
            #expect(!log.contains(raw), "stderr holds \(raw.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }
}
