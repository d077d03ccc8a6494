import Foundation
import StormMetrics

/// A threshold of a workload: the expression, and whether failing it during the run ends the run.
public struct Threshold: Sendable, Equatable {
    public var expression: ThresholdExpression
    /// Evaluated every second during the measurement; a failure ends the run early (still exit 99).
    public var abortOnFail: Bool

    public init(_ expression: ThresholdExpression, abortOnFail: Bool = false) {
        self.expression = expression
        self.abortOnFail = abortOnFail
    }

    public init(parsing text: String, abortOnFail: Bool = false) throws(ThresholdSyntaxError) {
        self.init(try ThresholdExpression(parsing: text), abortOnFail: abortOnFail)
    }
}

/// One threshold's verdict, as the report, the JSON (`thresholds`) and the push carry it.
public struct ThresholdResult: Codable, Sendable, Equatable {
    public var threshold: String
    public var passed: Bool
    /// The figure compared, in the threshold's unit (µs, a fraction, ops/s or a count); nil = no data.
    public var observed: Double?
    /// The figure as the report prints it (`4.21ms`, `0.35%`), or `no data`.
    public var observedText: String
    public var abortOnFail: Bool?
    /// True when this threshold ended the run early.
    public var aborted: Bool?

    enum CodingKeys: String, CodingKey {
        case threshold, passed, observed
        case observedText = "observed_text"
        case abortOnFail = "abort_on_fail"
        case aborted
    }
}

extension ThresholdExpression {
    /// Evaluates against a result; `named` supplies figures reported by name (e.g. `generator.bound`).
    /// A figure the run does not have fails the threshold: a pipeline must not pass on missing data.
    public func evaluate(_ result: RunResult, named: [String: Double] = [:]) -> ThresholdResult {
        var named = named
        if let generator = result.generator, named["generator.bound"] == nil {
            named["generator.bound"] = generator.bound ? 1 : 0
        }
        let observed = figure(result, named: named)
        let passed = observed.map { comparison.holds($0, value.magnitude) } ?? false
        return ThresholdResult(
            threshold: text,
            passed: passed,
            observed: observed,
            observedText: observed.map(format) ?? "no data"
        )
    }

    func figure(_ result: RunResult, named: [String: Double]) -> Double? {
        func histogram(_ prefix: String) -> LatencyHistogram? {
            let merged = result.mergedHistogram(prefix: prefix)
            return merged.isEmpty ? nil : merged
        }
        func operations(_ name: String?) -> [RunResult.OperationSummary] {
            if let name { return result.operations[name].map { [$0] } ?? [] }
            // "Every request": session churn's connect/close are not requests.
            return result.operations.filter { $0.key != "connect" && $0.key != "close" }.map(\.value)
        }
        switch metric {
        case .latency(let operation, let statistic):
            return histogram("request:\(operation.map { $0 + ":" } ?? "")").map(statistic.value(of:))
        case .errors(let operation):
            let summaries = operations(operation)
            guard !summaries.isEmpty else { return nil }
            let errors = Double(summaries.map(\.errors).reduce(0, +))
            let count = Double(summaries.map(\.count).reduce(0, +))
            if case .fraction = value { return count > 0 ? errors / count : nil }
            return errors
        case .rate(let operation, let group):
            if let group { return result.groupRates?.first { $0.group == group }?.achieved }
            let summaries = operations(operation)
            return summaries.isEmpty ? nil : summaries.map(\.opsPerSecond).reduce(0, +)
        case .count(let operation):
            let summaries = operations(operation)
            return summaries.isEmpty ? nil : Double(summaries.map(\.count).reduce(0, +))
        case .watchLag(let statistic):
            return histogram("watch_lag:").map(statistic.value(of:))
        case .watchFanout(let statistic):
            return histogram("watch_fanout").map(statistic.value(of:))
        case .watchRearm(let statistic):
            return histogram("watch_rearm").map(statistic.value(of:))
        case .watchMissed:
            return result.watch.notifications > 0 || !result.rounds.isEmpty ? Double(result.watch.missed) : nil
        case .watchDuplicates:
            return result.watch.notifications > 0 || !result.rounds.isEmpty ? Double(result.watch.duplicates) : nil
        case .named(let name):
            return named[name]
        }
    }

    func format(_ observed: Double) -> String {
        switch value {
        case .microseconds: ReportFormat.latency(UInt64(max(0, observed.rounded())))
        case .fraction: String(format: "%.3g%%", observed * 100)
        case .perSecond: ReportFormat.rate(observed) + "/s"
        case .number: observed == observed.rounded() ? String(Int64(observed)) : String(format: "%.3g", observed)
        }
    }
}

extension Array where Element == Threshold {
    public func evaluate(_ result: RunResult, named: [String: Double] = [:]) -> [ThresholdResult] {
        map { threshold in
            var verdict = threshold.expression.evaluate(result, named: named)
            if threshold.abortOnFail { verdict.abortOnFail = true }
            return verdict
        }
    }
}

/// The pass/fail table in the text report.
public enum ThresholdReport {
    public static func render(_ results: [ThresholdResult]) -> String {
        guard !results.isEmpty else { return "" }
        let passed = results.filter(\.passed).count
        var out = "\nthresholds: \(passed) of \(results.count) passed\(passed == results.count ? "" : " (exit 99)")\n"
        let width = max(24, results.map(\.threshold.count).max() ?? 0)
        for result in results {
            out += "  \(result.passed ? "pass" : "FAIL")  \(ReportFormat.pad(result.threshold, width, right: false))"
            out += "  observed \(result.observedText)"
            if result.aborted == true { out += "  (ended the run)" }
            out += "\n"
        }
        return out
    }
}
