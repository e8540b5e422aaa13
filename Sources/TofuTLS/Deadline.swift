#if canImport(Glibc)
    import Glibc
#endif

/// A point on the monotonic clock by which a blocking step must be done.
struct Deadline: Sendable {
    private let nanoseconds: UInt64

    init(milliseconds: Int) {
        nanoseconds = Deadline.now() + UInt64(max(0, milliseconds)) * 1_000_000
    }

    /// Milliseconds left, 0 once passed.
    var remainingMilliseconds: Int {
        let now = Deadline.now()
        return now >= nanoseconds ? 0 : Int((nanoseconds - now) / 1_000_000)
    }

    var hasPassed: Bool { Deadline.now() >= nanoseconds }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
