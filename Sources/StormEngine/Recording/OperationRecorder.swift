import Atomics
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperProtocol

/// A recorder shared by the sessions of one group on one event loop (or one task's). Recording takes a
/// lock that is mostly uncontended and allocates nothing
/// once a key has been seen; the interval collector drains it once a second.
package final class OperationRecorder: Sendable {
    private let interval = NIOLockedValueBox(RecordedInterval())
    /// When (RunClock ns) the last failed request was recorded (0: none): how long after a fault
    /// requests still failed.
    @usableFromInline let lastFailureAt = ManagedAtomic<UInt64>(0)

    package init() {}

    @inlinable
    package func record(_ operation: RecordedOperation, code: ErrorCode, nanoseconds: UInt64) {
        if code != .ok { lastFailureAt.store(RunClock.now(), ordering: .relaxed) }
        recordLocked { RecordedInterval.record(nanoseconds, in: &$0.requests, at: RecordKey(operation, code)) }
    }

    /// Open loop: latency from the intended start and service time from the send, in one lock.
    @inlinable
    package func recordOpenLoop(
        _ operation: RecordedOperation,
        code: ErrorCode,
        intendedNanoseconds: UInt64,
        serviceNanoseconds: UInt64
    ) {
        if code != .ok { lastFailureAt.store(RunClock.now(), ordering: .relaxed) }
        recordLocked {
            RecordedInterval.record(intendedNanoseconds, in: &$0.requests, at: RecordKey(operation, code))
            RecordedInterval.record(serviceNanoseconds, in: &$0.serviceTime, at: operation)
        }
    }

    package func recordLateStart() {
        recordLocked { $0.lateStarts += 1 }
    }

    package func recordWatchEvent(_ kind: WatchKind, lagNanoseconds: UInt64?) {
        recordLocked {
            $0.watchEvents[kind, default: 0] += 1
            if let lag = lagNanoseconds { RecordedInterval.record(lag, in: &$0.watchLag, at: kind) }
        }
    }

    package func recordRearm(nanoseconds: UInt64, versionsMissed: UInt64) {
        recordLocked {
            $0.watchRearm.record(nanoseconds: nanoseconds)
            $0.versionsMissed += versionsMissed
        }
    }

    package func recordRound(_ summary: StormRoundSummary) {
        recordLocked {
            if let last = summary.lastNanoseconds { $0.watchFanout.record(nanoseconds: last) }
            $0.watchMissed += UInt64(summary.missing)
            $0.watchDuplicates += UInt64(summary.duplicates)
            $0.stormRounds.append(summary)
        }
    }

    @usableFromInline
    func recordLocked(_ body: (inout RecordedInterval) -> Void) {
        interval.withLockedValue { body(&$0) }
    }

    /// Drops what was recorded (warm-up) in O(1) under the lock (the old storage is freed outside it),
    /// so the measurement starts at the same instant for every session. The next recordings allocate
    /// their histograms once.
    package func discard() {
        let old = interval.withLockedValue { current -> RecordedInterval in
            defer { current = RecordedInterval() }
            return current
        }
        _ = old
    }

    /// Adds what was recorded since the last drain to `target` and starts a new interval.
    package func drain(into target: inout RecordedInterval) {
        interval.withLockedValue { current in
            target.merge(current)
            current.resetKeepingStorage()
        }
    }
}
