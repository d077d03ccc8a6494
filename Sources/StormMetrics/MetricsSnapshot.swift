/// Everything a run has measured so far, cumulative since the run started.
///
/// The engine fills one at each interval and hands it to `MetricsPusher.update(_:)`; the metrics side
/// renders it (`PrometheusExposition`) off the caller's task. A value type with copy-on-write storage,
/// so handing it over copies nothing.
public struct MetricsSnapshot: Sendable {
    public struct RequestKey: Hashable, Sendable {
        public var op: String
        /// "ok", or the error name, e.g. "NONODE".
        public var result: String

        public init(op: String, result: String) {
            self.op = op
            self.result = result
        }
    }

    public var runId: String
    public var instance: String
    public var workload: String
    public var target: String
    /// Latency per operation and result; the request count is `histogram.count`.
    public var requests: [RequestKey: LatencyHistogram] = [:]
    /// Notification lag per watch_type ("data", "exist", "child", "persistent", "recursive").
    public var watchLag: [String: LatencyHistogram] = [:]
    /// Per storm round: the last watcher's lag.
    public var watchFanout = LatencyHistogram()
    /// Connect time per phase ("tcp", "tls", "handshake", "sasl", "total"), over every connect so far.
    public var connectPhases: [String: LatencyHistogram] = [:]
    /// Notifications received, by watch_type.
    public var watchEvents: [String: UInt64] = [:]
    public var watchMissed: UInt64 = 0
    /// Sessions currently connected.
    public var sessions: Int = 0
    public var reconnects: UInt64 = 0
    public var sessionExpirations: UInt64 = 0
    public var outstandingRequests: Int = 0
    /// Server-side statistics (mntr, or srvr), one per target host.
    public var servers: [ServerStats] = []
    /// Threshold verdicts (final push): name → (passed, observed figure or nil for no data).
    public var thresholds: [ThresholdGauge] = []
    /// Per operation group: the open loop's target rate (nil for a closed loop) and the achieved rate.
    public var groupRates: [GroupRateGauge] = []

    public struct ThresholdGauge: Sendable, Equatable {
        public var threshold: String
        public var passed: Bool
        public var observed: Double?

        public init(threshold: String, passed: Bool, observed: Double?) {
            self.threshold = threshold
            self.passed = passed
            self.observed = observed
        }
    }

    public struct GroupRateGauge: Sendable, Equatable {
        public var group: String
        public var target: Double?
        public var achieved: Double

        public init(group: String, target: Double?, achieved: Double) {
            self.group = group
            self.target = target
            self.achieved = achieved
        }
    }

    /// The generator's view of itself (nil when not monitored).
    public var generator: GeneratorStatus?

    public struct GeneratorStatus: Sendable, Equatable {
        public var bound: Bool
        public var loopDelayP99Seconds: Double
        public var cpuShare: Double

        public init(bound: Bool, loopDelayP99Seconds: Double, cpuShare: Double) {
            self.bound = bound
            self.loopDelayP99Seconds = loopDelayP99Seconds
            self.cpuShare = cpuShare
        }
    }

    public init(runId: String, instance: String, workload: String, target: String) {
        self.runId = runId
        self.instance = instance
        self.workload = workload
        self.target = target
    }
}
