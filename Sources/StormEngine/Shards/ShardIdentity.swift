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

    public init(index: Int, count: Int, runId: String, startUnixNs: UInt64) {
        self.index = index
        self.count = count
        self.runId = runId
        self.startUnixNs = startUnixNs
    }

    enum CodingKeys: String, CodingKey {
        case index, count
        case runId = "run_id"
        case startUnixNs = "start_unix_ns"
    }
}
