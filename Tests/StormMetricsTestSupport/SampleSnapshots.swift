import StormMetrics

/// Snapshots shaped like a real run's, for exposition, push and dashboard tests.
public enum SampleSnapshots {
    public static func histogram(_ microseconds: [UInt64], repeating: Int = 1) -> LatencyHistogram {
        var histogram = LatencyHistogram()
        for _ in 0..<repeating {
            for value in microseconds { histogram.record(microseconds: value) }
        }
        return histogram
    }

    /// A mixed workload with watches, errors and two scraped servers; `scale` multiplies every count,
    /// so two snapshots pushed one after another give counters that grow.
    public static func realistic(
        scale: Int = 1,
        instance: String = "worker-1",
        run: String = "run-42"
    ) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot(runId: run, instance: instance, workload: "mixed", target: "127.0.0.1:2181")
        snapshot.requests[.init(op: "get", result: "ok")] = histogram(
            [80, 95, 120, 150, 210, 400, 1_200, 9_000],
            repeating: 50 * scale
        )
        snapshot.requests[.init(op: "set", result: "ok")] = histogram(
            [300, 450, 700, 1_100, 2_500, 30_000],
            repeating: 20 * scale
        )
        snapshot.requests[.init(op: "create", result: "NODEEXISTS")] = histogram([200, 260], repeating: 3 * scale)
        snapshot.requests[.init(op: "delete", result: "NONODE")] = histogram([150], repeating: 2 * scale)
        snapshot.watchLag["data"] = histogram([400, 600, 900, 1_500, 4_000], repeating: 30 * scale)
        snapshot.watchLag["child"] = histogram([500, 800, 2_000], repeating: 10 * scale)
        snapshot.watchFanout = histogram([4_000, 6_500, 12_000], repeating: 4 * scale)
        snapshot.connectPhases = [
            "tcp": histogram([300, 900], repeating: scale), "tls": histogram([4_000, 9_000], repeating: scale),
            "handshake": histogram([1_200, 2_500], repeating: scale),
            "total": histogram([6_000, 13_000], repeating: scale),
        ]
        snapshot.watchEvents = ["data": UInt64(150 * scale), "child": UInt64(30 * scale)]
        snapshot.watchMissed = UInt64(scale)
        snapshot.sessions = 64
        snapshot.reconnects = UInt64(2 * scale)
        snapshot.sessionExpirations = UInt64(scale)
        snapshot.outstandingRequests = 17
        snapshot.servers = [
            ServerStats(
                host: "127.0.0.1:2181",
                values: [
                    "zk_avg_latency": 0.4, "zk_min_latency": 0, "zk_max_latency": 12, "zk_outstanding_requests": 3,
                    "zk_num_alive_connections": 64, "zk_znode_count": 1_005, "zk_watch_count": 640,
                    "zk_ephemerals_count": 64, "zk_approximate_data_size": 120_000,
                    "zk_packets_received": Double(9_000 * scale), "zk_packets_sent": Double(9_100 * scale),
                    "zk_followers": 2, "zk_synced_followers": 2, "zk_open_file_descriptor_count": 90,
                ],
                state: "leader",
                version: "3.8.0"
            ),
            ServerStats(
                host: "127.0.0.2:2181",
                values: ["zk_avg_latency": 0.6, "zk_num_alive_connections": 10, "zk_znode_count": 1_005],
                state: "follower",
                version: "3.8.0"
            ),
        ]
        return snapshot
    }
}
