import Foundation

/// The text report's slow-consumer section: healthy watchers' lag before and after the stall, and what
/// the server did with the stalled connections.
enum SlowConsumerReport {
    static func render(_ slow: SlowConsumerSummary) -> String {
        var out = "\nslow consumers: \(slow.stalledWatchers) of \(slow.stalledWatchers + slow.healthyWatchers) "
        out += "watchers stopped reading from round \(slow.fromRound)"
        out += slow.stalledAtS.map { String(format: " (%.1fs)", $0) } ?? " (never reached)"
        out += ", each sending \(slow.readsPerRound) reads of \(byteText(slow.valueBytes)) per round"
        out += " (\(slow.readsSent) sent, \(slow.readsFailed) failed)\n"
        out += HerdReport.row([
            "healthy watchers", "rounds", "notified", "missing", "lag p50", "lag p99", "fan-out p50", "fan-out max",
        ])
        for (label, lag) in [("before the stall", slow.before), ("after the stall", slow.after)] {
            out += HerdReport.row([
                label, "\(lag.rounds)", "\(lag.notifications)", "\(lag.missing)",
                lag.p50Us.map(ReportFormat.latency) ?? "–", lag.p99Us.map(ReportFormat.latency) ?? "–",
                lag.fanoutP50Us.map(ReportFormat.latency) ?? "–", lag.fanoutMaxUs.map(ReportFormat.latency) ?? "–",
            ])
        }
        out += "  " + verdict(slow) + "\n"
        return out
    }

    /// One sentence: did the stall delay the healthy watchers, and what became of the stalled ones.
    static func verdict(_ slow: SlowConsumerSummary) -> String {
        var parts: [String] = []
        if let ratio = slow.p99Ratio {
            parts.append(
                String(format: "healthy watchers' p99 lag after the stall is %.2f× what it was before", ratio)
                    + (ratio > 2 ? " (the stalled peers delayed them)" : "")
            )
        }
        if slow.after.missing > 0 { parts.append("\(slow.after.missing) notifications to healthy watchers missing") }
        let lost = slow.stalledConnectionsLost.map { "stalled connections lost: \($0)" } ?? "the stall did not begin"
        switch slow.serverClosedSlow {
        case .some(let closed):
            parts.append("\(lost); the server closed \(closed) for not reading (zk_connections_closed_slow)")
        case .none where slow.stalledConnectionsLost != nil:
            parts.append(
                "\(lost); the server reports no outbox limit (ZooKeeper buffers for stalled clients without bound)"
            )
        case .none:
            parts.append(lost)
        }
        return parts.joined(separator: "; ")
    }

    static func byteText(_ bytes: Int) -> String {
        if bytes >= 1_048_576 && bytes % 1_048_576 == 0 { return "\(bytes / 1_048_576) MiB" }
        if bytes >= 1024 && bytes % 1024 == 0 { return "\(bytes / 1024) KiB" }
        return "\(bytes) B"
    }
}
