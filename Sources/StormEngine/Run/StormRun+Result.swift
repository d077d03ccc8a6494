import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Steps 5 and 6 of a run: the result, and the session figures of each interval.
extension StormRun {
    /// Step 5: the result (failover, watch ledger, generator, connect phases, security, group rates,
    /// stages, thresholds, target lost), then the last interval with the verdicts (also pushed).
    func finish(
        measured: Measured,
        load: GroupLoad,
        ledger: WatchLedger.Summary?,
        collector: IntervalCollector,
        counters: SessionCounters,
        targetLabel: String,
        startedAt: Date,
        layout: RunLayout
    ) -> Outcome {
        let tick = collector.collect(now: RunClock.now())
        let monitor = measured.monitor
        let lastGenerator = monitor?.sample(now: RunClock.now())
        monitor?.stop()
        let reconnects = counters.failover.reconnects
        if let tick { counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative) }
        var result = RunResult(
            runId: runId,
            workload: workload.name,
            target: targetLabel,
            startedAt: startedAt,
            durationSeconds: measured.seconds,
            seed: workload.seed,
            recorded: collector.cumulative,
            sessions: RunResult.SessionSummary(
                connected: counters.peakConnected,
                reconnects: reconnects,
                expired: counters.expirations
            ),
            timeline: collector.timeline
        )
        result.failover = counters.failover.summary(watch: ledger, restores: counters.watchRestores.figures)
        result.generator = monitor?.summary()
        if let spec = workload.watches, spec.kind.isOneShot { result.rearm = spec.storm.rearm.rawValue }
        result.reconnect = WorkloadYAML.reconnectText(workload.reconnect)
        result.histograms.merge(counters.failover.histograms) { current, _ in current }
        result.addConnectPhases(connectPhases.snapshot)
        if !security.isEmpty { result.security = security.summary }
        result.zkstormVersion = PrometheusExposition.zkstormVersion
        result.interrupted = measured.interrupted ? true : nil
        // A shard's result shows the whole run's workload (a merge shows what ran); `shard` says which slice.
        result.effectiveWorkload = WorkloadYAML.render(shard?.fullWorkload ?? workload)
        result.shard = shard?.identity(
            startUnixNanoseconds: measured.startUnixNanoseconds ?? Int64(startedAt.timeIntervalSince1970 * 1e9)
        )
        if let lostAt = measured.lostAt { result.targetLost = RunResult.TargetLost(atSeconds: lostAt) }
        if let fired = faultInjector.withLockedValue({ $0?.fired }), !fired.isEmpty {
            result.faults = fired.map(\.mark)
            result.attributeFaultCosts(windows: fired.map(\.window), measureStart: measured.start)
        }
        if let reconnectHerd = herd.withLockedValue({ $0?.herd }) {
            result.herd = reconnectHerd.summary(faultAt: result.faults?.first?.atS, durationSeconds: measured.seconds)
        }
        let rates = groupRates(load: load, collector: collector, seconds: measured.seconds)
        if !rates.isEmpty { result.groupRates = rates }
        let stagePlan = load.stagePlan
        if !stagePlan.steps.isEmpty {
            result.stages = stagePlan.steps.map { step in
                var parts: [String] = []
                if let rate = step.stage.rate { parts.append("\(ReportFormat.rate(rate)) ops/s") }
                if let sessions = step.stage.sessions { parts.append("\(sessions) sessions") }
                if let watchers = step.stage.watchers { parts.append("\(watchers) watchers") }
                return RunResult.StageMark(
                    startS: Double(step.start) / 1e9,
                    label: parts.isEmpty ? "stage" : parts.joined(separator: ", ")
                )
            }
        }
        if !workload.thresholds.isEmpty {
            var verdicts = workload.thresholds.evaluate(result)
            if let aborted = abortedBy.withLockedValue({ $0 }) {
                for index in verdicts.indices where verdicts[index].threshold == aborted {
                    verdicts[index].aborted = true
                    verdicts[index].passed = false
                }
            }
            result.thresholds = verdicts
        }
        if let tick {
            var last = status(counters: counters, outstandingRequests: 0)
            last.thresholds = result.thresholds ?? []
            last.groupRates = rates
            last.generator = lastGenerator
            onTick?(tick, last)
        }
        return Outcome(
            result: result,
            interrupted: measured.interrupted,
            root: layout.root,
            targetLostAt: measured.lostAt
        )
    }

    /// Target versus achieved rate per operation group; with staged rates the target is the mean rate
    /// the stages asked of the group.
    func groupRates(load: GroupLoad, collector: IntervalCollector, seconds: Double) -> [RunResult.GroupRate] {
        let stagePlan = load.stagePlan
        let openBaseRate = load.openBaseRate
        let groupCumulative = collector.groupCumulative
        return workload.groups.enumerated().map { index, group in
            var rate = RunResult.GroupRate(
                group: group,
                recorded: groupCumulative[index] ?? RecordedInterval(),
                durationSeconds: seconds
            )
            if let target = rate.target, stagePlan.steps.contains(where: { $0.stage.rate != nil }),
                stagePlan.totalDuration > .zero, openBaseRate > 0
            {
                let asked = stagePlan.steps.reduce(0.0) { total, step in
                    total + step.stage.duration.seconds * (step.stage.rate ?? openBaseRate) * target / openBaseRate
                }
                rate.target = asked / stagePlan.totalDuration.seconds
            }
            return rate
        }
    }

    /// Step 6 (each interval and the last): session figures now, with the latest server statistics, for
    /// the live line and the metrics push.
    func status(counters: SessionCounters, outstandingRequests: Int) -> IntervalStatus {
        IntervalStatus(
            connected: counters.connectedNow,
            reconnects: counters.failover.reconnects,
            expirations: counters.expirations,
            outstandingRequests: outstandingRequests,
            servers: servers.withLockedValue { $0 },
            connectPhases: connectPhases.snapshot
        )
    }

    /// The first `abort_on_fail` threshold that fails on what was measured so far. Rates and counts
    /// only grow during a run, so they are judged at the end only.
    func failedAbortThreshold(_ thresholds: [Threshold], tick: IntervalCollector.Tick, startedAt: Date) -> String? {
        let judgeable = thresholds.filter { threshold in
            switch threshold.expression.metric {
            case .rate, .count: false
            default: true
            }
        }
        guard !judgeable.isEmpty else { return nil }
        let partial = RunResult(
            runId: runId,
            workload: workload.name,
            target: "",
            startedAt: startedAt,
            durationSeconds: tick.elapsedSeconds,
            seed: workload.seed,
            recorded: tick.cumulative,
            sessions: RunResult.SessionSummary(connected: 0, reconnects: 0, expired: 0),
            timeline: []
        )
        // No data yet is not a failure during the run: the first requests may still be in flight.
        return judgeable.evaluate(partial).first { !$0.passed && $0.observed != nil }?.threshold
    }
}
