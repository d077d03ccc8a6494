import Foundation
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperProtocol

/// The outcome of a replay: what was replayed, skipped and failed, latency per op from the intended
/// time, and how well the schedule was kept.
public struct ReplayResult: Sendable, Codable {
    public struct Percentiles: Sendable, Codable, Equatable {
        public var count: UInt64
        /// Microseconds.
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
        public var max: UInt64

        public init(_ h: LatencyHistogram) {
            count = h.count
            p50 = h.value(atPercentile: 50)
            p90 = h.value(atPercentile: 90)
            p99 = h.value(atPercentile: 99)
            p999 = h.value(atPercentile: 99.9)
            max = h.max
        }
    }

    public var runId: String
    public var root: String
    public var target = ""
    /// TLS / SASL / digest in use ("TLS (CA …), SASL as …"); nil when plaintext.
    public var security: String?
    public var kept: Bool
    public var startedAt: String
    /// "speed 20x" or "rate 500/s".
    public var pacing: String
    public var firstZxid: Int64?
    public var lastZxid: Int64?
    public var sessions: Int
    /// Logged leader time covered, and the replay's own wall time.
    public var loggedSeconds: Double
    public var replaySeconds: Double
    /// Steps (writes, session opens and closes) sent, and writes among them.
    public var steps: Int
    public var writes: Int
    /// Writes the target accepted.
    public var replayed: UInt64
    /// Writes the target refused, by "op code" (e.g. "create nodeExists").
    public var errors: [String: UInt64]
    /// Logged txns not replayed, by reason.
    public var skipped: [String: Int]
    public var lateStarts: Int
    /// Send time minus intended time of every step.
    public var scheduleLag: Percentiles
    /// Per op: latency from the intended time (open loop).
    public var latency: [String: Percentiles]
    /// Per op: from the send to the reply.
    public var serviceTime: [String: Percentiles]
    /// Notifications the watcher sessions received, and their lag from the write's send.
    public var watchEvents: UInt64
    public var watchLag: Percentiles
    public var notes: [String] = []
    /// The lossless histograms, `hdr1:` text, keyed like `latency` plus "scheduleLag".
    public var histograms: [String: String]

    init(
        plan: ReplayPlan,
        interval: RecordedInterval,
        state: ReplayState,
        runId: String,
        kept: Bool,
        startedAt: Date,
        stepsDone: Int,
        seconds: Double,
        pacing: ReplayPlan.Pacing
    ) {
        self.runId = runId
        root = plan.root
        self.kept = kept
        self.startedAt = ISO8601DateFormatter().string(from: startedAt)
        switch pacing {
        case .speed(let s): self.pacing = "speed \(s)x"
        case .rate(let r): self.pacing = "rate \(r)/s"
        }
        firstZxid = plan.firstZxid
        lastZxid = plan.lastZxid
        sessions = plan.clientIds.count
        loggedSeconds = Double(plan.loggedMilliseconds) / 1000
        replaySeconds = seconds
        steps = stepsDone
        writes = plan.writeSteps
        var errors: [String: UInt64] = [:]
        var replayed: UInt64 = 0
        for (key, histogram) in interval.requests {
            if key.operation == .connect || key.operation == .close { continue }
            if key.code == .ok {
                replayed += histogram.count
            } else {
                errors["\(key.operation.name) \(key.code.name)", default: 0] += histogram.count
            }
        }
        self.replayed = replayed
        self.errors = errors
        let locked = state.locked.withLockedValue { $0 }
        var skipped = plan.skipped
        for (reason, count) in locked.skipped { skipped[reason, default: 0] += count }
        self.skipped = skipped
        lateStarts = locked.lateStarts
        scheduleLag = Percentiles(locked.lag)
        var latency: [String: Percentiles] = [:]
        var histograms: [String: String] = ["scheduleLag": locked.lag.encoded()]
        for op in interval.operations {
            let h = interval.latency(of: op)
            latency[op.name] = Percentiles(h)
            histograms[op.name] = h.encoded()
        }
        self.latency = latency
        watchEvents = interval.watchEvents.values.reduce(0, +)
        watchLag = Percentiles(interval.allWatchLag)
        if watchEvents > 0 { histograms["watchLag"] = interval.allWatchLag.encoded() }
        serviceTime = interval.serviceTime.reduce(into: [:]) { $0[$1.key.name] = Percentiles($1.value) }
        self.histograms = histograms
    }

    public var text: String {
        var out = "zkstorm replay \(runId): \(pacing) against \(target)\n"
        if let security { out += "  security: \(security)\n" }
        out += "  root \(root)\(kept ? " (kept)" : " (removed)")"
        if let a = firstZxid, let b = lastZxid { out += ", zxid 0x\(String(a, radix: 16))..0x\(String(b, radix: 16))" }
        out += String(format: ", %.1f s logged in %.2f s\n", loggedSeconds, replaySeconds)
        out += "  \(sessions) sessions, \(writes) writes: \(replayed) replayed, "
        out += "\(errors.values.reduce(0, +)) refused, \(skipped.values.reduce(0, +)) skipped\n"
        for (what, count) in errors.sorted(by: { $0.key < $1.key }) { out += "    refused \(what): \(count)\n" }
        for (why, count) in skipped.sorted(by: { $0.key < $1.key }) { out += "    skipped \(why): \(count)\n" }
        out += "\nSchedule: \(steps) steps, \(lateStarts) late (> 1 ms); lag "
        out +=
            "p50 \(ms(scheduleLag.p50)) p99 \(ms(scheduleLag.p99)) p99.9 \(ms(scheduleLag.p999)) max \(ms(scheduleLag.max))\n"
        if watchEvents > 0 {
            out += "Watch events: \(watchEvents); lag from the write's send p50 \(ms(watchLag.p50)) "
            out += "p99 \(ms(watchLag.p99)) max \(ms(watchLag.max))\n"
        }
        out += "\nLatency from intended time (ms)\n"
        out += "  op            count       p50       p90       p99     p99.9       max\n"
        for (op, p) in latency.sorted(by: { $0.key < $1.key }) {
            out += "  " + op.padding(toLength: 10, withPad: " ", startingAt: 0)
            out += String(format: "%9d", p.count)
            for v in [p.p50, p.p90, p.p99, p.p999, p.max] { out += String(format: "%10.3f", Double(v) / 1000) }
            out += "\n"
        }
        for note in notes { out += "note: \(note)\n" }
        return out
    }

    func ms(_ microseconds: UInt64) -> String { String(format: "%.3f ms", Double(microseconds) / 1000) }
}

extension ReplayResult {
    /// A self-contained page: latency by percentile per op (from the intended time) and the schedule
    /// lag, on HdrHistogram's percentile axis, then the text report.
    public var html: String {
        var series: [SVGChart.Series] = []
        for name in histograms.keys.sorted() {
            guard let text = histograms[name], let histogram = try? LatencyHistogram(encoded: text) else { continue }
            let label = name == "scheduleLag" ? "schedule lag" : name
            series.append(SVGChart.Series(name: label, points: HTMLReport.percentileCurve(histogram)))
        }
        let chart = SVGChart(
            title: "Replay latency by percentile (from the intended time)",
            xLabel: "percentile",
            yLabel: "latency",
            xScale: .log,
            yScale: .log,
            series: series,
            xTickLabel: HTMLReport.percentileLabel,
            yTickLabel: HTMLReport.milliseconds
        )
        var body = "<h1>zkstorm replay \(HTMLReport.escape(runId))</h1>\n"
        if chart.hasData { body += "<figure>\n" + chart.render() + "</figure>\n" }
        body += "<h2>Report</h2>\n<pre>\(HTMLReport.escape(text))</pre>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>zkstorm replay \(HTMLReport.escape(runId))</title>
            <style>
            body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; background: #fafafa; }
            figure { margin: 16px 0; display: inline-block; border: 1px solid #ddd; background: #fff; }
            pre { background: #fff; border: 1px solid #ddd; padding: 12px; font-size: 12px; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }
}
