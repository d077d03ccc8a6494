import Foundation
import StormMetrics

/// The end-of-run report printed to stdout (and by `zkstorm report`).
public enum TextReport {
    public static func render(_ result: RunResult) -> String {
        var out = ""
        out += "zkstorm run \(result.runId): workload \(result.workload) on \(result.target)\n"
        out +=
            "started \(result.startedAt), measured \(String(format: "%.1f", result.durationSeconds)) s, seed \(result.seed)\n"
        if let shard = result.shard { out += ShardReport.render(shard) }
        out += "\n"
        if result.operations.isEmpty {
            out += "operations: none\n"
        } else {
            out += renderOperations(result)
        }
        if result.watch.notifications > 0 || !result.rounds.isEmpty {
            out += "\n" + renderWatch(result)
        }
        out +=
            "\nsessions: \(result.sessions.connected) connected, \(result.sessions.reconnects) reconnects, \(result.sessions.expired) expired"
            + (result.reconnect.map { " (reconnect policy: \($0))" } ?? "") + "\n"
        if let failover = result.failover { out += FailoverReport.render(failover) }
        if let faults = result.faults, !faults.isEmpty { out += FailoverReport.render(faults: faults) }
        if let herd = result.herd { out += HerdReport.render(herd) }
        if let slow = result.slowConsumers { out += SlowConsumerReport.render(slow) }
        if let throttles = result.throttles, !throttles.isEmpty {
            out += "\nthrottles suspected:\n"
            for finding in throttles {
                out += "  \(finding.kind.rawValue): \(finding.evidence); suspect \(finding.suspect)\n"
            }
        }
        if let lost = result.targetLost {
            out += String(
                format: "\ntarget lost %.1f s into the measurement: the figures cover what ran until then\n",
                lost.atSeconds
            )
            if let root = lost.rootLeft {
                out += "run root left on the target: \(root) (remove it with zkstorm clean)\n"
            }
        }
        if result.interrupted == true { out += "\ninterrupted: the figures cover what ran until the signal\n" }
        if let stages = result.stages, !stages.isEmpty {
            out +=
                "stages: " + stages.map { String(format: "%.0fs %@", $0.startS, $0.label) }.joined(separator: " | ")
                + "\n"
        }
        if let thresholds = result.thresholds { out += ThresholdReport.render(thresholds) }
        if let phases = result.connectPhasesUs, !phases.isEmpty { out += "\n" + renderConnectPhases(result, phases) }
        if let generator = result.generator { out += renderGenerator(generator) }
        return out
    }

    /// One row per connect phase, in connect order; the security line says what was negotiated.
    static func renderConnectPhases(_ result: RunResult, _ phases: [String: RunResult.Percentiles]) -> String {
        var out = "connect phases (\(result.security ?? "plaintext")):\n"
        out += row(["phase", "connects", "", "p50", "p90", "p99", "p99.9", "max", ""])
        for phase in ConnectPhaseRecorder.phases {
            guard let p = phases[phase] else { continue }
            let count = result.histogram("connect:\(phase)")?.count ?? 0
            out += row([
                phase, "\(count)", "", ReportFormat.latency(p.p50), ReportFormat.latency(p.p90),
                ReportFormat.latency(p.p99), ReportFormat.latency(p.p999), ReportFormat.latency(p.max), "",
            ])
        }
        return out
    }

    static func renderGenerator(_ g: GeneratorSummary) -> String {
        var out =
            "generator: event-loop delay p99 \(ReportFormat.latency(g.loopDelayP99Us)), max \(ReportFormat.latency(g.loopDelayMaxUs)); "
        out += String(format: "CPU share max %.0f%%", g.cpuShareMax * 100)
        out += g.bound ? "\n" : " (not generator-bound)\n"
        for span in g.spans { out += "  warning: \(span.sentence)\n" }
        return out
    }

    static let columns: [(String, Int)] = [
        ("operation", 10), ("count", 10), ("ops/s", 9), ("p50", 9), ("p90", 9), ("p99", 9), ("p99.9", 9), ("max", 9),
        ("errors", 8),
    ]

    static func row(_ cells: [String]) -> String {
        var line = ""
        for (index, cell) in cells.enumerated() {
            let width = columns[index].1
            line += index == 0 ? ReportFormat.pad(cell, width, right: false) : " " + ReportFormat.pad(cell, width)
        }
        return line + "\n"
    }

    static func renderOperations(_ result: RunResult) -> String {
        var out = row(columns.map(\.0))
        var errorLines: [String] = []
        var serviceLines: [String] = []
        var total: UInt64 = 0
        for name in result.orderedOperations {
            guard let op = result.operations[name] else { continue }
            total += op.count
            let l = op.latencyUs
            out += row([
                name, "\(op.count)", ReportFormat.rate(op.opsPerSecond), ReportFormat.latency(l.p50),
                ReportFormat.latency(l.p90),
                ReportFormat.latency(l.p99), ReportFormat.latency(l.p999), ReportFormat.latency(l.max), "\(op.errors)",
            ])
            if !op.errorsByCode.isEmpty {
                let codes = op.errorsByCode.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }
                errorLines.append("  \(name): " + codes.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            if let s = op.serviceTimeUs {
                serviceLines.append(
                    "  \(name): p50 \(ReportFormat.latency(s.p50)), p90 \(ReportFormat.latency(s.p90)), p99 \(ReportFormat.latency(s.p99)), p99.9 \(ReportFormat.latency(s.p999)), max \(ReportFormat.latency(s.max))"
                )
            }
        }
        let seconds = result.durationSeconds
        out += "total: \(total) operations, \(ReportFormat.rate(seconds > 0 ? Double(total) / seconds : 0)) ops/s\n"
        if !serviceLines.isEmpty {
            out += "open loop: latency above is from the intended start (coordinated-omission corrected); "
            out += "\(result.lateStarts) late start(s); service time (send to reply):\n"
            out += serviceLines.joined(separator: "\n") + "\n"
        }
        if !errorLines.isEmpty {
            out += "errors by code:\n" + errorLines.joined(separator: "\n") + "\n"
        }
        out += renderGroupRates(result)
        return out
    }

    /// Target versus achieved rate of every open-loop group; per-group rows of every operation that
    /// more than one group runs (the table above merges them).
    static func renderGroupRates(_ result: RunResult) -> String {
        guard let groups = result.groupRates, !groups.isEmpty else { return "" }
        var out = ""
        let open = groups.filter { $0.target != nil }
        if !open.isEmpty {
            out += "open-loop rate (target → achieved):\n"
            for group in open {
                let target = group.target ?? 0
                let share = target > 0 ? group.achieved / target * 100 : 0
                out +=
                    "  \(group.group): \(ReportFormat.rate(target)) → \(ReportFormat.rate(group.achieved)) ops/s (\(String(format: "%.1f", share))%)\n"
            }
        }
        var groupsOf: [String: Int] = [:]
        for group in groups { for name in group.operations.keys { groupsOf[name, default: 0] += 1 } }
        let shared = groupsOf.filter { $0.value > 1 }.keys.sorted()
        if !shared.isEmpty {
            out += "by group (operations in more than one group):\n"
            for name in shared {
                for group in groups {
                    guard let op = group.operations[name] else { continue }
                    out +=
                        "  \(ReportFormat.pad(name, 9, right: false)) \(ReportFormat.pad(group.group, 14, right: false)) \(ReportFormat.pad("\(op.count)", 9)) \(ReportFormat.pad(ReportFormat.rate(op.opsPerSecond), 8)) ops/s  p99 \(ReportFormat.latency(op.p99Us))  errors \(op.errors)\n"
                }
            }
        }
        return out
    }

    static func renderWatch(_ result: RunResult) -> String {
        let w = result.watch
        let kinds = result.histograms.keys.filter { $0.hasPrefix("watch_lag:") }.map {
            String($0.dropFirst("watch_lag:".count))
        }.sorted()
        var out = "watch notifications (\(kinds.isEmpty ? "none" : kinds.joined(separator: ", "))"
        if let rearm = result.rearm {
            out += ", re-armed \(rearm == "after-round" ? "after each round" : "immediately")"
        }
        out += "): "
        out +=
            "\(w.notifications) received, \(w.missed) missed, \(w.duplicates) duplicates in \(result.rounds.count) rounds\n"
        let l = w.lagUs
        out +=
            "  lag       p50 \(ReportFormat.latency(l.p50))  p90 \(ReportFormat.latency(l.p90))  p99 \(ReportFormat.latency(l.p99))  "
        out += "p99.9 \(ReportFormat.latency(l.p999))  max \(ReportFormat.latency(l.max))\n"
        let f = w.fanoutUs
        out +=
            "  fan-out   p50 \(ReportFormat.latency(f.p50))  p99 \(ReportFormat.latency(f.p99))  max \(ReportFormat.latency(f.max))  (last watcher per round)\n"
        if let r = w.rearmUs {
            out +=
                "  re-arm    p50 \(ReportFormat.latency(r.p50))  p99 \(ReportFormat.latency(r.p99))  max \(ReportFormat.latency(r.max)); "
            out += "versions missed between firing and re-arming: \(w.versionsMissed)\n"
        }
        let firsts = result.rounds.compactMap(\.firstNanoseconds)
        let medians = result.rounds.compactMap(\.medianNanoseconds)
        if !firsts.isEmpty, !medians.isEmpty {
            let first = firsts.reduce(0, +) / UInt64(firsts.count) / 1000
            let median = medians.reduce(0, +) / UInt64(medians.count) / 1000
            out +=
                "  per round (mean): first watcher \(ReportFormat.latency(first)), median watcher \(ReportFormat.latency(median))\n"
        }
        return out
    }
}
