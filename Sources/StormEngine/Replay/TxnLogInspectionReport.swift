import Foundation

/// Text and HTML renderings of a `TxnLogInspection`.
public enum TxnLogInspectionReport {
    public static func text(_ r: TxnLogInspection) -> String {
        var out = ""
        let mib = Double(r.bytesRead) / 1_048_576
        out += "Transaction logs: \(r.files.count) file(s), \(String(format: "%.1f", mib)) MiB, \(r.entries) txns"
        if let a = r.firstZxid, let b = r.lastZxid {
            out += ", zxid 0x\(String(a, radix: 16))..0x\(String(b, radix: 16))"
        }
        out += String(format: ", %.1f s of leader time\n", r.durationSeconds)
        for f in r.files {
            out += "  \(f.path): \(f.entries) txns, \(f.end) at byte \(f.endOffset)"
            if let p = f.problem { out += " (\(p)); \(f.skippedBytes) bytes skipped" }
            out += "\n"
        }
        out += "\nOp mix (top-level txns)\n"
        for (name, count) in r.opMix.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            out += "  " + pad(name, 16) + pad(String(count), 10, right: true) + percent(count, r.entries) + "\n"
        }
        if !r.multiOps.isEmpty {
            out += "\nInside multis\n"
            for (name, count) in r.multiOps.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                out += "  " + pad(name, 16) + pad(String(count), 10, right: true) + "\n"
            }
        }
        out += "\nMultis: \(r.multis), failed \(r.failedMultis)"
        out += String(format: " (failure rate %.1f%%)\n", r.multiFailureRate * 100)
        out +=
            "Sessions: \(r.sessionsCreated) created, \(r.sessionsClosed) closed, \(r.distinctSessions) distinct writers\n"
        out += "Creates: \(r.ephemeralCreates) ephemeral, \(r.sequentialCreates) sequential, "
        out += "\(r.containerCreates) container, \(r.ttlCreates) TTL\n"
        out += "Paths written: \(r.distinctPaths) distinct\n"
        if !r.writesPerSecond.isEmpty {
            let sorted = r.writesPerSecond.sorted()
            let mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
            out += String(
                format: "Writes per second: mean %.1f, median %d, p99 %d, max %d over %d s\n",
                mean,
                sorted[sorted.count / 2],
                sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))],
                sorted.last!,
                sorted.count
            )
        }
        out += "\nValue sizes (bytes)\n" + buckets(r.valueSizes, label: { $0 == 0 ? "0" : ">= \($0)" })
        out += "\nPath depth\n" + buckets(r.pathDepths, label: { String($0) })
        if !r.multiSizes.isEmpty { out += "\nMulti sizes (ops)\n" + buckets(r.multiSizes, label: { String($0) }) }
        out += "\nHottest paths\n"
        for p in r.hottestPaths { out += "  " + pad(String(p.writes), 8, right: true) + "  \(p.path)\n" }
        return out
    }

    public static func html(_ r: TxnLogInspection) -> String {
        var charts: [SVGChart] = []
        charts.append(
            SVGChart(
                title: "Writes per second (leader time)",
                xLabel: "seconds from the first write",
                yLabel: "writes/s",
                series: [.init(name: "writes", points: r.writesPerSecond.enumerated().map { (Double($0), Double($1)) })]
            )
        )
        charts.append(
            SVGChart(
                title: "Value sizes",
                xLabel: "bytes (power-of-two buckets)",
                yLabel: "writes",
                xScale: .linear,
                style: .bars,
                series: [
                    .init(
                        name: "values",
                        points: r.valueSizes.map {
                            (Double($0.from == 0 ? 0 : $0.from.trailingZeroBitCount + 1), Double($0.count))
                        }
                    )
                ],
                xTickLabel: { $0 == 0 ? "0" : "2^\(Int($0) - 1)" }
            )
        )
        charts.append(
            SVGChart(
                title: "Path depth",
                xLabel: "depth",
                yLabel: "writes",
                style: .bars,
                series: [.init(name: "depth", points: r.pathDepths.map { (Double($0.from), Double($0.count)) })]
            )
        )
        var body = "<h1>zkstorm txnlog inspect</h1>\n"
        for chart in charts where chart.hasData { body += "<figure>\n" + chart.render() + "</figure>\n" }
        body += "<h2>Report</h2>\n<pre>\(HTMLReport.escape(text(r)))</pre>\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>zkstorm txnlog inspect</title>
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

    static func buckets(_ buckets: [TxnLogInspection.Bucket], label: (Int) -> String) -> String {
        let total = buckets.reduce(0) { $0 + $1.count }
        return buckets.map {
            "  " + pad(label($0.from), 12) + pad(String($0.count), 10, right: true) + percent($0.count, total) + "\n"
        }
        .joined()
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "" : String(format: "  %5.1f%%", Double(part) * 100 / Double(whole))
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
