#if canImport(Glibc)
    import Glibc
#endif

/// RFC 3339 UTC timestamps, the form every time in tofu's answers and store takes
/// (`2026-11-29T04:00:00Z`): whole seconds, four-digit years, so the text sorts in time order.
public enum Timestamp {
    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times with a four-digit year.
    static let earliest: Int64 = -62_167_219_200
    static let latest: Int64 = 253_402_300_799

    /// The current time, to the second.
    public static func now() -> String { string(secondsSince1970: currentSeconds()) }

    /// The time `days` days from now, to the second (a horizon such as listCerts' expiringWithinDays).
    public static func now(plusDays days: Int) -> String {
        let (offset, overflow) = Int64(days).multipliedReportingOverflow(by: 86_400)
        let (time, later) = currentSeconds().addingReportingOverflow(offset)
        guard !overflow, !later else { return string(secondsSince1970: days < 0 ? earliest : latest) }
        return string(secondsSince1970: time)
    }

    /// The text of a time in seconds since 1970-01-01T00:00:00Z (negative before), in the
    /// proleptic Gregorian calendar. A time before year 0000 or after 9999 is written as the
    /// nearest of `earliest` and `latest`: a five-digit or negative year would not sort.
    public static func string(secondsSince1970 seconds: Int64) -> String {
        var time = time_t(min(max(seconds, earliest), latest))
        var parts = tm()
        // gmtime_r fails only when the year overflows an Int32, far outside the clamped range.
        guard gmtime_r(&time, &parts) != nil else { return seconds < 0 ? "0000-01-01T00:00:00Z" : "9999-12-31T23:59:59Z" }
        return string(utc: parts)
    }

    /// The text of a broken-down UTC time of years 0000–9999, as gmtime_r and OpenSSL's
    /// ASN1_TIME_to_tm fill it in. Written into the string's own 20 bytes: six numbers made into strings and joined cost
    /// 6k instructions of every write that records an event.
    public static func string(utc parts: tm) -> String {
        String(unsafeUninitializedCapacity: 20) { bytes in
            var at = 0
            // One field within its width (a year of 0000–9999, the rest under 100), then `after`.
            func put(_ value: Int, _ width: Int, _ after: Unicode.Scalar) {
                var value = min(max(value, 0), width == 4 ? 9999 : 99)
                for position in stride(from: at + width - 1, through: at, by: -1) {
                    bytes[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                bytes[at + width] = UInt8(ascii: after)
                at += width + 1
            }
            put(Int(parts.tm_year) + 1900, 4, "-")
            put(Int(parts.tm_mon) + 1, 2, "-")
            put(Int(parts.tm_mday), 2, "T")
            put(Int(parts.tm_hour), 2, ":")
            put(Int(parts.tm_min), 2, ":")
            put(Int(parts.tm_sec), 2, "Z")
            return at
        }
    }

    /// Whether `text` is a time exactly as tofu writes it, `2026-11-29T04:00:00Z`, and a real
    /// one (month, day of that month, hour, minute and second in range).
    public static func isCanonical(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isCanonical(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// `isCanonical` of text as bytes (a database's buffer), read in place.
    public static func isCanonical(utf8 bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == 20 else { return false }
        for index in 0..<20 {
            let byte = bytes[index]
            switch index {
            case 4, 7: guard byte == UInt8(ascii: "-") else { return false }
            case 10: guard byte == UInt8(ascii: "T") else { return false }
            case 13, 16: guard byte == UInt8(ascii: ":") else { return false }
            case 19: guard byte == UInt8(ascii: "Z") else { return false }
            default: guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            }
        }
        func number(_ start: Int, _ count: Int) -> Int {
            var value = 0
            for index in start..<(start + count) { value = value * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
            return value
        }
        let year = number(0, 4), month = number(5, 2), day = number(8, 2)
        guard (1...12).contains(month), number(11, 2) < 24, number(14, 2) < 60, number(17, 2) < 60 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = switch month {
        case 2: leap ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
        return (1...days).contains(day)
    }

    /// A date (`2026-11-29`, meaning its first second, UTC) or a time as tofu writes it
    /// (`2026-11-29T04:00:00Z`), as a time; nil for anything else.
    public static func parse(dateOrTime text: String) -> String? {
        let time = text.utf8.count == 10 ? text + "T00:00:00Z" : text
        return isCanonical(time) ? time : nil
    }

    /// Seconds since 1970 now, rounded down. CLOCK_REALTIME, as Foundation's `Date()` reads:
    /// `time()` may read the coarse clock, up to a tick behind.
    private static func currentSeconds() -> Int64 {
        var now = timespec()
        guard clock_gettime(CLOCK_REALTIME, &now) == 0 else { return Int64(time(nil)) }
        return Int64(now.tv_sec)
    }
}
