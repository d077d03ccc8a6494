/// A slow-consumer storm's figures (`watches.stall`): the healthy watchers' lag before and after some
/// watchers stopped reading their socket, and what became of the stalled connections.
public struct SlowConsumerSummary: Codable, Sendable, Equatable {
    public var stalledWatchers: Int
    public var healthyWatchers: Int
    /// The first round the stalled watchers no longer read.
    public var fromRound: Int
    /// When that round began, seconds since measurement began (nil: the run ended before it).
    public var stalledAtS: Double?
    /// getData requests each stalled watcher sent per round, and the size of what each fetched.
    public var readsPerRound: Int
    public var valueBytes: Int
    public var readsSent: Int
    /// Of those, failed (connection lost, timed out): their replies were never read.
    public var readsFailed: Int
    /// The healthy watchers before the stall (baseline rounds) and after it.
    public var before: Lag
    public var after: Lag
    /// Connection losses the stalled sessions saw from the stall to the end of the rounds (nil: the
    /// stall never began).
    public var stalledConnectionsLost: Int?
    /// Connections the server says it closed for not reading, over the same span (`mntr`
    /// `zk_connections_closed_slow`); nil when the server does not report it (ZooKeeper buffers without
    /// bound and has no such limit).
    public var serverClosedSlow: Int?

    /// Lag of the healthy watchers' notifications over some rounds, µs.
    public struct Lag: Codable, Sendable, Equatable {
        public var rounds: Int
        public var notifications: UInt64
        /// Notifications due to healthy watchers that did not arrive within the round's timeout.
        public var missing: Int
        public var p50Us: UInt64?
        public var p99Us: UInt64?
        /// Per-round fan-out (time until the last healthy watcher heard): median and worst round.
        public var fanoutP50Us: UInt64?
        public var fanoutMaxUs: UInt64?

        public init(
            rounds: Int,
            notifications: UInt64,
            missing: Int,
            p50Us: UInt64?,
            p99Us: UInt64?,
            fanoutP50Us: UInt64?,
            fanoutMaxUs: UInt64?
        ) {
            self.rounds = rounds
            self.notifications = notifications
            self.missing = missing
            self.p50Us = p50Us
            self.p99Us = p99Us
            self.fanoutP50Us = fanoutP50Us
            self.fanoutMaxUs = fanoutMaxUs
        }

        enum CodingKeys: String, CodingKey {
            case rounds, notifications, missing
            case p50Us = "p50_us"
            case p99Us = "p99_us"
            case fanoutP50Us = "fanout_p50_us"
            case fanoutMaxUs = "fanout_max_us"
        }
    }

    public init(
        stalledWatchers: Int,
        healthyWatchers: Int,
        fromRound: Int,
        stalledAtS: Double?,
        readsPerRound: Int,
        valueBytes: Int,
        readsSent: Int,
        readsFailed: Int,
        before: Lag,
        after: Lag,
        stalledConnectionsLost: Int?,
        serverClosedSlow: Int?
    ) {
        self.stalledWatchers = stalledWatchers
        self.healthyWatchers = healthyWatchers
        self.fromRound = fromRound
        self.stalledAtS = stalledAtS
        self.readsPerRound = readsPerRound
        self.valueBytes = valueBytes
        self.readsSent = readsSent
        self.readsFailed = readsFailed
        self.before = before
        self.after = after
        self.stalledConnectionsLost = stalledConnectionsLost
        self.serverClosedSlow = serverClosedSlow
    }

    /// The healthy watchers' p99 lag after the stall over before it (nil without both).
    public var p99Ratio: Double? {
        guard let before = before.p99Us, let after = after.p99Us, before > 0 else { return nil }
        return Double(after) / Double(before)
    }

    enum CodingKeys: String, CodingKey {
        case before, after
        case stalledWatchers = "stalled_watchers"
        case healthyWatchers = "healthy_watchers"
        case fromRound = "from_round"
        case stalledAtS = "stalled_at_s"
        case readsPerRound = "reads_per_round"
        case valueBytes = "value_bytes"
        case readsSent = "reads_sent"
        case readsFailed = "reads_failed"
        case stalledConnectionsLost = "stalled_connections_lost"
        case serverClosedSlow = "server_closed_slow"
    }
}
