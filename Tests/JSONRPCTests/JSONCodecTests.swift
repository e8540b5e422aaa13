import JSONRPC
import Testing

@Suite struct JSONCodecTests {
    @Test func parsesEveryTypeAndKeepsIntegersApartFromReals() throws {
        let value = try JSONCodec.parse(#"{"i":1,"r":1.0,"s":"\u00e9\u0000x","b":true,"n":null,"a":[1,[2]],"o":{}}"#)
        #expect(value == .object([
            "i": .int(1), "r": .double(1.0), "s": .string("é\u{0}x"), "b": .bool(true), "n": .null,
            "a": .array([.int(1), .array([.int(2)])]), "o": .object([:]),
        ]))
    }

    @Test func anyValueAtTheTopLevel() throws {
        #expect(try JSONCodec.parse("1") == .int(1))
        #expect(try JSONCodec.parse(#""x""#) == .string("x"))
        #expect(try JSONCodec.parse("null") == .null)
    }

    @Test func serialisesCompactlyOnOneLineWithSortedKeys() {
        let value: JSONValue = ["b": "line\nbreak", "a": [1, 2.5, nil, true], "c": .double(.nan)]
        #expect(value.description == #"{"a":[1,2.5,null,true],"b":"line\nbreak","c":null}"#)
    }

    @Test func roundTrip() throws {
        let value: JSONValue = ["id": .int(Int64.max), "x": .double(-0.125), "s": "ünï\u{1F512}\"\\", "k": []]
        #expect(try JSONCodec.parse(JSONCodec.serialize(value)) == value)
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate object key near '\"a\"'"),
        ("{\"a\":\"\u{FF}\"}", ""),
        (#"{"a":"\udc00"}"#, ""),
        ("18446744073709551616", ""),
        ("", ""),
        ("{\"a\":1}\n{", ""),
    ])
    func rejectsInvalidTexts(text: String, reason: String) {
        // "\u{FF}" in a Swift string is valid UTF-8; the invalid byte is built below.
        var bytes = Array(text.utf8)
        if text.contains("\u{FF}") { bytes = Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8) }
        #expect(throws: JSONDecodingError.self) { try JSONCodec.parse(bytes) }
        if !reason.isEmpty {
            do {
                _ = try JSONCodec.parse(bytes)
            } catch {
                guard case .syntax(let got, _, _, _) = error else { Issue.record("expected a syntax error"); return }
                #expect(got == reason)
            }
        }
    }

    @Test func reportsLineAndColumn() {
        do {
            _ = try JSONCodec.parse("{\n  \"a\": tru\n}")
            Issue.record("parsed an invalid text")
        } catch {
            guard case .syntax(_, let line, let column, _) = error else { Issue.record("\(error)"); return }
            #expect(line == 2)
            #expect(column >= 8)
        }
    }

    @Test func nestingPastTheLimitIsRefusedAndTheIDRecovered() {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(throws: Never.self) { try JSONCodec.parse(deep, maxDepth: 10) }
        #expect(throws: JSONDecodingError.tooDeep(limit: 9, id: nil)) { try JSONCodec.parse(deep, maxDepth: 9) }
        let request = #"{"jsonrpc":"2.0","id":"deep","method":"m","params":"# + deep + "}"
        #expect(throws: JSONDecodingError.tooDeep(limit: 5, id: .string("deep"))) { try JSONCodec.parse(request, maxDepth: 5) }
    }

    @Test func absurdNestingIsStoppedByJanssonWithoutRecursingFurther() {
        let absurd = String(repeating: "[", count: 100_000)
        #expect(throws: JSONDecodingError.tooDeep(limit: 128, id: nil)) { try JSONCodec.parse(absurd, maxDepth: 128) }
    }
}
