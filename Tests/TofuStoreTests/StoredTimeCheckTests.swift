import TestSupport
import Testing

@testable import TofuStore

/// `RowReader.isTimestamp` (read in place, months' lengths by a switch) accepts exactly the times
/// the check it replaced accepted (kept here as it was), on every day of several years and on
/// many random and malformed texts; `RowReader.sameBytes` is byte equality, not `==`.
@Suite struct StoredTimeCheckTests {
    static func previousCheck(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 else { return false }
        for (index, byte) in bytes.enumerated() {
            let expected: UInt8? = switch index {
            case 4, 7: UInt8(ascii: "-")
            case 10: UInt8(ascii: "T")
            case 13, 16: UInt8(ascii: ":")
            case 19: UInt8(ascii: "Z")
            default: nil
            }
            if let expected {
                guard byte == expected else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            }
        }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        guard (1...12).contains(month), number(11..<13) < 24, number(14..<16) < 60, number(17..<19) < 60 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    static func two(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }

    @Test func acceptsWhatThePreviousCheckAccepted() {
        var texts: [String] = []
        for year in ["1900", "2000", "2023", "2024", "2100", "0000", "9999"] {
            for month in 0...13 {
                for day in 0...32 { texts.append("\(year)-\(Self.two(month))-\(Self.two(day))T12:34:56Z") }
            }
        }
        var random = SeededGenerator(state: 3339)
        let alphabet = Array("0123456789-T:Z tz+.\u{0}é")
        for _ in 0..<30_000 {
            var characters = Array(texts.randomElement(using: &random) ?? "")
            for _ in 0..<Int.random(in: 0...2, using: &random) where !characters.isEmpty {
                let position = Int.random(in: 0..<characters.count, using: &random)
                let replacement = alphabet.randomElement(using: &random) ?? "0"
                switch Int.random(in: 0..<3, using: &random) {
                case 0: characters[position] = replacement
                case 1: characters.insert(replacement, at: position)
                default: characters.remove(at: position)
                }
            }
            texts.append(String(characters))
        }
        var accepted = 0
        for text in texts {
            let now = RowReader.isTimestamp(text)
            #expect(now == Self.previousCheck(text), "\(text.debugDescription)")
            if now { accepted += 1 }
        }
        #expect(accepted > 2_000 && accepted < texts.count - 2_000, "\(accepted) of \(texts.count)")
    }

    @Test func sameBytesIsByteEquality() {
        #expect(RowReader.sameBytes("kong.example", "kong.example"))
        #expect(RowReader.sameBytes("", ""))
        #expect(!RowReader.sameBytes("kong.example", "kong.exampl"))
        #expect(!RowReader.sameBytes("kong.example", "Kong.example"))
        // Canonically equivalent, so `==`, yet other bytes.
        #expect("\u{212A}" == "K" && !RowReader.sameBytes("\u{212A}", "K"))
        #expect("e\u{301}" == "\u{E9}" && !RowReader.sameBytes("e\u{301}", "\u{E9}"))
    }
}
