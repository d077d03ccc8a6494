/// One ZooKeeper server's own statistics, from the `mntr` four-letter word (or `srvr` where `mntr` is
/// not whitelisted), keyed by mntr's names (`zk_avg_latency`, `zk_znode_count`, ...).
public struct ServerStats: Sendable, Equatable {
    /// "host:port" as the scraper reached it; the `server` label.
    public var host: String
    /// Every numeric `zk_*` value, in ZooKeeper's units (latencies in milliseconds).
    public var values: [String: Double]
    /// `zk_server_state`: "standalone", "leader", "follower", "observer", or nil when unknown.
    public var state: String?
    /// `zk_version` without the build suffix, e.g. "3.8.0-abc"; nil when unknown.
    public var version: String?

    public init(host: String, values: [String: Double] = [:], state: String? = nil, version: String? = nil) {
        self.host = host
        self.values = values
        self.state = state
        self.version = version
    }
}
