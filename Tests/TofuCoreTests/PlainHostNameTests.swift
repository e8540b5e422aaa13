import TestSupport
import Testing

@testable import TofuCore

/// `HostKey.plainName`, the one-pass reading of a name already normalised (what scripts and
/// tofu's own answers send), gives exactly the key the full parser gives, and nothing where the
/// full parser would refuse, normalise or read an address: on names built from the bytes that
/// matter at every position (hyphens, dots, digits, `_`, `0x`, label and name lengths).
@Suite struct PlainHostNameTests {
    static let pieces = [
        "a", "z", "h", "x", "0", "9", "0x", "1", "-", "-", ".", ".", "_", "_443", "_0", "_65535", "_65536", "_00443", "_4430",
        "example", "com", "A", "é", " ", ":", "[", String(repeating: "a", count: 63), String(repeating: "b", count: 64),
    ]

    static func full(_ input: String) -> HostKey? {
        try? HostKey(parsingInFull: input)
    }

    @Test func aPlainNameReadsAsTheFullParserReadsIt() {
        var generator = SeededGenerator(state: 1123)
        var plain = 0
        let fixed = [
            "h005000.example", "h005000.example_443", "dnac.example.com_8443", "a", "a_1", "a-b.c1_65535", "x.0x1f", "example.123",
            "a.0x", "0x7f000001", "127.0.0.1", "127.1", "a..b", "a.", ".a", "-a", "a-", "a-.b", "a_443_443", "a_", "a_0",
            String(repeating: "a.", count: 126) + "b", String(repeating: "a.", count: 127) + "b",
            String(repeating: "a.", count: 126) + "b_443", String(repeating: "a", count: 63), String(repeating: "a", count: 64),
        ]
        let inputs = fixed + (0..<40_000).map { _ in
            (0..<Int.random(in: 1...6, using: &generator)).map { _ in Self.pieces.randomElement(using: &generator) ?? "" }.joined()
        }
        for input in inputs {
            guard let key = HostKey.plainName(input) else { continue }
            plain += 1
            let expected = Self.full(input)
            #expect(expected?.host == key.host && expected?.port == key.port && expected?.description == key.description, "\(input.debugDescription)")
        }
        // Not vacuous: the names scripts send take the one-pass reading.
        for input in ["h005000.example", "h005000.example_443", "dnac.example.com_8443", "a-b.c1_65535"] {
            #expect(HostKey.plainName(input) != nil, "\(input)")
        }
        #expect(plain > 2_000)
    }
}
