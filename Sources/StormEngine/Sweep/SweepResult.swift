import Foundation
import StormMetrics

/// Every point of a sweep (each a full run's result, lossless histograms included) and, for a
/// capacity search, the answer and the bracket it was found in. Written by `zkstorm sweep --json`.
public struct SweepResult: Codable, Sendable, Equatable {
    public var schema = 1
    public var kind = "sweep"
    public var sweepId: String
    public var workload: String
    public var parameter: SweepParameter
    public var values: [Double]
    public var logSpaced: Bool
    /// Target labels in the order their points interleave.
    public var targets: [String]
    public var startedAt: String
    public var zkstormVersion: String = PrometheusExposition.zkstormVersion
    public var slos: [String]
    public var points: [SweepPoint] = []
    /// A capacity search's answer, one per target in target order (absent for a plain sweep).
    public var searches: [CapacitySummary]?
    /// Ctrl-C ended the sweep; the points so far are kept.
    public var interrupted: Bool?
    /// A run that could not finish ended the sweep (target unreachable or lost); the points before it are kept.
    public var failure: Failure?

    public struct Failure: Codable, Sendable, Equatable {
        public var message: String
        public var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case message
            case exitCode = "exit_code"
        }
    }

    public struct CapacitySummary: Codable, Sendable, Equatable {
        public var target: String
        /// The highest rate that held every SLO; nil when the lowest tried failed.
        public var highestPassingRate: Double?
        /// The lowest rate that failed; nil when the generator's ceiling held.
        public var lowestFailingRate: Double?
        public var resolution: String
        public var ceiling: Double
        public var steps: [CapacitySearch.Step]

        enum CodingKeys: String, CodingKey {
            case target, resolution, ceiling, steps
            case highestPassingRate = "highest_passing_rate"
            case lowestFailingRate = "lowest_failing_rate"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, kind, workload, parameter, values, targets, slos, points, searches, interrupted, failure
        case sweepId = "sweep_id"
        case logSpaced = "log_spaced"
        case startedAt = "started_at"
        case zkstormVersion = "zkstorm_version"
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The points of one target, in parameter order.
    public func points(of target: String) -> [SweepPoint] {
        points.filter { $0.target == target }.sorted { $0.value < $1.value }
    }
}

/// One run of a sweep: the parameter's value, the target, the run's whole result and its headline figures.
public struct SweepPoint: Codable, Sendable, Equatable {
    public var target: String
    public var value: Double
    public var figures: SweepFigures
    /// The `--slo` verdicts for this point (absent without `--slo`).
    public var slos: [ThresholdResult]?
    public var result: RunResult

    public var passed: Bool { slos?.allSatisfy(\.passed) ?? true }

    public init(target: String, value: Double, result: RunResult, slos: [Threshold]) {
        self.target = target
        self.value = value
        self.result = result
        self.figures = SweepFigures(result)
        self.slos = slos.isEmpty ? nil : slos.evaluate(result)
    }
}

/// What a curve plots from a run: throughput and latency of every request, errors, watch lag.
public struct SweepFigures: Codable, Sendable, Equatable {
    /// Completed requests per second (session churn's connect/close not counted).
    public var throughput: Double
    public var requests: UInt64
    public var errors: UInt64
    public var p50Us: UInt64?
    public var p99Us: UInt64?
    public var lagP50Us: UInt64?
    public var lagP99Us: UInt64?
    /// Write to the last watcher of a round, median over rounds.
    public var fanoutP50Us: UInt64?

    public init(_ result: RunResult) {
        let requests = result.operations.filter { $0.key != "connect" && $0.key != "close" }.map(\.value)
        throughput = requests.map(\.opsPerSecond).reduce(0, +)
        self.requests = requests.map(\.count).reduce(0, +)
        errors = requests.map(\.errors).reduce(0, +)
        let latency = result.mergedHistogram(prefix: "request:")
        p50Us = latency.isEmpty ? nil : latency.value(atPercentile: 50)
        p99Us = latency.isEmpty ? nil : latency.value(atPercentile: 99)
        let lag = result.mergedHistogram(prefix: "watch_lag:")
        lagP50Us = lag.isEmpty ? nil : lag.value(atPercentile: 50)
        lagP99Us = lag.isEmpty ? nil : lag.value(atPercentile: 99)
        let fanout = result.mergedHistogram(prefix: "watch_fanout")
        fanoutP50Us = fanout.isEmpty ? nil : fanout.value(atPercentile: 50)
    }

    enum CodingKeys: String, CodingKey {
        case throughput = "throughput_ops_per_second"
        case requests, errors
        case p50Us = "p50_us"
        case p99Us = "p99_us"
        case lagP50Us = "lag_p50_us"
        case lagP99Us = "lag_p99_us"
        case fanoutP50Us = "fanout_p50_us"
    }
}
