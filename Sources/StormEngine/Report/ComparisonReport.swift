import Foundation
import StormMetrics

/// Two results side by side: `zkstorm report A.json --compare B.json`. Ratios are B / A.
public enum ComparisonReport {
    public static func render(_ a: RunResult, _ b: RunResult) -> String {
        var out = "A: \(a.runId) \(a.workload) on \(a.target), \(String(format: "%.1f", a.durationSeconds)) s\n"
        out += "B: \(b.runId) \(b.workload) on \(b.target), \(String(format: "%.1f", b.durationSeconds)) s\n"
        out += "ratios are B / A (below 1.00 means B is lower)\n\n"
        out += line(["operation", "metric", "A", "B", "B/A"])
        let names = Set(a.operations.keys).union(b.operations.keys).sorted {
            (RecordedOperation(name: $0)?.rawValue ?? .max, $0) < (RecordedOperation(name: $1)?.rawValue ?? .max, $1)
        }
        for name in names {
            let oa = a.operations[name]
            let ob = b.operations[name]
            out += line([
                name, "ops/s", oa.map { ReportFormat.rate($0.opsPerSecond) } ?? missing,
                ob.map { ReportFormat.rate($0.opsPerSecond) } ?? missing, ratio(oa?.opsPerSecond, ob?.opsPerSecond),
            ])
            for (label, path) in [
                ("p50", \RunResult.Percentiles.p50), ("p99", \.p99), ("p99.9", \.p999), ("max", \.max),
            ] {
                let va = oa?.latencyUs[keyPath: path]
                let vb = ob?.latencyUs[keyPath: path]
                out += line([
                    "", label, va.map(ReportFormat.latency) ?? missing, vb.map(ReportFormat.latency) ?? missing,
                    ratio(va.map(Double.init), vb.map(Double.init)),
                ])
            }
            out += line(["", "errors", oa.map { "\($0.errors)" } ?? missing, ob.map { "\($0.errors)" } ?? missing, ""])
        }
        if a.watch.notifications > 0 || b.watch.notifications > 0 {
            // A run without watch notifications has no lag figures: "–", never 0µs.
            let wa = a.watch.notifications > 0 ? a.watch : nil
            let wb = b.watch.notifications > 0 ? b.watch : nil
            let fa = a.rounds.isEmpty ? nil : wa
            let fb = b.rounds.isEmpty ? nil : wb
            for (label, va, vb) in [
                ("lag p50", wa?.lagUs.p50, wb?.lagUs.p50), ("lag p99", wa?.lagUs.p99, wb?.lagUs.p99),
                ("lag max", wa?.lagUs.max, wb?.lagUs.max),
                ("fan-out p99", fa?.fanoutUs.p99, fb?.fanoutUs.p99),
            ] {
                out += line([
                    "watch", label, va.map(ReportFormat.latency) ?? missing, vb.map(ReportFormat.latency) ?? missing,
                    ratio(va.map(Double.init), vb.map(Double.init)),
                ])
            }
            out += line([
                "watch", "missed", wa.map { "\($0.missed)" } ?? missing, wb.map { "\($0.missed)" } ?? missing, "",
            ])
        }
        let pa = a.connectPhasesUs ?? [:]
        let pb = b.connectPhasesUs ?? [:]
        for phase in ConnectPhaseRecorder.phases where pa[phase] != nil || pb[phase] != nil {
            for (label, path) in [("p50", \RunResult.Percentiles.p50), ("p99", \.p99)] {
                let va = pa[phase]?[keyPath: path]
                let vb = pb[phase]?[keyPath: path]
                out += line([
                    "connect", "\(phase) \(label)", va.map(ReportFormat.latency) ?? missing,
                    vb.map(ReportFormat.latency) ?? missing, ratio(va.map(Double.init), vb.map(Double.init)),
                ])
            }
        }
        return out
    }

    /// What a cell shows for a figure one run does not have.
    static let missing = "–"

    static func ratio(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, a > 0 else { return missing }
        return String(format: "%.2f", b / a)
    }

    static func line(_ cells: [String]) -> String {
        let widths = [10, 12, 11, 11, 6]
        var out = ""
        for (index, cell) in cells.enumerated() {
            out +=
                index < 2
                ? ReportFormat.pad(cell, widths[index], right: false) : " " + ReportFormat.pad(cell, widths[index])
        }
        return out + "\n"
    }
}
