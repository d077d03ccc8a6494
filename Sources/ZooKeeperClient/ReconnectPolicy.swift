/// How long a client waits before each connection attempt after it lost the connection to a live
/// session.
///
/// The delay is computed per attempt since the loss: attempt 0 is the first try after the loss. When
/// thousands of clients lose their server at once (a leader election, a restarted server), an
/// ``immediate`` policy makes them all reconnect, re-read and re-watch in the same instant; the
/// back-off policies spread them out. Full jitter (``exponentialBackoffWithJitter(base:max:)``) is
/// the AWS recommendation: it spreads a herd most evenly for the least added wait.
///
/// Whatever the policy, a delay never takes more than half of what is left of the session timeout, so
/// a back-off cannot by itself let the session expire. See <doc:ReconnectPolicies>.
public enum ReconnectPolicy: Sendable, Hashable {
    /// Try the next host at once; after every host failed in a row, pause 100 ms between attempts
    /// (so a client with no server to reach does not spin). The default, and the Java client's manner.
    case immediate
    /// Wait `base × 2^attempt`, capped at `max`, before each attempt (the first after the loss included).
    case exponentialBackoff(base: Duration, max: Duration)
    /// Wait a uniformly random time in `0...min(max, base × 2^attempt)` before each attempt ("full
    /// jitter").
    case exponentialBackoffWithJitter(base: Duration, max: Duration)

    /// The pause of ``immediate`` once every host failed in a row.
    static let immediateRetryPauseNanos: Int64 = 100_000_000

    /// The delay before attempt `attempt` (0-based, counted since the connection loss) in nanoseconds.
    ///
    /// - Parameters:
    ///   - attempt: Attempts made since the loss before this one.
    ///   - hostCount: Hosts in the connect string (``immediate`` pauses once every one failed).
    ///   - generator: The random source of the jitter.
    /// - Returns: Nanoseconds to wait, never negative.
    public func delayNanos(
        attempt: Int,
        hostCount: Int,
        using generator: inout some RandomNumberGenerator
    ) -> Int64 {
        switch self {
        case .immediate:
            return attempt >= max(hostCount, 1) ? Self.immediateRetryPauseNanos : 0
        case .exponentialBackoff(let base, let cap):
            return Self.capped(base: base, max: cap, attempt: attempt)
        case .exponentialBackoffWithJitter(let base, let cap):
            let ceiling = Self.capped(base: base, max: cap, attempt: attempt)
            guard ceiling > 0 else { return 0 }
            return Int64.random(in: 0...ceiling, using: &generator)
        }
    }

    /// `min(max, base × 2^attempt)` in nanoseconds, without overflow; negative inputs count as zero.
    static func capped(base: Duration, max cap: Duration, attempt: Int) -> Int64 {
        let baseNanos = Swift.max(base.nanoseconds, 0)
        let capNanos = Swift.max(cap.nanoseconds, 0)
        guard baseNanos > 0 else { return 0 }
        let shift = Swift.max(attempt, 0)
        // Past 62 doublings any positive base overflows Int64; the cap applies.
        guard shift < 63 else { return capNanos }
        let (scaled, overflow) = baseNanos.multipliedReportingOverflow(by: Int64(1) << shift)
        if overflow { return capNanos }
        return Swift.min(scaled, capNanos)
    }
}
