import Foundation
import NIOCore
import NIOPosix
import StormMetrics
import ZooKeeperClient

/// Notices the limits that cap a run without saying so: connections refused or reset at accept
/// (ZooKeeper's `maxClientCnxns` per client address), requests the server reports it throttled
/// (`mntr`), and a latency plateau — open-loop stages whose achieved rate stops following the offered
/// rate while latency climbs. Each becomes a ``ThrottleFinding`` naming the limit it suspects.
enum ThrottleDetector {
    /// `mntr` counters of ZooKeeper 3.8 (and zkstorm's server) that count refusals and throttling.
    static let rejectedKey = "zk_connection_rejected"
    static let throttledOpsKey = "zk_throttled_ops"
    static let throttleWaitKey = "zk_request_throttle_wait_count"

    /// How much a counter grew between two scrapes, summed over the servers seen in both.
    static func growth(_ key: String, before: [ServerStats], after: [ServerStats]) -> Double? {
        var total: Double?
        for stats in after {
            guard let end = stats.values[key],
                let start = before.first(where: { $0.host == stats.host })?.values[key]
            else { continue }
            total = (total ?? 0) + max(end - start, 0)
        }
        return total
    }

    /// Findings from the server's own counters, scraped at the start and end of measurement.
    /// `peakConnected`: the most sessions this run held at once (what the server admitted).
    static func serverFindings(before: [ServerStats], after: [ServerStats], peakConnected: Int) -> [ThrottleFinding] {
        var findings: [ThrottleFinding] = []
        if let rejected = growth(rejectedKey, before: before, after: after), rejected > 0 {
            findings.append(
                ThrottleFinding(
                    kind: .acceptRefused,
                    evidence:
                        "the server rejected \(Int(rejected)) connections at accept (\(rejectedKey)) while this run held up to \(peakConnected) sessions",
                    suspect:
                        "maxClientCnxns (connections per client address) ≈ \(peakConnected), or the server's session limit; raise it in zoo.cfg or spread sessions over addresses",
                    limit: Double(peakConnected)
                )
            )
        }
        if let throttled = growth(throttledOpsKey, before: before, after: after), throttled > 0 {
            findings.append(
                ThrottleFinding(
                    kind: .serverThrottled,
                    evidence:
                        "the server throttled \(Int(throttled)) requests (\(throttledOpsKey), answered THROTTLEDOP)",
                    suspect: "zookeeper.throttled_op_wait_time (request throttling by wait time)"
                )
            )
        }
        // ZooKeeper 3.8 also times the throttler's queue (since the server started).
        let queueP99 = after.compactMap { $0.values["zk_p99_request_throttle_queue_time_ms"] }.max()
        if let waits = growth(throttleWaitKey, before: before, after: after), waits > 0 {
            findings.append(
                ThrottleFinding(
                    kind: .serverThrottled,
                    evidence:
                        "requests waited \(Int(waits)) times in the server's request throttler (\(throttleWaitKey))"
                        + (queueP99.map { ", throttler queue time p99 \(Int($0)) ms" } ?? ""),
                    suspect:
                        "zookeeper.request_throttle_max_requests (ZooKeeper's RequestThrottler), or zkstorm serve --max-request-rate; the latency above it is queueing in the server"
                )
            )
        }
        return findings
    }

    /// One open-loop stage as measured: the rate it asked for, what it got, its p99.
    struct StageLoad: Equatable {
        var startS: Double
        var offered: Double
        var achieved: Double
        var p99Us: UInt64
    }

    /// Per stage with a `rate`: the achieved rate and the median interval p99 over its full intervals
    /// (the first second of each stage is left out, while the rate changes).
    static func stageLoads(
        stages: [(startS: Double, rate: Double?)],
        timeline: [RunResult.TimelinePoint]
    )
        -> [StageLoad]
    {
        var loads: [StageLoad] = []
        for (index, stage) in stages.enumerated() {
            guard let rate = stage.rate else { continue }
            let end = index + 1 < stages.count ? stages[index + 1].startS : .infinity
            let points = timeline.filter { point in
                let start = point.t - (point.intervalS ?? 1)
                return !point.isPartial && start >= stage.startS + 0.999 && point.t <= end + 0.001
            }
            guard !points.isEmpty else { continue }
            let achieved = points.reduce(0) { $0 + $1.rate } / Double(points.count)
            let p99s = points.map(\.p99Us).sorted()
            loads.append(
                StageLoad(startS: stage.startS, offered: rate, achieved: achieved, p99Us: p99s[p99s.count / 2])
            )
        }
        return loads
    }

    /// The first stage that fell short of its offered rate by more than a tenth while its p99 rose by
    /// half or more over the last stage that kept up (with a lower offered rate): throughput stopped
    /// following the load and the rest is queueing. The limit is the best rate achieved from there on.
    static func plateau(_ loads: [StageLoad], generatorBound: Bool) -> ThrottleFinding? {
        var keptUp: StageLoad?
        for (index, stage) in loads.enumerated() {
            guard stage.achieved < stage.offered * 0.9 else {
                keptUp = stage
                continue
            }
            guard let baseline = keptUp, stage.offered > baseline.offered,
                Double(stage.p99Us) >= Double(max(baseline.p99Us, 1)) * 1.5
            else { continue }
            let limit = loads[index...].map(\.achieved).max() ?? stage.achieved
            var suspect =
                "a limit near \(ReportFormat.rate(limit)) ops/s: the server's capacity, a request throttler (zookeeper.request_throttle_max_requests) or globalOutstandingLimit"
            if generatorBound { suspect += "; the generator was bound too, so the limit may be zkstorm's own" }
            let last = loads[loads.count - 1]
            return ThrottleFinding(
                kind: .latencyPlateau,
                evidence: String(
                    format:
                        "from the stage at %.0fs the offered rate rose from %@ to %@ ops/s but the achieved rate stayed at about %@ ops/s while p99 rose from %@ to %@",
                    stage.startS,
                    ReportFormat.rate(baseline.offered),
                    ReportFormat.rate(last.offered),
                    ReportFormat.rate(limit),
                    ReportFormat.latency(baseline.p99Us),
                    ReportFormat.latency(loads[index...].map(\.p99Us).max() ?? stage.p99Us)
                ),
                suspect: suspect,
                limit: limit
            )
        }
        return nil
    }

    // MARK: - Refused at accept, before the run could start

    /// A run whose sessions could not all connect: when the target's server closes connections from
    /// this address as soon as it accepts them, probes how many it admits at once (holding plain TCP
    /// connections, at most `upTo`) and says so; otherwise the error is returned as it was.
    static func diagnose(_ error: any Error, connectString: String, upTo: Int) async -> any Error {
        guard let runError = error as? RunError, runError.kind == .unavailable,
            let host = (try? ConnectString(parsing: connectString))?.hosts.first,
            let admitted = await admittedConnections(host: host.host, port: host.port, upTo: max(upTo, 1))
        else { return error }
        return RunError(
            .unavailable,
            "cannot open the run's sessions on \(host.host):\(host.port): the server closes connections from this address at accept: it admitted \(admitted) at once from here and reset or closed the next as soon as it was accepted, so it limits connections per client address (suspected: ZooKeeper's maxClientCnxns ≈ \(admitted)). Raise maxClientCnxns in zoo.cfg (0: no limit) or run fewer sessions (sessions + watchers + 2) from one address. The session that failed saw: \(runError.message)"
        )
    }

    /// Opens up to `upTo + 1` TCP connections to host:port one at a time, holds them 500 ms, and counts
    /// the ones the server kept; nil when it kept them all (no per-address limit within reach) or none
    /// could open. A connect that fails after others succeeded counts as a refusal (a reset at accept).
    static func admittedConnections(host: String, port: Int, upTo: Int) async -> Int? {
        let group = MultiThreadedEventLoopGroup.singleton
        // The run's own connections were just closed: give the server a moment to let go of them.
        try? await Task.sleep(for: .milliseconds(300))
        var channels: [any Channel] = []
        // A connection reset as soon as it is accepted may fail the connect itself.
        var connectFailed = false
        for _ in 0...min(upTo, 2000) {
            let bootstrap = ClientBootstrap(group: group).connectTimeout(.seconds(2))
            guard let channel = try? await bootstrap.connect(host: host, port: port).get() else {
                connectFailed = true
                break
            }
            channels.append(channel)
            // The server closes a refused connection at once; stop opening more after the first. One at a
            // time, each given a moment: ZooKeeper counts a connection only once a selector thread has
            // registered it, so a burst is admitted past its own limit.
            try? await Task.sleep(for: .milliseconds(25))
            if !channel.isActive { break }
        }
        try? await Task.sleep(for: .milliseconds(500))
        let kept = channels.filter(\.isActive).count
        for channel in channels { try? await channel.close() }
        guard !channels.isEmpty, kept < channels.count || connectFailed else { return nil }
        return kept
    }
}

extension ThrottleDetector {
    /// Every finding for a finished run: the server's counters between `before` and `after`, and a
    /// plateau over the workload's open-loop stages; nil when nothing points at a limit.
    static func findings(
        result: RunResult,
        stages: [Stage],
        before: [ServerStats],
        after: [ServerStats]
    ) -> [ThrottleFinding]? {
        var findings = serverFindings(before: before, after: after, peakConnected: result.sessions.connected)
        let marks = result.stages ?? []
        if marks.count == stages.count {
            let loads = stageLoads(
                stages: zip(marks, stages).map { (startS: $0.startS, rate: $1.rate) },
                timeline: result.timeline
            )
            // Generator-bound only counts where the shortfall was measured (a slow start does not).
            let spans = result.generator?.spans ?? []
            let bound = spans.contains { span in
                loads.contains { $0.achieved < $0.offered * 0.9 && span.toSeconds > $0.startS + 1 }
            }
            if let plateau = plateau(loads, generatorBound: bound) { findings.append(plateau) }
        }
        return findings.isEmpty ? nil : findings
    }
}
