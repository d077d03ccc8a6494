extension RunResult {
    /// The reconnect herd's figures (`herd:`), one group per reconnect policy.
    public struct HerdSummary: Codable, Sendable, Equatable {
        /// Znodes each cache follows, and the writer's rate of changes to them.
        public var znodes: Int
        public var writesPerSecond: Double
        /// The first fault, seconds since measurement began (nil: a run without faults).
        public var faultAtS: Double?
        /// The resolution of `reads_per_s` (seconds per point).
        public var bucketS: Double
        public var groups: [HerdGroup]

        enum CodingKeys: String, CodingKey {
            case znodes, groups
            case writesPerSecond = "writes_per_s"
            case faultAtS = "fault_at_s"
            case bucketS = "bucket_s"
        }
    }

    /// One share of the herd's sessions, all reconnecting with `policy`.
    public struct HerdGroup: Codable, Sendable, Equatable {
        public var policy: String
        public var sessions: Int
        /// The caches' reads per second before the fault (over the whole run without one).
        public var steadyReadsPerSecond: Double?
        /// The highest read rate after the fault (over `bucket_s`).
        public var peakReadsPerSecond: Double?
        /// Peak ÷ steady: kazoo #664 saw 40–50×.
        public var amplification: Double?
        /// From the fault until the read rate stayed under twice the steady one.
        public var drainSeconds: Double?
        /// Reads beyond the steady rate until drained.
        public var extraReads: Int?
        /// Caches that read their tree again after reconnecting, and when the last one finished
        /// (seconds after the fault).
        public var reread: Int?
        public var lastRereadSeconds: Double?
        /// Write sent → the cache holding the new data, before the fault (or all run) and after it.
        public var lagUs: Percentiles?
        public var lagAfterFaultUs: Percentiles?
        /// Reads per second, one point per `bucket_s` since measurement began.
        public var readsPerSecond: [Double]

        public init(policy: String, sessions: Int, readsPerSecond: [Double]) {
            self.policy = policy
            self.sessions = sessions
            self.readsPerSecond = readsPerSecond
        }

        enum CodingKeys: String, CodingKey {
            case policy, sessions, amplification, reread
            case steadyReadsPerSecond = "steady_reads_per_s"
            case peakReadsPerSecond = "peak_reads_per_s"
            case drainSeconds = "drain_s"
            case extraReads = "extra_reads"
            case lastRereadSeconds = "last_reread_s"
            case lagUs = "lag_us"
            case lagAfterFaultUs = "lag_after_fault_us"
            case readsPerSecond = "reads_per_s"
        }
    }
}
