import StormMetrics
import ZooKeeperProtocol

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
