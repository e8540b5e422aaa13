/// Returns once `condition` holds, or after `bound` (stretched by `TestTime`) has passed: the
/// caller then checks the condition itself, so a timeout fails the test where it says why.
public func eventually(within bound: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + TestTime.bound(bound)
    while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
}

/// Waits until `value` has not changed for `quiet` (a process that stopped using CPU or
/// memory: blocked, or done); false if it still changed at `timeout`.
public func settles<Value: Equatable>(quiet: Duration, timeout: Duration, _ value: () -> Value) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    var last = value()
    var since = ContinuousClock.now
    while ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
        let now = value()
        if now != last {
            last = now
            since = ContinuousClock.now
        } else if ContinuousClock.now - since >= quiet {
            return true
        }
    }
    return false
}
