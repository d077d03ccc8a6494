/// Which slice of a run one process ran: the result JSON's `shard` section.
public struct ShardIdentity: Codable, Sendable, Equatable {
    /// 0-based index of this shard.
    public var index: Int
    /// How many shards the run had.
    public var count: Int
    /// The run every shard shares (its root on the target).
    public var runId: String
    /// Wall clock when this shard's measurement began, nanoseconds since 1970.
    public var startUnixNs: UInt64
    /// This shard's wall clock minus the writer's (shard 0), ns, estimated through the target
    /// (ShardClock); absent in results written before it was measured.
    public var clockOffsetNs: Int64?
    /// The error bar of `clockOffsetNs`, ns: also the error bar of this shard's watch lags, which are
    /// timed against the writer's wall-clock send stamp (0 for shard 0, which times its own writes).
    public var clockErrorNs: UInt64?
    /// Shards that had not finished when this one left: their ephemeral vanished (the shard died) or
    /// they still ran after `--shard-wait`. Absent when every shard finished.
    public var lost: [Int]?

    public init(
        index: Int,
        count: Int,
        runId: String,
        startUnixNs: UInt64,
        clockOffsetNs: Int64? = nil,
        clockErrorNs: UInt64? = nil,
        lost: [Int]? = nil
    ) {
        self.index = index
        self.count = count
        self.runId = runId
        self.startUnixNs = startUnixNs
        self.clockOffsetNs = clockOffsetNs
        self.clockErrorNs = clockErrorNs
        self.lost = lost
    }

    enum CodingKeys: String, CodingKey {
        case index, count, lost
        case runId = "run_id"
        case startUnixNs = "start_unix_ns"
        case clockOffsetNs = "clock_offset_ns"
        case clockErrorNs = "clock_error_ns"
    }
}
