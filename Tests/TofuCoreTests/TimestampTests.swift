import Foundation
import TestSupport
import Testing
import TofuCore

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 3339 UTC text, the same strings tofu wrote while TofuCore formatted with Foundation's
/// `Date.ISO8601FormatStyle` (this test still uses Foundation, to compare with it).
@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (-2_208_988_800, "1900-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_795_924_800, "2026-11-29T04:00:00Z"),
        (2_147_483_647, "2038-01-19T03:14:07Z"),
        (2_147_483_648, "2038-01-19T03:14:08Z"),
        (4_102_444_800, "2100-01-01T00:00:00Z"),
        (4_107_456_000, "2100-02-28T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        // The proleptic Gregorian calendar of RFC 3339 (and of OpenSSL's certificate times), where
        // Foundation switched to the Julian calendar before 1582-10-15 (0001-01-03 here).
        (-62_135_596_800, "0001-01-01T00:00:00Z"),
        (-62_167_219_200, "0000-01-01T00:00:00Z"),
    ])
    func knownTimes(seconds: Int64, text: String) {
        #expect(Timestamp.string(secondsSince1970: seconds) == text)
    }

    /// A five-digit or negative year would not sort as text: such times are written as the
    /// nearest time that has four digits.
    @Test(arguments: [
        (Int64(-62_167_219_201), "0000-01-01T00:00:00Z"),
        (Int64.min, "0000-01-01T00:00:00Z"),
        (253_402_300_800, "9999-12-31T23:59:59Z"),
        (Int64.max, "9999-12-31T23:59:59Z"),
    ])
    func timesWithoutAFourDigitYearAreClamped(seconds: Int64, text: String) {
        #expect(Timestamp.string(secondsSince1970: seconds) == text)
    }

    /// The same text as Foundation for times from 1583 (after the Gregorian reform) to 9999,
    /// fractions of a second included (rounded down, before 1970 too).
    @Test func sameTextAsFoundation() {
        let style = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt)
        var random = SeededGenerator(state: 18)
        let first: Int64 = -12_212_553_600  // 1583-01-01T00:00:00Z
        let span = UInt64(253_402_300_799 - first)
        var samples: [Double] = [0, -0.5, 0.5, 0.999, -1.25, 2_147_483_647.5, 253_402_300_799.9]
        for _ in 0..<20_000 {
            samples.append(Double(first + Int64(random.next() % span)) + Double(random.next() % 1000) / 1000)
        }
        for seconds in samples {
            let expected = Date(timeIntervalSince1970: seconds).formatted(style)
            #expect(Timestamp.string(secondsSince1970: Int64(seconds.rounded(.down))) == expected, "\(seconds)")
        }
    }

    @Test func textSortsInTimeOrder() {
        var random = SeededGenerator(state: 3339)
        for _ in 0..<5_000 {
            let a = Int64(bitPattern: random.next()) % 300_000_000_000
            let b = Int64(bitPattern: random.next()) % 300_000_000_000
            let (left, right) = (Timestamp.string(secondsSince1970: a), Timestamp.string(secondsSince1970: b))
            if a < b { #expect(left <= right, "\(a) \(b)") }
            if a > b { #expect(left >= right, "\(a) \(b)") }
        }
    }

    @Test func nowIsTheCurrentSecond() {
        let style = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt)
        let before = Date().formatted(style)
        let now = Timestamp.now()
        let after = Date().formatted(style)
        #expect(before <= now && now <= after, "\(before) \(now) \(after)")
    }

    @Test(arguments: [0, 1, 30, 36_500, -1])
    func nowPlusDays(days: Int) {
        let style = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt)
        let before = Date().addingTimeInterval(Double(days) * 86_400).formatted(style)
        let later = Timestamp.now(plusDays: days)
        let after = Date().addingTimeInterval(Double(days) * 86_400).formatted(style)
        #expect(before <= later && later <= after, "\(before) \(later) \(after)")
    }

    @Test func nowPlusDaysBeyondAnyYearIsClamped() {
        #expect(Timestamp.now(plusDays: 3_000_000) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.now(plusDays: .max) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.now(plusDays: .min) == "0000-01-01T00:00:00Z")
    }

    /// A certificate's time, as OpenSSL's ASN1_TIME_to_tm fills it in.
    @Test func brokenDownTime() {
        var parts = tm()
        parts.tm_year = 5 - 1900
        parts.tm_mon = 0
        parts.tm_mday = 2
        parts.tm_hour = 3
        parts.tm_min = 4
        parts.tm_sec = 5
        #expect(Timestamp.string(utc: parts) == "0005-01-02T03:04:05Z")
        parts.tm_year = 2049 - 1900
        parts.tm_mon = 11
        parts.tm_mday = 31
        parts.tm_hour = 23
        parts.tm_min = 59
        parts.tm_sec = 59
        #expect(Timestamp.string(utc: parts) == "2049-12-31T23:59:59Z")
    }
}
