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

    /// An answer is dumped into 4 KiB of scratch space, and again sized to fit when longer: every
    /// length around that edge comes out whole, byte for byte, with room kept for the newline.
    @Test func answersAroundTheScratchSizeComeOutWhole() {
        let frame = #"{"id":1,"jsonrpc":"2.0","result":{"s":""}}"#.utf8.count
        for total in Array(4090...4100) + Array(8190...8196) + [3, 100_000] where total >= frame {
            let text = String(repeating: "a", count: total - frame)
            var result = JanssonObject()
            result.set("s", text)
            let bytes = JSONCodec.response(id: .int(1), result: result)
            #expect(bytes == Array(#"{"id":1,"jsonrpc":"2.0","result":{"s":"\#(text)"}}"#.utf8), "\(total) bytes")
            #expect(bytes.capacity > bytes.count, "\(total) bytes: no room for the newline")
        }
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
        (#"{"a":1,"a":2}"#, "an object has the same key twice"),
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

    /// Each kind of error jansson reports gets one fixed wording, and none quotes the text:
    /// jansson's own message would quote `Zq9xWv`, which could be a password.
    @Test(arguments: [
        (#"{"p" "Zq9xWv"}"#, "':' expected after an object key"),
        (#"{"p":"Zq9xWv" "q":1}"#, "',' or '}' expected after an object member"),
        (#"["Zq9xWv" 1]"#, "',' or ']' expected after an array element"),
        (#"{"p":1, Zq9xWv}"#, "a string key or '}' expected in an object"),
        ("[\"Zq9\nxWv\"]", "a string is not closed before the end of the line"),
        ("[\"Zq9\u{1}xWv\"]", "an unescaped control character in a string"),
        (#"["Zq9\qxWv"]"#, "an invalid escape in a string"),
        (#"["Zq9\uZZZZ"]"#, "an invalid escape in a string"),
        (#"["Zq9\uD800xWv"]"#, "an unpaired UTF-16 surrogate escape in a string"),
        (#"[Zq9xWv]"#, "not a JSON value (a word, number or character JSON does not allow)"),
        ("[1,]", "a JSON value expected"),
        (#"["Zq9xWv"#, "the text ends inside a string"),
        (#"{"Zq9xWv":"#, "the text ends before the JSON value is complete"),
        ("{} Zq9xWv", "more text after the JSON value"),
        ("[98765432109876543210]", "an integer outside the 64-bit range"),
        ("[-98765432109876543210]", "an integer outside the 64-bit range"),
        ("[7e4242]", "a number outside the range of a double"),
        (#"{"Zq9\u0000xWv":1}"#, "an object key contains \\u0000"),
        (#"{"Zq9xWv":1,"Zq9xWv":2}"#, "an object has the same key twice"),
    ])
    func parseErrorsSayWhatKindNotWhatIsThere(text: String, reason: String) {
        do {
            _ = try JSONCodec.parse(text)
            Issue.record("parsed an invalid text")
        } catch {
            guard case .syntax(let got, _, _, _) = error else { Issue.record("\(error)"); return }
            #expect(got == reason)
            #expect(!got.contains("Zq9") && !got.contains("xWv") && !got.contains("9876") && !got.contains("4242"))
        }
    }

    @Test func invalidUTF8IsReportedWithoutTheByte() {
        do {
            _ = try JSONCodec.parse(Array(#"["Zq9"#.utf8) + [0xC0, 0xAF] + Array(#"xWv"]"#.utf8))
            Issue.record("parsed an invalid text")
        } catch {
            guard case .syntax(let got, _, _, let position) = error else { Issue.record("\(error)"); return }
            #expect(got == "invalid UTF-8")
            #expect(position == 5)
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
