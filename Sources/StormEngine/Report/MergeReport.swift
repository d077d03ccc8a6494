import Foundation

/// The per-shard rows of a merged result (`zkstorm report --merge`), printed after the total's report.
public enum MergeReport {
    public static func render(_ merged: MergedShards) -> String {
        var lines = ["", "Shards (the report above is their exact merge: histograms added, counts summed)"]
        lines.append(
            "  shard      requests    errors   p99 µs   notified   missed   duration  file"
        )
        for row in merged.shards {
            let shard = row.shard.map { "\($0.index)/\($0.count)" } ?? "–"
            lines.append(
                String(
                    format: "  %@ %11llu %9llu %8llu %10llu %8llu %8.1f s  %@%@",
                    shard.padding(toLength: 7, withPad: " ", startingAt: 0) as NSString,
                    row.requests,
                    row.errors,
                    row.p99Us,
                    row.watchNotifications,
                    row.watchMissed,
                    row.durationSeconds,
                    row.file as NSString,
                    (row.interrupted ? " (interrupted)" : "") as NSString
                )
            )
        }
        let total = merged.shards.reduce(0) { $0 + $1.requests }
        lines.append("  total   " + String(format: "%11llu", total))
        if let spread = merged.startSpreadMs {
            lines.append(String(format: "  measurement starts spread over %.1f ms", spread))
        }
        if let error = merged.watchLagErrorUs {
            lines.append(
                String(
                    format: "  watch lags exact to ± %.3f ms (the largest shard clock error bar against the writer)",
                    error / 1000
                )
            )
        }
        if let lost = merged.lost { lines.append("  " + ShardReport.lostSentence(lost)) }
        lines.append("  (timeline p99 per interval: the highest shard's, an upper bound)")
        return lines.joined(separator: "\n")
    }

    /// The same rows as an HTML table, placed before the page's closing body tag.
    public static func insertHTML(_ merged: MergedShards, into page: String) -> String {
        var table = "<section><h2>Shards</h2><p>The figures above are the exact merge of these results.</p>"
        table += "<table><tr><th>shard</th><th>requests</th><th>errors</th><th>p99 µs</th>"
        table += "<th>notified</th><th>missed</th><th>duration s</th><th>file</th></tr>"
        for row in merged.shards {
            let shard = row.shard.map { "\($0.index)/\($0.count)" } ?? "–"
            table += "<tr><td>\(shard)</td><td>\(row.requests)</td><td>\(row.errors)</td><td>\(row.p99Us)</td>"
            table += "<td>\(row.watchNotifications)</td><td>\(row.watchMissed)</td>"
            table += String(format: "<td>%.1f</td>", row.durationSeconds)
            table += "<td>\(escape(row.file))</td></tr>"
        }
        table += "</table>"
        if let spread = merged.startSpreadMs {
            table += String(format: "<p>Measurement starts spread over %.1f ms.</p>", spread)
        }
        if let error = merged.watchLagErrorUs {
            table += String(
                format: "<p>Watch lags exact to ± %.3f ms (the largest shard clock error bar).</p>",
                error / 1000
            )
        }
        if let lost = merged.lost { table += "<p>\(escape(ShardReport.lostSentence(lost)))</p>" }
        table += "</section>"
        guard let end = page.range(of: "</body>", options: .backwards) else { return page + table }
        return page.replacingCharacters(in: end.lowerBound..<end.lowerBound, with: table)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
