import Testing

@testable import JSONRPC

/// jansson stops parsing past its own nesting limit (2,048 containers, JSON_PARSER_MAX_DEPTH)
/// whatever `--max-depth` allows: the error names the limit that stopped the message, not a larger
/// one it never reached ("nests deeper than 100000 levels" for 2,049).
@Suite struct JanssonDepthLimitTests {
    @Test func nestingPastJanssonsOwnLimitNamesThatLimit() {
        let fits = String(repeating: "[", count: 2048) + String(repeating: "]", count: 2048)
        #expect(throws: Never.self) { try JSONCodec.parse(fits, maxDepth: 100_000) }
        let deeper = String(repeating: "[", count: 2049) + String(repeating: "]", count: 2049)
        #expect(throws: JSONDecodingError.tooDeep(limit: 2048, id: nil)) { try JSONCodec.parse(deeper, maxDepth: 100_000) }
        #expect(throws: JSONDecodingError.tooDeep(limit: 2048, id: nil)) { try JSONCodec.message(Array(deeper.utf8), maxDepth: 100_000) }
        // Within jansson's limit, the configured one is named as before.
        #expect(throws: JSONDecodingError.tooDeep(limit: 100, id: nil)) { try JSONCodec.parse(deeper, maxDepth: 100) }
    }
}
