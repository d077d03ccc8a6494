import StormMetrics

/// Turns what a run has measured so far into the metrics side's `MetricsSnapshot` (cumulative values).
package enum MetricsSnapshotBuilder {
    package static func make(
        runId: String,
        instance: String,
        workload: String,
        target: String,
        cumulative: RecordedInterval,
        status: StormRun.IntervalStatus
    ) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot(runId: runId, instance: instance, workload: workload, target: target)
        for (key, histogram) in cumulative.requests {
            snapshot.requests[MetricsSnapshot.RequestKey(op: key.operation.name, result: key.resultName)] = histogram
        }
        for (kind, histogram) in cumulative.watchLag { snapshot.watchLag[kind.rawValue] = histogram }
        snapshot.watchFanout = cumulative.watchFanout
        for (kind, count) in cumulative.watchEvents { snapshot.watchEvents[kind.rawValue] = count }
        snapshot.watchMissed = cumulative.watchMissed
        snapshot.sessions = status.connected
        snapshot.reconnects = status.reconnects
        snapshot.sessionExpirations = status.expirations
        snapshot.outstandingRequests = status.outstandingRequests
        snapshot.servers = status.servers
        snapshot.thresholds = status.thresholds.map {
            MetricsSnapshot.ThresholdGauge(threshold: $0.threshold, passed: $0.passed, observed: $0.observed)
        }
        snapshot.groupRates = status.groupRates.map {
            MetricsSnapshot.GroupRateGauge(group: $0.group, target: $0.target, achieved: $0.achieved)
        }
        snapshot.generator = status.generator
        snapshot.connectPhases = status.connectPhases
        return snapshot
    }
}
