import Foundation
import StormMetrics
import ZooKeeperProtocol

/// The result file (`--json`), schema 1. Every report (text, HTML, comparison) renders from this
/// value alone, so `zkstorm report RESULT.json` shows exactly what the run showed. `histograms` holds
/// every distribution losslessly (`LatencyHistogram.encoded()`), so results of many workers merge.
public struct RunResult: Codable, Sendable, Equatable {
    public var schema: Int = 1
    public var runId: String
    public var workload: String
    public var target: String
    /// ISO 8601 UTC wall-clock time when measurement began.
    public var startedAt: String
    public var durationSeconds: Double
    public var seed: UInt64
    public var operations: [String: OperationSummary]
    public var watch: WatchSummary
    public var sessions: SessionSummary
    /// Open loop: starts sent more than 1 ms after their intended time.
    public var lateStarts: UInt64
    public var timeline: [TimelinePoint]
    public var rounds: [StormRoundSummary]
    /// `request:<op>:<result>`, `service:<op>`, `watch_lag:<kind>`, `watch_fanout`, `watch_rearm`.
    public var histograms: [String: String]
    /// Connection losses, reconnects, expirations, errors per interval, watch accounting (absent in
    /// results written before it existed).
    public var failover: FailoverSummary?
    /// The zkstorm that wrote this result (absent in results written before it was recorded).
    public var zkstormVersion: String?
    /// True when a signal ended the run early: the figures cover only what ran.
    public var interrupted: Bool?
    /// The target went away during the run (the figures cover what ran until then).
    public var targetLost: TargetLost?
    /// The workload as it ran, after presets, flags and environment, as YAML (`zkstorm run --dry-run`'s form).
    public var effectiveWorkload: String?
    /// Where each stage began (seconds since measurement began) and what it asked; absent without stages.
    public var stages: [StageMark]?
    /// The workload's faults as they fired, each with what it cost (FaultMark.swift); absent without.
    public var faults: [FaultMark]?
    /// The reconnect herd's figures (HerdSummary.swift); absent without `herd:`.
    public var herd: HerdSummary?
    /// Slow consumers (SlowConsumerSummary.swift); absent without `watches.stall`.
    public var slowConsumers: SlowConsumerSummary?
    /// Limits the run suspects capped it (ThrottleFinding.swift); absent when none.
    public var throttles: [ThrottleFinding]?

    public struct StageMark: Codable, Sendable, Equatable {
        public var startS: Double
        public var label: String

        public init(startS: Double, label: String) {
            self.startS = startS
            self.label = label
        }

        enum CodingKeys: String, CodingKey {
            case label
            case startS = "start_s"
        }
    }

    /// Every threshold's verdict (absent when the run had none).
    public var thresholds: [ThresholdResult]?
    /// Per operation group: target versus achieved rate, and per-operation figures of the group.
    public var groupRates: [GroupRate]?

    /// One operation group's load: what an open loop asked for and what it got (wrk2/YCSB's question).
    public struct GroupRate: Codable, Sendable, Equatable {
        public var group: String
        /// "open" or "closed".
        public var model: String
        /// Open loop: the rate asked for (ops/s); nil for a closed loop.
        public var target: Double?
        public var achieved: Double
        public var operations: [String: GroupOperation]

        public struct GroupOperation: Codable, Sendable, Equatable {
            public var count: UInt64
            public var errors: UInt64
            public var opsPerSecond: Double
            public var p99Us: UInt64

            enum CodingKeys: String, CodingKey {
                case count, errors
                case opsPerSecond = "ops_per_second"
                case p99Us = "p99_us"
            }
        }

        enum CodingKeys: String, CodingKey {
            case group, model, operations
            case target = "target_ops_per_second"
            case achieved = "achieved_ops_per_second"
        }
    }

    public struct TargetLost: Codable, Sendable, Equatable {
        /// Seconds since measurement began when the last session lost its connection.
        public var atSeconds: Double
        /// The run root that could not be removed (`zkstorm clean` removes it later).
        public var rootLeft: String?

        public init(atSeconds: Double, rootLeft: String? = nil) {
            self.atSeconds = atSeconds
            self.rootLeft = rootLeft
        }

        enum CodingKeys: String, CodingKey {
            case atSeconds = "at_s"
            case rootLeft = "root_left"
        }
    }

    /// Connect time by phase (`tcp`, `tls`, `handshake`, `sasl`, `total`) over every connect of the run,
    /// first connects and reconnects; the lossless forms are `histograms["connect:<phase>"]`. Absent in
    /// results written before it existed.
    public var connectPhasesUs: [String: Percentiles]?
    /// How the run reached its target ("TLS (CA ca.pem), SASL DIGEST-MD5 as bob"); absent when plaintext.
    public var security: String?
    /// One-shot storms: when watchers re-armed (`immediate` or `after-round`).
    public var rearm: String?
    /// How sessions waited before reconnecting ("immediate", "jitter base 50ms max 2s"); absent in
    /// results of versions before it was recorded.
    public var reconnect: String?
    /// The generator's view of itself: stretches whose figures are generator-bound.
    public var generator: GeneratorSummary?
    /// The slice of a sharded run this result covers (absent for a run of one process).
    public var shard: ShardIdentity?
    /// `zkstorm report --merge`: the results this one joins, one row per shard (absent otherwise).
    public var merged: MergedShards?

    /// True when some figures are generator-bound (a threshold can fail the run on it).
    public var generatorBound: Bool { generator?.bound ?? false }

    enum CodingKeys: String, CodingKey {
        case schema, workload, target, operations, watch, sessions, timeline, rounds, histograms, seed, failover
        case interrupted
        case zkstormVersion = "zkstorm_version"
        case targetLost = "target_lost"
        case effectiveWorkload = "effective_workload"
        case thresholds, stages, faults, herd
        case slowConsumers = "slow_consumers"
        case throttles
        case groupRates = "group_rates"
        case security
        case connectPhasesUs = "connect_phases_us"
        case rearm, reconnect, generator, shard, merged
        case runId = "run_id"
        case startedAt = "started_at"
        case durationSeconds = "duration_s"
        case lateStarts = "late_starts"
    }

    public struct Percentiles: Codable, Sendable, Equatable {
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
        public var max: UInt64

        public init(_ histogram: LatencyHistogram) {
            p50 = histogram.value(atPercentile: 50)
            p90 = histogram.value(atPercentile: 90)
            p99 = histogram.value(atPercentile: 99)
            p999 = histogram.value(atPercentile: 99.9)
            max = histogram.max
        }
    }

    public struct FanoutPercentiles: Codable, Sendable, Equatable {
        public var p50: UInt64
        public var p99: UInt64
        public var max: UInt64

        public init(_ histogram: LatencyHistogram) {
            p50 = histogram.value(atPercentile: 50)
            p99 = histogram.value(atPercentile: 99)
            max = histogram.max
        }
    }

    public struct OperationSummary: Codable, Sendable, Equatable {
        public var count: UInt64
        public var errors: UInt64
        public var errorsByCode: [String: UInt64]
        public var opsPerSecond: Double
        public var latencyUs: Percentiles
        /// Open loop only: send-to-reply time (intended-start latency is `latency_us`).
        public var serviceTimeUs: Percentiles?

        enum CodingKeys: String, CodingKey {
            case count, errors
            case errorsByCode = "errors_by_code"
            case opsPerSecond = "ops_per_second"
            case latencyUs = "latency_us"
            case serviceTimeUs = "service_time_us"
        }
    }

    public struct WatchSummary: Codable, Sendable, Equatable {
        public var notifications: UInt64
        public var missed: UInt64
        public var duplicates: UInt64
        public var lagUs: Percentiles
        public var fanoutUs: FanoutPercentiles
        public var rearmUs: Percentiles?
        public var versionsMissed: UInt64

        enum CodingKeys: String, CodingKey {
            case notifications, missed, duplicates
            case lagUs = "lag_us"
            case fanoutUs = "fanout_us"
            case rearmUs = "rearm_us"
            case versionsMissed = "versions_missed"
        }
    }

    public struct SessionSummary: Codable, Sendable, Equatable {
        public var connected: Int
        public var reconnects: UInt64
        public var expired: UInt64

        public init(connected: Int, reconnects: UInt64, expired: UInt64) {
            self.connected = connected
            self.reconnects = reconnects
            self.expired = expired
        }
    }

    /// One interval (1 s) of the measurement.
    public struct TimelinePoint: Codable, Sendable, Equatable {
        /// Seconds since measurement began, at the end of the interval.
        public var t: Double
        public var ops: UInt64
        public var errors: UInt64
        public var p99Us: UInt64
        public var watchLagP99Us: UInt64?
        /// Length of the interval in seconds: the last one of a run is usually shorter than 1 s, and
        /// charts plot `ops / interval_s`, never the raw count (absent in older results: 1 s).
        public var intervalS: Double?

        enum CodingKeys: String, CodingKey {
            case t, ops, errors
            case p99Us = "p99_us"
            case watchLagP99Us = "watch_lag_p99_us"
            case intervalS = "interval_s"
        }

        public init(
            t: Double,
            ops: UInt64,
            errors: UInt64,
            p99Us: UInt64,
            watchLagP99Us: UInt64?,
            intervalS: Double? = nil
        ) {
            self.t = t
            self.ops = ops
            self.errors = errors
            self.p99Us = p99Us
            self.watchLagP99Us = watchLagP99Us
            self.intervalS = intervalS
        }

        /// Operations per second over this interval.
        public var rate: Double { Double(ops) / max(intervalS ?? 1, 0.001) }

        /// An interval too short to stand for a rate or a percentile on a chart (the run's tail).
        public var isPartial: Bool { (intervalS ?? 1) < 0.5 }
    }
}

extension RunResult.GroupRate {
    /// A group's figures from what its sessions recorded during the measurement.
    public init(group: OperationGroup, recorded: RecordedInterval, durationSeconds: Double) {
        self.group = group.name
        switch group.load {
        case .open(let rate, _, _):
            model = "open"
            target = rate
        case .closed:
            model = "closed"
            target = nil
        }
        var operations: [String: GroupOperation] = [:]
        var total: UInt64 = 0
        for operation in recorded.operations {
            let latency = recorded.latency(of: operation)
            let errors = recorded.requests.filter { $0.key.operation == operation && $0.key.code != .ok }
                .reduce(0) { $0 + $1.value.count }
            total += latency.count
            operations[operation.name] = GroupOperation(
                count: latency.count,
                errors: errors,
                opsPerSecond: durationSeconds > 0 ? Double(latency.count) / durationSeconds : 0,
                p99Us: latency.value(atPercentile: 99)
            )
        }
        self.operations = operations
        achieved = durationSeconds > 0 ? Double(total) / durationSeconds : 0
    }
}

extension RunResult {
    /// Builds the result of a run from everything it recorded.
    public init(
        runId: String,
        workload: String,
        target: String,
        startedAt: Date,
        durationSeconds: Double,
        seed: UInt64,
        recorded: RecordedInterval,
        sessions: SessionSummary,
        timeline: [TimelinePoint]
    ) {
        self.runId = runId
        self.workload = workload
        self.target = target
        self.startedAt = Self.iso8601(startedAt)
        self.durationSeconds = durationSeconds
        self.seed = seed
        self.sessions = sessions
        self.timeline = timeline
        self.rounds = recorded.stormRounds
        self.lateStarts = recorded.lateStarts
        var operations: [String: OperationSummary] = [:]
        var histograms: [String: String] = [:]
        for operation in recorded.operations {
            let latency = recorded.latency(of: operation)
            var errorsByCode: [String: UInt64] = [:]
            for (key, histogram) in recorded.requests where key.operation == operation {
                histograms["request:\(operation.name):\(key.resultName)"] = histogram.encoded()
                if key.code != .ok { errorsByCode[key.resultName, default: 0] += histogram.count }
            }
            let service = recorded.serviceTime[operation]
            if let service { histograms["service:\(operation.name)"] = service.encoded() }
            operations[operation.name] = OperationSummary(
                count: latency.count,
                errors: errorsByCode.values.reduce(0, +),
                errorsByCode: errorsByCode,
                opsPerSecond: durationSeconds > 0 ? Double(latency.count) / durationSeconds : 0,
                latencyUs: Percentiles(latency),
                serviceTimeUs: service.map(Percentiles.init)
            )
        }
        self.operations = operations
        for (kind, histogram) in recorded.watchLag { histograms["watch_lag:\(kind.rawValue)"] = histogram.encoded() }
        if !recorded.watchFanout.isEmpty { histograms["watch_fanout"] = recorded.watchFanout.encoded() }
        if !recorded.watchRearm.isEmpty { histograms["watch_rearm"] = recorded.watchRearm.encoded() }
        self.histograms = histograms
        self.watch = WatchSummary(
            notifications: recorded.watchEvents.values.reduce(0, +),
            missed: recorded.watchMissed,
            duplicates: recorded.watchDuplicates,
            lagUs: Percentiles(recorded.allWatchLag),
            fanoutUs: FanoutPercentiles(recorded.watchFanout),
            rearmUs: recorded.watchRearm.isEmpty ? nil : Percentiles(recorded.watchRearm),
            versionsMissed: recorded.versionsMissed
        )
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Adds the connect-phase histograms (as `connect:<phase>`) and their percentiles.
    public mutating func addConnectPhases(_ phases: [String: LatencyHistogram]) {
        guard !phases.isEmpty else { return }
        var summary: [String: Percentiles] = [:]
        for (phase, histogram) in phases where !histogram.isEmpty {
            histograms["connect:\(phase)"] = histogram.encoded()
            summary[phase] = Percentiles(histogram)
        }
        connectPhasesUs = summary
    }

    /// Decodes one of `histograms`; nil when absent or unreadable.
    public func histogram(_ key: String) -> LatencyHistogram? {
        guard let text = histograms[key] else { return nil }
        return try? LatencyHistogram(encoded: text)
    }

    /// Every histogram whose key starts with `prefix`, merged (e.g. `request:get:` for all results).
    public func mergedHistogram(prefix: String) -> LatencyHistogram {
        var merged = LatencyHistogram()
        for key in histograms.keys where key.hasPrefix(prefix) {
            if let histogram = histogram(key) { merged.merge(histogram) }
        }
        return merged
    }

    /// Operations in a stable, readable order (the engine's order, then any others by name).
    public var orderedOperations: [String] {
        operations.keys.sorted { a, b in
            let ia = RecordedOperation(name: a)?.rawValue ?? UInt8.max
            let ib = RecordedOperation(name: b)?.rawValue ?? UInt8.max
            return ia == ib ? a < b : ia < ib
        }
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func load(path: String) throws -> RunResult {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let result = try JSONDecoder().decode(RunResult.self, from: data)
        guard result.schema == 1 else {
            throw RunResultError(
                message: "\(path): result schema \(result.schema) is not supported; this zkstorm reads schema 1"
            )
        }
        return result
    }
}

public struct RunResultError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
