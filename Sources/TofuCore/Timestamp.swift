import Foundation

/// RFC 3339 UTC timestamps, the form every time in tofu's answers and store takes
/// (`2026-11-29T04:00:00Z`); the text sorts in time order.
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt))
    }

    public static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC") ?? .gmt).parse(text)
    }

    /// The current time, to the second.
    public static func now() -> String { string(Date()) }
}
