import Foundation
import StormMetrics

/// A single self-contained HTML page: the text report's tables plus inline SVG charts — latency by
/// percentile (log scale), connect time by phase, throughput, errors and p99 over time, watch-lag
/// distribution and per-round fan-out.
public enum HTMLReport {
    public static func render(_ result: RunResult) -> String {
        var body = ""
        body += "<h1>zkstorm: \(escape(result.workload))</h1>\n"
        body += meta(result)
        for chart in charts(result) where chart.hasData {
            body += "<figure>\n" + chart.render() + "</figure>\n"
        }
        body += "<h2>Report</h2>\n<pre>\(escape(TextReport.render(result)))</pre>\n"
        return page(title: "zkstorm \(result.workload) \(result.runId)", body: body)
    }

    /// Two runs on one page: each chart carries both (A solid colours first, then B), and the text
    /// comparison with B/A ratios below.
    public static func renderComparison(_ a: RunResult, _ b: RunResult) -> String {
        var body = "<h1>zkstorm: \(escape(a.workload)) (A) vs \(escape(b.workload)) (B)</h1>\n"
        body += meta(a, label: "A (solid)") + meta(b, label: "B (dashed)")
        let chartsA = charts(a)
        let chartsB = charts(b)
        for (ca, cb) in zip(chartsA, chartsB) {
            var chart = ca
            chart.series =
                ca.series.map { SVGChart.Series(name: "A " + $0.name, points: $0.points) }
                + cb.series.map { SVGChart.Series(name: "B " + $0.name, points: $0.points, dashed: true) }
            chart.markers =
                ca.markers.map { SVGChart.Marker(x: $0.x, label: "A " + $0.label, color: $0.color) }
                + cb.markers.map { SVGChart.Marker(x: $0.x, label: "B " + $0.label, color: $0.color) }
            if chart.style == .bars { chart.style = .lines }
            if chart.hasData { body += "<figure>\n" + chart.render() + "</figure>\n" }
        }
        body += "<h2>Comparison</h2>\n<pre>\(escape(ComparisonReport.render(a, b)))</pre>\n"
        return page(title: "zkstorm \(a.runId) vs \(b.runId)", body: body)
    }

    static func meta(_ result: RunResult, label: String? = nil) -> String {
        var text =
            "<p class=\"meta\">\(label.map { "<strong>\($0)</strong>: " } ?? "")run <code>\(escape(result.runId))</code> on <code>\(escape(result.target))</code>, "
        text +=
            "started \(escape(result.startedAt)), measured \(String(format: "%.1f", result.durationSeconds)) s, seed \(result.seed)"
        if let version = result.zkstormVersion { text += ", zkstorm \(escape(version))" }
        if result.interrupted == true { text += ", <strong>interrupted</strong>" }
        if let lost = result.targetLost {
            text += String(format: ", <strong>target lost at %.1f s</strong>", lost.atSeconds)
        }
        return text + "</p>\n"
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; background: #fafafa; }
        h1 { font-size: 22px; margin-bottom: 4px; }
        .meta { color: #555; margin: 2px 0; }
        figure { margin: 16px 0; display: block; border: 1px solid #ddd; background: #fff; }
        svg.chart { width: 100%; height: auto; display: block; }
        pre { background: #fff; border: 1px solid #ddd; padding: 12px; font-size: 12px; overflow-x: auto; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    /// Vertical lines for what happened during the run: stage changes, faults (and their undoing), the
    /// target lost.
    static func markers(_ result: RunResult) -> [SVGChart.Marker] {
        var markers: [SVGChart.Marker] = []
        for stage in result.stages ?? [] {
            markers.append(SVGChart.Marker(x: stage.startS, label: stage.label, color: "#2ca02c"))
        }
        for fault in result.faults ?? [] {
            markers.append(SVGChart.Marker(x: fault.atS, label: fault.label, color: "#9467bd"))
            if let restored = fault.restoredAtS {
                markers.append(SVGChart.Marker(x: restored, label: "undone: \(fault.action)", color: "#bcbd22"))
            }
        }
        if let lost = result.targetLost {
            markers.append(SVGChart.Marker(x: lost.atSeconds, label: "target lost", color: "#d62728"))
        }
        return markers
    }

    /// Percentiles plotted on the "1/(1-p)" axis HdrHistogram uses, so the tail gets room.
    static let percentiles: [Double] = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999]

    static func percentileCurve(_ histogram: LatencyHistogram) -> [(x: Double, y: Double)] {
        guard !histogram.isEmpty else { return [] }
        return percentiles.map { p in (x: 1 / (1 - p / 100), y: Double(max(histogram.value(atPercentile: p), 1)) / 1000)
        }
    }

    static func percentileLabel(_ x: Double) -> String {
        let p = (1 - 1 / x) * 100
        if p < 0.5 { return "0%" }
        return String(format: "%g%%", (p * 1000).rounded() / 1000)
    }

    static func milliseconds(_ value: Double) -> String {
        value >= 1 ? "\(SVGChart.number(value)) ms" : "\(SVGChart.number(value * 1000)) µs"
    }

    static func charts(_ result: RunResult) -> [SVGChart] {
        var charts: [SVGChart] = []
        var latencySeries: [SVGChart.Series] = []
        for name in result.orderedOperations {
            latencySeries.append(
                SVGChart.Series(name: name, points: percentileCurve(result.mergedHistogram(prefix: "request:\(name):")))
            )
        }
        for key in result.histograms.keys.sorted() where key.hasPrefix("watch_lag:") {
            if let h = result.histogram(key) {
                latencySeries.append(
                    SVGChart.Series(
                        name: "watch lag (\(key.dropFirst("watch_lag:".count)))",
                        points: percentileCurve(h)
                    )
                )
            }
        }
        charts.append(
            SVGChart(
                title: "Latency by percentile",
                xLabel: "percentile",
                yLabel: "latency",
                xScale: .log,
                yScale: .log,
                series: latencySeries,
                xTickLabel: percentileLabel,
                yTickLabel: milliseconds
            )
        )
        charts.append(connectPhaseChart(result))
        charts.append(herdChart(result))
        let timeline = plottedTimeline(result.timeline)
        charts.append(
            SVGChart(
                title: "Throughput over time",
                xLabel: "seconds since measurement began",
                yLabel: "operations / s",
                series: [
                    SVGChart.Series(
                        name: "ops/s",
                        points: timeline.map { (x: $0.t, y: $0.rate) }
                    )
                ],
                markers: markers(result)
            )
        )
        charts.append(
            SVGChart(
                title: "Errors over time",
                xLabel: "seconds since measurement began",
                yLabel: "errors / s",
                series: [
                    SVGChart.Series(
                        name: "errors/s",
                        points: timeline.map { (x: $0.t, y: Double($0.errors) / max($0.intervalS ?? 1, 0.001)) }
                    )
                ],
                markers: markers(result)
            )
        )
        charts.append(
            SVGChart(
                title: "p99 latency over time",
                xLabel: "seconds since measurement began",
                yLabel: "p99",
                yScale: .log,
                series: [
                    SVGChart.Series(
                        name: "operations p99",
                        points: timeline.filter { $0.p99Us > 0 }.map { (x: $0.t, y: Double($0.p99Us) / 1000) }
                    ),
                    SVGChart.Series(
                        name: "watch lag p99",
                        points: timeline.compactMap { p in
                            p.watchLagP99Us.flatMap { $0 > 0 ? (x: p.t, y: Double($0) / 1000) : nil }
                        }
                    ),
                ],
                yTickLabel: milliseconds,
                markers: markers(result)
            )
        )
        var lag = LatencyHistogram()
        for key in result.histograms.keys where key.hasPrefix("watch_lag:") {
            if let h = result.histogram(key) { lag.merge(h) }
        }
        charts.append(
            SVGChart(
                title: "Watch notification lag distribution",
                xLabel: "lag (log bins)",
                yLabel: "notifications",
                xScale: .log,
                style: .bars,
                series: [SVGChart.Series(name: "notifications", points: logBins(lag))],
                xTickLabel: milliseconds
            )
        )
        let rounds = result.rounds
        charts.append(
            SVGChart(
                title: "Fan-out per storm round",
                xLabel: "round",
                yLabel: "lag",
                yScale: .log,
                series: [
                    SVGChart.Series(
                        name: "first watcher",
                        points: rounds.compactMap { r in
                            r.firstNanoseconds.map { (x: Double(r.round), y: max(Double($0), 1000) / 1e6) }
                        }
                    ),
                    SVGChart.Series(
                        name: "median watcher",
                        points: rounds.compactMap { r in
                            r.medianNanoseconds.map { (x: Double(r.round), y: max(Double($0), 1000) / 1e6) }
                        }
                    ),
                    SVGChart.Series(
                        name: "last watcher",
                        points: rounds.compactMap { r in
                            r.lastNanoseconds.map { (x: Double(r.round), y: max(Double($0), 1000) / 1e6) }
                        }
                    ),
                ],
                yTickLabel: milliseconds
            )
        )
        return charts
    }

    /// The reconnect herd's reads per second, one line per reconnect policy, with the faults marked.
    static func herdChart(_ result: RunResult) -> SVGChart {
        let bucket = result.herd?.bucketS ?? 0.1
        return SVGChart(
            title: "Reconnect herd: cache reads per second by reconnect policy",
            xLabel: "seconds since measurement began",
            yLabel: "reads / s",
            series: (result.herd?.groups ?? []).map { group in
                SVGChart.Series(
                    name: group.policy,
                    points: group.readsPerSecond.enumerated().map { (x: Double($0.offset) * bucket, y: $0.element) }
                )
            },
            markers: markers(result)
        )
    }

    /// Where connect time goes (TCP, TLS, ConnectResponse, SASL, and the total), one percentile curve
    /// per phase from the `connect:<phase>` histograms: a session-churn run over TLS shows each cost.
    static func connectPhaseChart(_ result: RunResult) -> SVGChart {
        let phases = [
            ("tcp", "TCP connect"), ("tls", "TLS handshake"), ("handshake", "ConnectResponse"), ("sasl", "SASL"),
            ("total", "total"),
        ]
        return SVGChart(
            title: "Connect time by phase",
            xLabel: "percentile",
            yLabel: "time",
            xScale: .log,
            yScale: .log,
            series: phases.compactMap { key, name in
                result.histogram("connect:\(key)").map { SVGChart.Series(name: name, points: percentileCurve($0)) }
            },
            xTickLabel: percentileLabel,
            yTickLabel: milliseconds
        )
    }

    /// The intervals a chart may plot: each with its length (older results lack it: the gap to the
    /// previous point), without the partial tail (a fraction of a second of draining replies is no rate).
    static func plottedTimeline(_ timeline: [RunResult.TimelinePoint]) -> [RunResult.TimelinePoint] {
        var previous = 0.0
        var plotted: [RunResult.TimelinePoint] = []
        for var point in timeline {
            if point.intervalS == nil { point.intervalS = max(point.t - previous, 0.001) }
            previous = point.t
            if !point.isPartial { plotted.append(point) }
        }
        return plotted
    }

    /// Buckets of the histogram gathered into bins a quarter-decade wide; x = bin centre in ms.
    static func logBins(_ histogram: LatencyHistogram) -> [(x: Double, y: Double)] {
        guard !histogram.isEmpty else { return [] }
        var bins: [Int: UInt64] = [:]
        for bucket in histogram.recordedBuckets {
            let bin = Int(floor(log10(Double(max(bucket.value, 1))) * 4))
            bins[bin, default: 0] += bucket.count
        }
        return bins.keys.sorted().map { bin in (x: pow(10, (Double(bin) + 0.5) / 4) / 1000, y: Double(bins[bin]!)) }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
