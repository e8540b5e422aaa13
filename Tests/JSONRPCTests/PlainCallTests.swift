import Testing

@testable import JSONRPC

/// A plain single call is read from jansson's tree without its envelope becoming a `JSONValue`
/// (`JSONCodec.message`); every message, plain or not, must come out as the call (or value, or
/// error) that parsing it whole and reading it with `IncomingMessage` gives.
@Suite struct PlainCallTests {
    static let ids = [nil, "null", "0", "-1", "9223372036854775807", "-9223372036854775808", "1.5", "1e300", "\"\"", "\"a\\u0000\\\"é\"", "true", "{}", "[1]"]
    static let versions = [nil, "\"2.0\"", "\"2.00\"", "2.0", "\"1.0\"", "null"]
    static let methods = [nil, "\"listCerts\"", "\"\"", "\"a\\u0000b\"", "7", "[\"x\"]"]
    static let params = [nil, "null", "{}", "[]", "{\"host\":\"kong\",\"n\":[1,{\"a\":null}]}", "[[[]]]", "{\"a\":{\"b\":{}}}", "\"text\"", "1", "false"]
    static let extras = [nil, "\"foo\":1", "\"result\":1", "\"error\":{}"]

    /// `,`-joined members of one message; nil parts are left out.
    static func message(_ parts: [(String, String?)]) -> String {
        "{" + parts.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.joined(separator: ",") + "}"
    }

    @Test(arguments: [1, 2, 3, 4, 128])
    func everyEnvelopeIsReadAsTheWholeValueReadsIt(maxDepth: Int) throws {
        var plain = 0
        for id in Self.ids {
            for version in Self.versions {
                for method in Self.methods {
                    for params in Self.params {
                        for extra in Self.extras {
                            var text = Self.message([("id", id), ("jsonrpc", version), ("method", method), ("params", params)])
                            if let extra { text = text == "{}" ? "{\(extra)}" : String(text.dropLast()) + ",\(extra)}" }
                            plain += try Self.check(text, maxDepth: maxDepth) ? 1 : 0
                        }
                    }
                }
            }
        }
        // Every valid call without extra members took the plain path, at each depth it fits in.
        let expected = 10 * 3 * (maxDepth >= 4 ? 7 : maxDepth >= 2 ? 4 : 2)
        #expect(plain == expected, "plain calls at depth \(maxDepth)")
        for text in ["[]", "[{\"jsonrpc\":\"2.0\",\"method\":\"a\"}]", "1", "\"x\"", "null", "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1,\"id\":2}", "{", ""] {
            _ = try Self.check(text, maxDepth: maxDepth)
        }
    }

    /// True when `text` took the plain path.
    static func check(_ text: String, maxDepth: Int) throws -> Bool {
        let bytes = Array(text.utf8)
        let reference = Result { () throws(JSONDecodingError) in try JSONCodec.parse(bytes, maxDepth: maxDepth) }
        let read = Result { () throws(JSONDecodingError) in try JSONCodec.message(bytes, maxDepth: maxDepth) }
        switch (read, reference) {
        case (.success(.call(let call)), .success(let value)):
            #expect(IncomingMessage(value) == .call(call), "\(text)")
            return true
        case (.success(.other(let value)), .success(let whole)):
            #expect(value == whole, "\(text)")
        case (.failure(let error), .failure(let expected)):
            #expect(error == expected, "\(text)")
        default:
            Issue.record("\(text): \(read) against \(reference)")
        }
        return false
    }
}
