import Foundation

/// The reconnect herd's lines of the text report: one row per reconnect policy.
enum HerdReport {
    static func render(_ herd: RunResult.HerdSummary) -> String {
        let sessions = herd.groups.reduce(0) { $0 + $1.sessions }
        var out = "\nreconnect herd: \(sessions) tree caches of \(herd.znodes) znodes, "
        out += "\(ReportFormat.rate(herd.writesPerSecond)) writes/s"
        out += herd.faultAtS.map { String(format: ", fault at %.1fs\n", $0) } ?? " (no fault)\n"
        out += row([
            "policy", "sessions", "steady rd/s", "peak rd/s", "amplif.", "drain", "extra reads", "re-read",
            "lag p50", "lag p99", "after p50", "after p99",
        ])
        for group in herd.groups {
            out += row([
                group.policy, "\(group.sessions)", group.steadyReadsPerSecond.map(ReportFormat.rate) ?? "–",
                group.peakReadsPerSecond.map(ReportFormat.rate) ?? "–",
                group.amplification.map { String(format: "%.1f×", $0) } ?? "–",
                group.drainSeconds.map { String(format: "%.1fs", $0) } ?? "–", group.extraReads.map(String.init) ?? "–",
                group.reread.map(String.init) ?? "–", group.lagUs.map { ReportFormat.latency($0.p50) } ?? "–",
                group.lagUs.map { ReportFormat.latency($0.p99) } ?? "–",
                group.lagAfterFaultUs.map { ReportFormat.latency($0.p50) } ?? "–",
                group.lagAfterFaultUs.map { ReportFormat.latency($0.p99) } ?? "–",
            ])
        }
        return out
    }

    static let widths = [28, 8, 11, 10, 8, 7, 11, 7, 9, 9, 9, 9]

    static func row(_ cells: [String]) -> String {
        var line = ""
        for (index, cell) in cells.enumerated() {
            let width = widths[min(index, widths.count - 1)]
            line += index == 0 ? ReportFormat.pad(cell, width, right: false) : " " + ReportFormat.pad(cell, width)
        }
        return line + "\n"
    }
}
