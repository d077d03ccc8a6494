import NIOCore

/// The clock every latency in a run is measured on: CLOCK_MONOTONIC ns, the same clock the client
/// stamps sends, replies and watch events with.
public enum RunClock {
    @inlinable
    public static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}
