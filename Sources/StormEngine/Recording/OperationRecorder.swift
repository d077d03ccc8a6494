import Atomics
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperProtocol

/// The operations whose latency a run records. `connect`/`close` come from session churn.
public enum RecordedOperation: UInt8, Sendable, CaseIterable, Comparable {
    case get, exists, children, set, create, delete, multi, sync, connect, close

    public var name: String {
        switch self {
        case .get: "get"
        case .exists: "exists"
        case .children: "children"
        case .set: "set"
        case .create: "create"
        case .delete: "delete"
        case .multi: "multi"
        case .sync: "sync"
        case .connect: "connect"
        case .close: "close"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One histogram per (operation, result); `code` is `ErrorCode.ok` for success.
public struct RecordKey: Hashable, Sendable, Comparable {
    public var operation: RecordedOperation
    public var code: ErrorCode

    public init(_ operation: RecordedOperation, _ code: ErrorCode = .ok) {
        self.operation = operation
        self.code = code
    }

    /// "ok" or ZooKeeper's error name ("NONODE"), as Prometheus labels and the JSON use it.
    public var resultName: String { code == .ok ? "ok" : code.name }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.operation, -lhs.code.rawValue) < (rhs.operation, -rhs.code.rawValue)
    }
}

/// Everything recorded during one interval (or, merged, a whole run).
public struct RecordedInterval: Sendable {
    /// Latency per (op, result): from the intended start for open loops, from the send for closed loops.
    public var requests: [RecordKey: LatencyHistogram] = [:]
    /// Open loop only: from the actual send to the reply (service time).
    public var serviceTime: [RecordedOperation: LatencyHistogram] = [:]
    /// Write-to-notification lag per watch kind.
    public var watchLag: [WatchKind: LatencyHistogram] = [:]
    /// Per storm round: the last watcher's lag.
    public var watchFanout = LatencyHistogram()
    /// One-shot watches: from the event to the re-arming reply.
    public var watchRearm = LatencyHistogram()
    public var watchEvents: [WatchKind: UInt64] = [:]
    public var watchMissed: UInt64 = 0
    public var watchDuplicates: UInt64 = 0
    public var versionsMissed: UInt64 = 0
    public var stormRounds: [StormRoundSummary] = []
    public var lateStarts: UInt64 = 0

    public init() {}

    public var isEmpty: Bool {
        requests.isEmpty && serviceTime.isEmpty && watchLag.isEmpty && watchFanout.isEmpty && watchRearm.isEmpty
            && watchEvents.isEmpty && watchMissed == 0 && watchDuplicates == 0 && stormRounds.isEmpty && lateStarts == 0
    }

    public var requestCount: UInt64 { requests.values.reduce(0) { $0 + $1.count } }
    public var errorCount: UInt64 { requests.reduce(0) { $0 + ($1.key.code == .ok ? 0 : $1.value.count) } }

    /// Records into the histogram for `key`, creating it the first time. Updating through the
    /// dictionary's values in place keeps steady-state recording free of allocations (the
    /// `subscript(_:default:)` form copies the histogram's buckets in unoptimised builds).
    @inlinable
    static func record<Key: Hashable>(_ nanoseconds: UInt64, in histograms: inout [Key: LatencyHistogram], at key: Key)
    {
        if let index = histograms.index(forKey: key) {
            histograms.values[index].record(nanoseconds: nanoseconds)
        } else {
            var histogram = LatencyHistogram()
            histogram.record(nanoseconds: nanoseconds)
            histograms[key] = histogram
        }
    }

    public mutating func merge(_ other: RecordedInterval) {
        // Drained recorders keep empty histograms for their storage; they add nothing to a merge.
        for (key, histogram) in other.requests where !histogram.isEmpty {
            requests[key, default: LatencyHistogram()].merge(histogram)
        }
        for (key, histogram) in other.serviceTime where !histogram.isEmpty {
            serviceTime[key, default: LatencyHistogram()].merge(histogram)
        }
        for (key, histogram) in other.watchLag where !histogram.isEmpty {
            watchLag[key, default: LatencyHistogram()].merge(histogram)
        }
        watchFanout.merge(other.watchFanout)
        watchRearm.merge(other.watchRearm)
        for (key, count) in other.watchEvents where count > 0 { watchEvents[key, default: 0] += count }
        watchMissed += other.watchMissed
        watchDuplicates += other.watchDuplicates
        versionsMissed += other.versionsMissed
        stormRounds += other.stormRounds
        lateStarts += other.lateStarts
    }

    /// Empties the histograms but keeps their storage, so the next interval records without allocating.
    public mutating func resetKeepingStorage() {
        for key in requests.keys { requests[key]!.reset() }
        for key in serviceTime.keys { serviceTime[key]!.reset() }
        for key in watchLag.keys { watchLag[key]!.reset() }
        watchFanout.reset()
        watchRearm.reset()
        for key in watchEvents.keys { watchEvents[key] = 0 }
        watchMissed = 0
        watchDuplicates = 0
        versionsMissed = 0
        stormRounds.removeAll(keepingCapacity: true)
        lateStarts = 0
    }

    /// Latency of every result of `operation` merged (what the per-op report line shows).
    public func latency(of operation: RecordedOperation) -> LatencyHistogram {
        var merged = LatencyHistogram()
        for (key, histogram) in requests where key.operation == operation { merged.merge(histogram) }
        return merged
    }

    public var operations: [RecordedOperation] { Set(requests.keys.map(\.operation)).sorted() }

    public var allWatchLag: LatencyHistogram {
        var merged = LatencyHistogram()
        for histogram in watchLag.values { merged.merge(histogram) }
        return merged
    }
}

/// A recorder shared by the sessions of one group on one event loop (or one task's). Recording takes a
/// lock that is mostly uncontended and allocates nothing
/// once a key has been seen; the interval collector drains it once a second.
public final class OperationRecorder: Sendable {
    private let interval = NIOLockedValueBox(RecordedInterval())
    /// When (RunClock ns) the last failed request was recorded (0: none): how long after a fault
    /// requests still failed.
    @usableFromInline let lastFailureAt = ManagedAtomic<UInt64>(0)

    public init() {}

    @inlinable
    public func record(_ operation: RecordedOperation, code: ErrorCode, nanoseconds: UInt64) {
        if code != .ok { lastFailureAt.store(RunClock.now(), ordering: .relaxed) }
        recordLocked { RecordedInterval.record(nanoseconds, in: &$0.requests, at: RecordKey(operation, code)) }
    }

    /// Open loop: latency from the intended start and service time from the send, in one lock.
    @inlinable
    public func recordOpenLoop(
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

    public func recordLateStart() {
        recordLocked { $0.lateStarts += 1 }
    }

    public func recordWatchEvent(_ kind: WatchKind, lagNanoseconds: UInt64?) {
        recordLocked {
            $0.watchEvents[kind, default: 0] += 1
            if let lag = lagNanoseconds { RecordedInterval.record(lag, in: &$0.watchLag, at: kind) }
        }
    }

    public func recordRearm(nanoseconds: UInt64, versionsMissed: UInt64) {
        recordLocked {
            $0.watchRearm.record(nanoseconds: nanoseconds)
            $0.versionsMissed += versionsMissed
        }
    }

    public func recordRound(_ summary: StormRoundSummary) {
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
    public func discard() {
        let old = interval.withLockedValue { current -> RecordedInterval in
            defer { current = RecordedInterval() }
            return current
        }
        _ = old
    }

    /// Adds what was recorded since the last drain to `target` and starts a new interval.
    public func drain(into target: inout RecordedInterval) {
        interval.withLockedValue { current in
            target.merge(current)
            current.resetKeepingStorage()
        }
    }
}
