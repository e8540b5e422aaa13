import TestSupport
import Testing
import TofuCore

/// `Fingerprint(exactly:)`, the check of a stored fingerprint, against the check it replaced
/// (`Fingerprint(parsing:)` whose `description` gives the text back), and `Fingerprint(digest:)`
/// against the formatting it replaced: on many random and malformed texts and digests.
@Suite struct FingerprintFormTests {
    static let canonical = "E8:17:6A:E7:93:52:79:9A:49:FD:2B:3D:C3:3E:18:69:8A:FF:7F:F4:AA:5F:E9:95:75:A5:18:82:BE:6F:08:5C"

    /// The check a stored fingerprint went through before `Fingerprint(exactly:)`.
    static func previousCheck(_ text: String) -> Fingerprint? {
        guard let parsed = Fingerprint(parsing: text), parsed.description == text else { return nil }
        return parsed
    }

    /// What `Fingerprint(parsing:)` takes for a hex digit beyond ASCII: the full-width forms
    /// `Character.isHexDigit` accepts. tofu never writes them; the previous check let a stored
    /// fingerprint of full-width digits through (to fail later, or never: an event's or a
    /// server's fingerprint has no certificate to be hashed against).
    static func hasNonASCIIHexDigit(_ text: String) -> Bool {
        text.contains { !$0.isASCII && $0.isHexDigit }
    }

    /// Characters a damaged or hand-edited column might hold in place of one of the canonical text.
    static let replacements: [Character] = [
        "0", "9", "A", "F", "a", "f", "G", "g", "Z", ":", "-", " ", "\t", "\n", "\r", "=", "\0", "\u{7F}", "é", "\u{301}", "\u{FF10}",
        "\u{FF21}", "\u{FF41}", "\u{FF26}", "\u{200B}", "🔐", "\u{FEFF}",
    ]

    static func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
        var characters = Array(text)
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let pick = replacements.randomElement(using: &random) ?? "0"
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !characters.isEmpty:
                characters[Int.random(in: 0..<characters.count, using: &random)] = pick
            case 1:
                characters.insert(pick, at: Int.random(in: 0...characters.count, using: &random))
            case 2 where !characters.isEmpty:
                characters.remove(at: Int.random(in: 0..<characters.count, using: &random))
            case 3:
                characters = Array(String(characters).lowercased())
            case 4:
                characters = Array("sha256 Fingerprint=") + characters
            default:
                characters.append(pick)
            }
        }
        return String(characters)
    }

    static func randomCanonical(_ random: inout SeededGenerator) -> String {
        Fingerprint(digest: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }).description
    }

    @Test func acceptsAndRefusesWhatThePreviousCheckDid() {
        var random = SeededGenerator(state: 19)
        var texts = [
            Self.canonical, Self.canonical.lowercased(), Self.canonical.replacing(":", with: ""), " " + Self.canonical, Self.canonical + "\n",
            "sha256 Fingerprint=" + Self.canonical, "", ":", String(repeating: "0", count: 95), String(repeating: ":", count: 95),
            String(Self.canonical.dropLast()), Self.canonical + ":", Self.canonical.replacing(":", with: "-"),
            String(repeating: "00:", count: 31) + "00", String(repeating: "FF:", count: 31) + "FF",
        ]
        for _ in 0..<20_000 {
            let base = Bool.random(using: &random) ? Self.randomCanonical(&random) : Self.canonical
            texts.append(Self.mutate(base, &random))
        }
        texts += (0..<5_000).map { _ in Self.randomCanonical(&random) }
        // Every random byte string of the canonical length, and short ones.
        for length in [95, 95, 95, 94, 96, 64, 0, 1] {
            for _ in 0..<2_000 {
                let bytes = (0..<length).map { index in
                    index % 3 == 2 && Bool.random(using: &random)
                        ? UInt8(ascii: ":") : "0123456789ABCDEFabcdef:G \u{0}\u{80}\u{FF}".utf8.randomElement(using: &random) ?? 0
                }
                texts.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        var accepted = 0
        for text in texts {
            let now = Fingerprint(exactly: text)
            if Self.hasNonASCIIHexDigit(text) {
                #expect(now == nil, "\(text.debugDescription): full-width hex digits are not what tofu writes")
                continue
            }
            #expect(now == Self.previousCheck(text), "\(text.debugDescription)")
            #expect(now.map { $0.description == text } ?? true)
            if now != nil { accepted += 1 }
        }
        // The inputs reach both answers, many times each.
        #expect(accepted > 1_000 && accepted < texts.count - 1_000, "\(accepted) of \(texts.count) accepted")
    }

    @Test func fullWidthHexDigitsAreRefused() {
        let fullWidth = String(Self.canonical.map { character -> Character in
            guard character != ":", let scalar = character.unicodeScalars.first,
                let wide = Unicode.Scalar(scalar.value - 0x20 + 0xFF00)
            else { return character }
            return Character(wide)
        })
        #expect(Self.previousCheck(fullWidth) != nil, "the previous check let it through")
        #expect(Fingerprint(exactly: fullWidth) == nil)
    }

    /// The formatting `Fingerprint(digest:)` had: each byte in uppercase hex, two digits, joined by colons.
    static func previousFormat(_ digest: [UInt8]) -> String {
        digest.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    @Test func digestsAreWrittenAsBefore() {
        var random = SeededGenerator(state: 12)
        var digests: [[UInt8]] = [[], [0], [255], Array(0...31), Array(224...255), Array(repeating: 0, count: 32)]
        digests += (0..<8).map { row in (0..<32).map { UInt8(row * 32 + $0) } }
        digests += (0..<2_000).map { _ in (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
        for digest in digests {
            #expect(Fingerprint(digest: digest).description == Self.previousFormat(digest), "\(digest)")
        }
    }
}
