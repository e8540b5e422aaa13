/// Returns once `condition` holds, or after `bound` (stretched by `TestTime`) has passed: the
/// caller then checks the condition itself, so a timeout fails the test where it says why.
public func eventually(within bound: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + TestTime.bound(bound)
    while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
}
