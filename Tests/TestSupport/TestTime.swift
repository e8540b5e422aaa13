import Foundation

/// Time bounds of tests that prove "within its deadline". `make sanitize-address` and
/// `make sanitize-thread` set `TOFU_TEST_TIME_SCALE`, because sanitized binaries run several
/// times slower; a bound is multiplied by it and still fails when a deadline is not kept.
public enum TestTime {
    public static let scale: Int = Int(ProcessInfo.processInfo.environment["TOFU_TEST_TIME_SCALE"] ?? "").map { max(1, $0) } ?? 1

    /// `duration`, stretched for a sanitized run.
    public static func bound(_ duration: Duration) -> Duration { duration * scale }

    /// Whether peak-memory bounds mean anything in this run: AddressSanitizer's shadow memory
    /// and quarantine (`make sanitize-address` sets ASAN_OPTIONS) grow with every allocation,
    /// so under it memory bounds are reported, not checked.
    public static let memoryBoundsHold = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil
}
