import Foundation
import StormMetrics

/// One pass/fail criterion on a run's figures, k6-style: `get.p99<5ms`, `errors<0.1%`,
/// `watch.lag.p99<50ms`, `watch.missed==0`, `set.rate>=900/s`, `generator.bound==0`.
///
/// Grammar (whitespace ignored):
/// ```
/// threshold  := metric comparison value
/// comparison := "<" | "<=" | ">" | ">=" | "==" | "!="
/// value      := number [ "ns" | "us" | "µs" | "ms" | "s" | "m" | "h" | "%" | "/s" ]
/// metric     := OP "." stat              latency of one operation (OP: get, set, …, connect, close; "requests" = all)
///             | [OP "."] "errors"         error rate (value in %) or error count (plain number)
///             | [OP "."] "rate"           achieved operations per second (OP or "group.NAME")
///             | [OP "."] "count"          operations completed
///             | "watch.lag." stat | "watch.fanout." stat | "watch.rearm." stat
///             | "watch.missed" | "watch.duplicates"
///             | NAMESPACE "." NAME        a figure another part of the run reports (e.g. generator.bound)
/// stat       := "p" number | "max" | "min" | "mean"          e.g. p50, p99, p99.9
/// ```
/// One parser for every consumer: workload `thresholds:`, `--threshold`, and sweeps' SLOs.
public struct ThresholdExpression: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        // Two-character forms first so that "<=" is not read as "<".
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case greater = ">"

        func holds(_ observed: Double, _ limit: Double) -> Bool {
            switch self {
            case .less: observed < limit
            case .lessOrEqual: observed <= limit
            case .greater: observed > limit
            case .greaterOrEqual: observed >= limit
            case .equal: observed == limit
            case .notEqual: observed != limit
            }
        }
    }

    public enum Statistic: Sendable, Equatable {
        case percentile(Double)
        case max, min, mean

        func value(of histogram: LatencyHistogram) -> Double {
            switch self {
            case .percentile(let p): Double(histogram.value(atPercentile: p))
            case .max: Double(histogram.max)
            case .min: Double(histogram.min)
            case .mean: histogram.mean
            }
        }
    }

    public enum Metric: Sendable, Equatable {
        /// Latency of one operation (nil: every request), in µs.
        case latency(operation: String?, Statistic)
        /// Errors of one operation (nil: all): a fraction when the value is in %, else a count.
        case errors(operation: String?)
        /// Achieved operations per second of one operation (nil: all) or of one group (`group.NAME.rate`).
        case rate(operation: String?, group: String?)
        case count(operation: String?)
        case watchLag(Statistic)
        case watchFanout(Statistic)
        case watchRearm(Statistic)
        case watchMissed
        case watchDuplicates
        /// A figure reported by name by another part of the run (`generator.bound`).
        case named(String)
    }

    public enum Value: Sendable, Equatable {
        case microseconds(Double)
        /// A percentage, stored as a fraction (0.1% = 0.001).
        case fraction(Double)
        case perSecond(Double)
        case number(Double)

        var magnitude: Double {
            switch self {
            case .microseconds(let v), .fraction(let v), .perSecond(let v), .number(let v): v
            }
        }
    }

    /// The text as written, without whitespace: the threshold's name in reports, JSON and metrics.
    public var text: String
    public var metric: Metric
    public var comparison: Comparison
    public var value: Value

    public var description: String { text }

    /// Operation names a latency, errors, rate or count metric may start with.
    public static let operations = [
        "get", "exists", "children", "set", "create", "delete", "multi", "sync", "connect", "close", "requests",
    ]
    /// Namespaces of figures other parts of a run report by name.
    public static let namedNamespaces = ["generator"]

    public init(parsing input: String) throws(ThresholdSyntaxError) {
        let text = input.filter { !$0.isWhitespace }
        self.text = text
        guard let (metricText, comparison, valueText) = Self.split(text) else {
            throw ThresholdSyntaxError(
                input,
                "no comparison; write METRIC<VALUE such as get.p99<5ms, errors<0.1% or watch.missed==0"
            )
        }
        self.comparison = comparison
        guard !metricText.isEmpty else { throw ThresholdSyntaxError(input, "no metric before \(comparison.rawValue)") }
        guard !valueText.isEmpty else { throw ThresholdSyntaxError(input, "no value after \(comparison.rawValue)") }
        metric = try Self.parseMetric(metricText, input)
        value = try Self.parseValue(valueText, input)
        try checkUnits(input)
    }

    static func split(_ text: String) -> (String, Comparison, String)? {
        for (index, character) in zip(text.indices, text) where "<>=!".contains(character) {
            let rest = text[index...]
            for comparison in Comparison.allCases where rest.hasPrefix(comparison.rawValue) {
                let valueStart = text.index(index, offsetBy: comparison.rawValue.count)
                return (String(text[..<index]), comparison, String(text[valueStart...]))
            }
            return nil
        }
        return nil
    }

    static func parseStatistic(_ token: String, _ input: String) throws(ThresholdSyntaxError) -> Statistic {
        switch token {
        case "max": return .max
        case "min": return .min
        case "mean", "avg": return .mean
        default:
            if token.hasPrefix("p"), let p = Double(token.dropFirst()), p >= 0, p <= 100 {
                return .percentile(p)
            }
            throw ThresholdSyntaxError(input, "\"\(token)\" is not a statistic; use p50, p99, p99.9, max, min or mean")
        }
    }

    /// Splits on "." but keeps a percentile's decimals together: `get.p99.9` is [get, p99.9].
    static func tokens(_ text: String) -> [String] {
        var result: [String] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            if let last = result.last, last.hasPrefix("p"), Double(last.dropFirst()) != nil, !part.isEmpty,
                part.allSatisfy(\.isNumber)
            {
                result[result.count - 1] = last + "." + part
            } else {
                result.append(part)
            }
        }
        return result
    }

    static func parseMetric(_ text: String, _ input: String) throws(ThresholdSyntaxError) -> Metric {
        let parts = tokens(text)
        func operation(_ name: String) throws(ThresholdSyntaxError) -> String? {
            if name == "requests" { return nil }
            guard operations.contains(name) else {
                throw ThresholdSyntaxError(
                    input,
                    "unknown operation \"\(name)\"\(Spelling.suggestion(for: name, in: operations + ["watch", "errors", "rate"])); metrics: OP.p99, OP.errors, OP.rate, errors, rate, watch.lag.p99, watch.fanout.p99, watch.missed"
                )
            }
            return name
        }
        switch parts.count {
        case 1:
            switch parts[0] {
            case "errors": return .errors(operation: nil)
            case "rate": return .rate(operation: nil, group: nil)
            case "count", "requests": return .count(operation: nil)
            default:
                throw ThresholdSyntaxError(
                    input,
                    "unknown metric \"\(parts[0])\"\(Spelling.suggestion(for: parts[0], in: ["errors", "rate", "count"])); metrics: OP.p99, OP.errors, OP.rate, errors, rate, watch.lag.p99, watch.fanout.p99, watch.missed"
                )
            }
        case 2:
            if parts[0] == "watch" {
                switch parts[1] {
                case "missed": return .watchMissed
                case "duplicates": return .watchDuplicates
                default:
                    throw ThresholdSyntaxError(
                        input,
                        "watch.\(parts[1]): use watch.lag.STAT, watch.fanout.STAT, watch.rearm.STAT, watch.missed or watch.duplicates"
                    )
                }
            }
            if namedNamespaces.contains(parts[0]) { return .named(text) }
            let op = try operation(parts[0])
            switch parts[1] {
            case "errors": return .errors(operation: op)
            case "rate": return .rate(operation: op, group: nil)
            case "count": return .count(operation: op)
            default: return .latency(operation: op, try parseStatistic(parts[1], input))
            }
        case 3 where parts[0] == "watch":
            let statistic = try parseStatistic(parts[2], input)
            switch parts[1] {
            case "lag": return .watchLag(statistic)
            case "fanout", "fan-out": return .watchFanout(statistic)
            case "rearm", "re-arm": return .watchRearm(statistic)
            default: throw ThresholdSyntaxError(input, "watch.\(parts[1]): use watch.lag, watch.fanout or watch.rearm")
            }
        case 3 where parts[0] == "group" && parts[2] == "rate":
            return .rate(operation: nil, group: parts[1])
        default:
            throw ThresholdSyntaxError(
                input,
                "\"\(text)\" is not a metric; e.g. get.p99, errors, set.rate, group.NAME.rate, watch.lag.p99"
            )
        }
    }

    static func parseValue(_ text: String, _ input: String) throws(ThresholdSyntaxError) -> Value {
        if text.hasSuffix("%") {
            guard let number = Double(text.dropLast()), number >= 0 else {
                throw ThresholdSyntaxError(input, "\"\(text)\" is not a percentage such as 0.1%")
            }
            return .fraction(number / 100)
        }
        if text.hasSuffix("/s") {
            guard let number = Double(text.dropLast(2)), number >= 0 else {
                throw ThresholdSyntaxError(input, "\"\(text)\" is not a rate such as 1000/s")
            }
            return .perSecond(number)
        }
        if let number = Double(text) { return .number(number) }
        if let duration = DurationText.parse(text) { return .microseconds(Double(duration.nanoseconds) / 1000) }
        throw ThresholdSyntaxError(input, "\"\(text)\" is not a value; write 5ms, 0.1%, 1000/s or a number")
    }

    private func checkUnits(_ input: String) throws(ThresholdSyntaxError) {
        switch (metric, value) {
        case (.latency, .microseconds), (.watchLag, .microseconds), (.watchFanout, .microseconds),
            (.watchRearm, .microseconds):
            return
        case (.latency, _), (.watchLag, _), (.watchFanout, _), (.watchRearm, _):
            throw ThresholdSyntaxError(input, "a latency needs a duration such as 5ms or 250us")
        case (.errors, .fraction), (.errors, .number): return
        case (.errors, _): throw ThresholdSyntaxError(input, "errors take a percentage (0.1%) or a count (0)")
        case (.rate, .perSecond), (.rate, .number): return
        case (.rate, _): throw ThresholdSyntaxError(input, "a rate takes operations per second such as 1000/s")
        case (.count, .number), (.watchMissed, .number), (.watchDuplicates, .number): return
        case (.count, _), (.watchMissed, _), (.watchDuplicates, _):
            throw ThresholdSyntaxError(input, "a count takes a plain number such as 0")
        case (.named, .number), (.named, .fraction): return
        case (.named, _): throw ThresholdSyntaxError(input, "\(text) takes a number or a percentage")
        }
    }
}

/// A threshold that cannot be parsed, naming the text and what is allowed.
public struct ThresholdSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var input: String
    public var message: String

    public init(_ input: String, _ message: String) {
        self.input = input
        self.message = message
    }

    public var description: String { "threshold \"\(input)\": \(message)" }
}
