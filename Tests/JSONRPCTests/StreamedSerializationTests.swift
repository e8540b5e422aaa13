import TestSupport
import Testing

@testable import JSONRPC

/// A value written a part at a time (`JSONCodec.streamed`, what `serialize` does for an answer
/// holding a long array) is byte for byte what jansson writes of it in one piece
/// (`JSONCodec.whole`): containers in jansson's compact form and key order (bytes compared, a
/// key before the keys it begins), on many random values with awkward keys and strings.
@Suite struct StreamedSerializationTests {
    static let keys = [
        "", "a", "A", "ab", "a\u{0}", "a\u{0}b", "b", "é", "e\u{301}", "\u{FFFF}", "🔐", "id", "jsonrpc", "result", "certs",
        "nextCursor", "host", "hostname", "\u{7F}", "\"", "\\", "\n", "zz", "Z", "_", "1", "10", "9",
    ]

    static func random(_ generator: inout SeededGenerator, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 0 ? 9 : 6), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int([0, -1, Int64.max, Int64.min, Int64.random(in: -1_000...1_000, using: &generator)].randomElement(using: &generator) ?? 0)
        case 3: return .double([0.5, -1e300, 1e-300, .nan, .infinity, 3.0, Double.random(in: -10...10, using: &generator)].randomElement(using: &generator) ?? 0)
        case 4, 5: return .string((0..<Int.random(in: 0...3, using: &generator)).map { _ in keys.randomElement(using: &generator) ?? "" }.joined())
        case 6:
            let count = [0, 1, 2, 5, JSONCodec.longArray - 1, JSONCodec.longArray, JSONCodec.longArray + 3].randomElement(using: &generator) ?? 0
            return .array((0..<count).map { _ in random(&generator, depth: depth - 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                members[keys.randomElement(using: &generator) ?? ""] = random(&generator, depth: depth - 1)
            }
            return .object(members)
        }
    }

    @Test func streamedIsWhole() {
        var generator = SeededGenerator(state: 1414)
        for round in 0..<3_000 {
            let value = Self.random(&generator, depth: 5)
            #expect(JSONCodec.streamed(value) == JSONCodec.whole(value), "round \(round): \(value)")
        }
    }

    /// What `serialize` gives a listing's answer: a response around a long array of objects.
    @Test func aLongListingIsStreamedAndReadsBack() throws {
        let pins: [JSONValue] = (0..<(JSONCodec.longArray * 3)).map { index in
            ["host": .string("h\(index).example_443"), "port": .int(443), "subjectAltNames": .array([.string("DNS:h\(index)")]), "next": .null]
        }
        let response: JSONValue = ["jsonrpc": "2.0", "id": 7, "result": ["certs": .array(pins), "nextCursor": "dG9mdTE="]]
        let text = JSONCodec.serialize(response)
        #expect(text == JSONCodec.whole(response))
        #expect(try JSONCodec.parse(text) == response)
    }
}
