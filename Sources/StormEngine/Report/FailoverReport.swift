import Foundation

/// The failover lines of the text report: shown when a connection was lost or a session expired, and
/// the watch accounting whenever the run had a watch storm.
public enum FailoverReport {
    public static func render(_ failover: FailoverSummary) -> String {
        var out = ""
        if failover.connectionLosses > 0 || failover.expirations > 0 {
            out += "failover: \(failover.connectionLosses) connection losses, \(failover.reconnects) reconnects"
            if let r = failover.reconnectUs {
                out +=
                    " (reconnect p50 \(ReportFormat.latency(r.p50)), p99 \(ReportFormat.latency(r.p99)), max \(ReportFormat.latency(r.max)))"
            }
            out += ", \(failover.expirations) expirations, \(failover.sessionsReplaced) sessions replaced"
            if let r = failover.replacementUs {
                out += " (p50 \(ReportFormat.latency(r.p50)), max \(ReportFormat.latency(r.max)))"
            }
            if failover.watchesRecreated > 0 { out += ", \(failover.watchesRecreated) watches re-created" }
            out += "\n"
            if let batches = failover.setWatchesBatches {
                out +=
                    "watches restored after reconnects: \(failover.watchesRestored ?? 0) in \(batches) setWatches2 "
                    + "batch\(batches == 1 ? "" : "es") (each within jute.maxbuffer)\n"
            }
            let eventful = failover.intervals.filter {
                $0.connectionLosses + $0.reconnects + $0.expirations + $0.sessionsReplaced > 0
                    || !$0.errorsByCode.isEmpty
            }
            for interval in eventful.prefix(20) {
                var line = String(format: "  %6.1fs", interval.t)
                line += "  lost \(interval.connectionLosses)  reconnected \(interval.reconnects)"
                line += "  expired \(interval.expirations)  replaced \(interval.sessionsReplaced)"
                if !interval.errorsByCode.isEmpty {
                    line +=
                        "  errors "
                        + interval.errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", "
                        )
                }
                out += line + "\n"
            }
            if eventful.count > 20 { out += "  (\(eventful.count - 20) more intervals in the JSON result)\n" }
        }
        if let w = failover.watch {
            out +=
                "watch accounting (by znode version): \(w.writes) writes × watchers = \(w.due) due: \(w.received) received"
            out += " (\(w.late) late), \(w.collapsed) collapsed into one-shot re-arms, \(w.missed) missed"
            if w.excess > 0 { out += ", \(w.excess) beyond the writes" }
            if !w.versionsRead { out += " (versions not readable; counted from acknowledged writes)" }
            out += "\n"
        }
        return out
    }

    /// The workload's faults as they fired and what each cost until the next one (or the end).
    public static func render(faults: [RunResult.FaultMark]) -> String {
        var out = "faults (each until the next, or the end):\n"
        for fault in faults {
            var line = String(format: "  %6.1fs  %@", fault.atS, fault.label)
            if let restored = fault.restoredAtS { line += String(format: ", undone at %.1fs", restored) }
            if let error = fault.error { line += "; FAILED: \(error)" }
            out += line + "\n"
            guard let cost = fault.cost else { continue }
            var figures = "          lost \(cost.connectionLosses), reconnected \(cost.reconnects)"
            if let worst = cost.reconnectMaxUs { figures += " (slowest \(ReportFormat.latency(worst)))" }
            figures += ", expired \(cost.expirations)"
            let errors = cost.errorsByCode.values.reduce(0, +)
            figures += ", errors \(errors)"
            if errors > 0 {
                figures +=
                    " ("
                    + cost.errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                        separator: ", "
                    ) + ")"
            }
            figures += ", missed notifications \(cost.missedNotifications)"
            figures += ", \(ReportFormat.rate(cost.opsPerSecond)) ops/s"
            if let steady = cost.steadyOpsPerSecond, steady > 0 {
                figures += String(
                    format: " (%.2f× the %@ ops/s before the first fault)",
                    cost.opsPerSecond / steady,
                    ReportFormat.rate(steady)
                )
            }
            if let recovered = cost.recoveredAfterS {
                figures += String(
                    format: ", requests all succeed again %.1f s after the %@",
                    recovered,
                    fault.restoredAtS == nil ? "fault" : "undo"
                )
            }
            out += figures + "\n"
        }
        return out
    }
}
