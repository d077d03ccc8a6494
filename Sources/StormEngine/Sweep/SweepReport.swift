import Foundation

/// The sweep's table (stdout) and its HTML page of curves: one line per target, the parameter on x.
public enum SweepReport {
    public static func render(_ sweep: SweepResult) -> String {
        var out = "zkstorm sweep \(sweep.sweepId): workload \(sweep.workload), \(sweep.parameter.label)"
        out += sweep.searches == nil ? " varied over \(sweep.values.count) value(s)" : ", capacity search"
        out += " on \(sweep.targets.joined(separator: ", "))\n"
        if !sweep.slos.isEmpty { out += "SLOs: \(sweep.slos.joined(separator: ", "))\n" }
        let hasWatch = sweep.points.contains { $0.figures.lagP50Us != nil }
        var header = ["target", sweep.parameter.rawValue, "ops/s", "p50", "p99", "errors"]
        if hasWatch { header += ["lag p50", "lag p99", "fan-out p50"] }
        if !sweep.slos.isEmpty { header.append("SLOs") }
        var rows = [header]
        for target in sweep.targets {
            for point in sweep.points(of: target) {
                let f = point.figures
                var row = [
                    target, SweepParameter.format(point.value), ReportFormat.rate(f.throughput), latency(f.p50Us),
                    latency(f.p99Us), String(f.errors),
                ]
                if hasWatch { row += [latency(f.lagP50Us), latency(f.lagP99Us), latency(f.fanoutP50Us)] }
                if let slos = point.slos {
                    let failed = slos.filter { !$0.passed }
                    row.append(failed.isEmpty ? "pass" : "FAIL " + failed.map(\.threshold).joined(separator: ", "))
                }
                rows.append(row)
            }
        }
        out += "\n" + table(rows, leftAligned: sweep.slos.isEmpty ? [0] : [0, header.count - 1])
        for search in sweep.searches ?? [] {
            out += "\n" + renderSearch(search, named: sweep.targets.count > 1)
        }
        if sweep.interrupted == true { out += "\ninterrupted: the points above are those that ran\n" }
        if let failure = sweep.failure { out += "\nstopped: \(failure.message)\n" }
        return out
    }

    static func renderSearch(_ search: SweepResult.CapacitySummary, named: Bool) -> String {
        let walked = search.steps.map { "\(ReportFormat.rate($0.rate))/s \($0.passed ? "pass" : "fail")" }
        var out = named ? "\(search.target): " : ""
        out += "search walked: \(walked.joined(separator: " → "))\n"
        switch (search.highestPassingRate, search.lowestFailingRate) {
        case (let low?, let high?):
            out +=
                "highest rate holding every SLO: \(ReportFormat.rate(low)) ops/s (fails at \(ReportFormat.rate(high)) ops/s; resolution \(search.resolution))\n"
        case (let low?, nil):
            out +=
                "every SLO held up to \(ReportFormat.rate(low)) ops/s, the most these sessions can offer (\(ReportFormat.rate(search.ceiling)) ops/s); add sessions to search higher\n"
        case (nil, let high?):
            out += "no rate held every SLO: even \(ReportFormat.rate(high)) ops/s failed (exit 99)\n"
        case (nil, nil):
            out += "no rate was measured\n"
        }
        return out
    }

    static func latency(_ value: UInt64?) -> String { value.map(ReportFormat.latency) ?? "–" }

    /// Columns padded to their widest cell; figures right-aligned, the `leftAligned` text columns left.
    static func table(_ rows: [[String]], leftAligned: Set<Int>) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                ReportFormat.pad(cell, widths[index], right: !leftAligned.contains(index))
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    // MARK: HTML

    public static func renderHTML(_ sweep: SweepResult) -> String {
        var body = "<h1>zkstorm sweep: \(HTMLReport.escape(sweep.workload))</h1>\n"
        body +=
            "<p class=\"meta\">sweep <code>\(HTMLReport.escape(sweep.sweepId))</code>, \(HTMLReport.escape(sweep.parameter.label)) on "
            + sweep.targets.map { "<code>\(HTMLReport.escape($0))</code>" }.joined(separator: ", ")
            + ", started \(HTMLReport.escape(sweep.startedAt)), zkstorm \(HTMLReport.escape(sweep.zkstormVersion))</p>\n"
        for chart in charts(sweep) where chart.hasData {
            body += "<figure>\n" + chart.render() + "</figure>\n"
        }
        body += "<h2>Points</h2>\n<pre>\(HTMLReport.escape(render(sweep)))</pre>\n"
        return HTMLReport.page(title: "zkstorm sweep \(sweep.sweepId)", body: body)
    }

    static func charts(_ sweep: SweepResult) -> [SVGChart] {
        let xScale: SVGChart.Scale =
            sweep.logSpaced || sweep.searches != nil && sweep.points.allSatisfy({ $0.value > 0 }) ? .log : .linear
        let xLabel = sweep.parameter.label
        func curve(_ title: String, _ yLabel: String, log: Bool, _ figure: (SweepFigures) -> Double?) -> SVGChart {
            let series = sweep.targets.map { target in
                SVGChart.Series(
                    name: target,
                    points: sweep.points(of: target).compactMap { point in
                        figure(point.figures).map { (x: point.value, y: $0) }
                    },
                    showsPoints: true
                )
            }
            var chart = SVGChart(title: title, xLabel: xLabel, yLabel: yLabel, series: series)
            chart.xScale = xScale
            chart.yScale = log ? .log : .linear
            if log { chart.yTickLabel = HTMLReport.milliseconds }
            chart.xTickLabel = { SweepParameter.format($0.rounded()) }
            return chart
        }
        func ms(_ value: UInt64?) -> Double? { value.map { Double($0) / 1000 } }
        var charts = [
            curve("Throughput", "ops/s", log: false) { $0.requests > 0 ? $0.throughput : nil },
            curve("Request latency p50", "ms", log: true) { ms($0.p50Us) },
            curve("Request latency p99", "ms", log: true) { ms($0.p99Us) },
            curve("Watch lag p50", "ms", log: true) { ms($0.lagP50Us) },
            curve("Watch lag p99", "ms", log: true) { ms($0.lagP99Us) },
            curve("Fan-out to the last watcher, p50", "ms", log: true) { ms($0.fanoutP50Us) },
        ]
        let named = sweep.targets.count > 1
        let markers = (sweep.searches ?? []).compactMap { search in
            search.highestPassingRate.map {
                SVGChart.Marker(x: $0, label: named ? "\(search.target) max" : "max holding SLOs", color: "#2ca02c")
            }
        }
        for index in charts.indices { charts[index].markers = markers }
        return charts
    }
}
