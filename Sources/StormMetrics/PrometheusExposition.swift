/// Renders a `MetricsSnapshot` in the Prometheus text exposition format 0.0.4.
///
/// Base units (seconds, bytes), HELP and TYPE for every family, labels escaped, no timestamps (the
/// Pushgateway and Prometheus stamp samples themselves). The `instance` and `run` labels are not in the
/// body: they come from the push's grouping key, so every series of one run shares them.
public enum PrometheusExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Reported as `zkstorm_run_info{version}`.
    public static let zkstormVersion = "0.1.0"

    /// Upper bounds (µs) of `zkstorm_request_duration_seconds` and the other latency histograms:
    /// 1–2.5–5 per decade from 25 µs to 10 s. Fixed, so buckets from every instance and run add up.
    public static let bucketBoundsMicroseconds: [UInt64] = [
        25, 50, 100, 250, 500,
        1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000,
    ]
    /// The summary's quantiles, read from the HDR histogram (percentile 0...100 and its label).
    public static let summaryQuantiles: [(percentile: Double, label: String)] = [
        (50, "0.5"), (90, "0.9"), (99, "0.99"), (99.9, "0.999"),
    ]

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var out = ExpositionWriter()
        renderRequests(snapshot, into: &out)
        renderWatches(snapshot, into: &out)
        renderConnectPhases(snapshot, into: &out)
        renderSessions(snapshot, into: &out)
        renderServers(snapshot.servers, into: &out)
        renderVerdicts(snapshot, into: &out)
        out.family("zkstorm_run_info", type: "gauge", help: "Constant 1; labels describe the run.")
        out.sample(
            "zkstorm_run_info",
            [("workload", snapshot.workload), ("target", snapshot.target), ("version", zkstormVersion)],
            1
        )
        return out.text
    }

    // MARK: - Families

    private static func renderVerdicts(_ snapshot: MetricsSnapshot, into out: inout ExpositionWriter) {
        if !snapshot.groupRates.isEmpty {
            out.family(
                "zkstorm_group_target_ops_per_second",
                type: "gauge",
                help: "Rate an open-loop operation group asked for."
            )
            for rate in snapshot.groupRates {
                if let target = rate.target {
                    out.sample("zkstorm_group_target_ops_per_second", [("group", rate.group)], target)
                }
            }
            out.family(
                "zkstorm_group_achieved_ops_per_second",
                type: "gauge",
                help: "Operations per second an operation group completed."
            )
            for rate in snapshot.groupRates {
                out.sample("zkstorm_group_achieved_ops_per_second", [("group", rate.group)], rate.achieved)
            }
        }
        guard !snapshot.thresholds.isEmpty else { return }
        out.family(
            "zkstorm_threshold_passed",
            type: "gauge",
            help: "1 when the threshold held at the end of the run, else 0."
        )
        for threshold in snapshot.thresholds {
            out.sample("zkstorm_threshold_passed", [("threshold", threshold.threshold)], threshold.passed ? 1 : 0)
        }
        out.family(
            "zkstorm_threshold_observed",
            type: "gauge",
            help: "The figure a threshold compared, in its unit (microseconds, fraction, ops/s or count)."
        )
        for threshold in snapshot.thresholds {
            if let observed = threshold.observed {
                out.sample("zkstorm_threshold_observed", [("threshold", threshold.threshold)], observed)
            }
        }
    }

    private static func renderRequests(_ snapshot: MetricsSnapshot, into out: inout ExpositionWriter) {
        let keys = snapshot.requests.keys.sorted { ($0.op, $0.result) < ($1.op, $1.result) }
        // One pass over each histogram serves its counter, buckets and quantiles.
        let distributions = keys.map { ExpositionWriter.distribution(of: snapshot.requests[$0]!) }
        out.family(
            "zkstorm_requests_total",
            type: "counter",
            help: "Requests completed, by operation and result (ok or error name)."
        )
        for (key, distribution) in zip(keys, distributions) {
            out.sample("zkstorm_requests_total", [("op", key.op), ("result", key.result)], count: distribution.count)
        }
        out.family("zkstorm_request_duration_seconds", type: "histogram", help: "Request latency from send to reply.")
        for (key, distribution) in zip(keys, distributions) {
            out.histogram("zkstorm_request_duration_seconds", [("op", key.op), ("result", key.result)], distribution)
        }
        out.family(
            "zkstorm_request_latency_seconds",
            type: "summary",
            help: "Request latency quantiles since the run started, exact to 3 digits (HdrHistogram)."
        )
        for (key, distribution) in zip(keys, distributions) {
            out.summary("zkstorm_request_latency_seconds", [("op", key.op), ("result", key.result)], distribution)
        }
    }

    private static func renderWatches(_ snapshot: MetricsSnapshot, into out: inout ExpositionWriter) {
        out.family(
            "zkstorm_watch_notification_lag_seconds",
            type: "histogram",
            help: "Time from the triggering write's send to each watcher's notification arrival."
        )
        for type in snapshot.watchLag.keys.sorted() {
            out.histogram("zkstorm_watch_notification_lag_seconds", [("watch_type", type)], snapshot.watchLag[type]!)
        }
        out.family(
            "zkstorm_watch_fanout_seconds",
            type: "histogram",
            help: "Per watch-storm round: the last watcher's notification lag."
        )
        out.histogram("zkstorm_watch_fanout_seconds", [], snapshot.watchFanout)
        out.family("zkstorm_watch_events_total", type: "counter", help: "Watch notifications received, by watch type.")
        for type in snapshot.watchEvents.keys.sorted() {
            out.sample("zkstorm_watch_events_total", [("watch_type", type)], count: snapshot.watchEvents[type]!)
        }
        out.family(
            "zkstorm_watch_missed_total",
            type: "counter",
            help: "Expected watch notifications that never arrived before the round timeout."
        )
        out.sample("zkstorm_watch_missed_total", [], count: snapshot.watchMissed)
    }

    private static func renderSessions(_ snapshot: MetricsSnapshot, into out: inout ExpositionWriter) {
        out.family("zkstorm_sessions", type: "gauge", help: "Client sessions currently connected.")
        out.sample("zkstorm_sessions", [], Double(snapshot.sessions))
        out.family("zkstorm_reconnects_total", type: "counter", help: "Client reconnects after a connection loss.")
        out.sample("zkstorm_reconnects_total", [], count: snapshot.reconnects)
        out.family("zkstorm_session_expirations_total", type: "counter", help: "Client sessions the server expired.")
        out.sample("zkstorm_session_expirations_total", [], count: snapshot.sessionExpirations)
        out.family("zkstorm_outstanding_requests", type: "gauge", help: "Requests sent and not yet answered.")
        out.sample("zkstorm_outstanding_requests", [], Double(snapshot.outstandingRequests))
        if let generator = snapshot.generator {
            out.family(
                "zkstorm_generator_bound",
                type: "gauge",
                help:
                    "1 when some of the run's figures so far are generator-bound (zkstorm, not the target, was the limit)."
            )
            out.sample("zkstorm_generator_bound", [], generator.bound ? 1 : 0)
            out.family(
                "zkstorm_generator_loop_delay_seconds",
                type: "gauge",
                help: "p99 of how late zkstorm's event loops ran a task scheduled on them, in the last interval."
            )
            out.sample("zkstorm_generator_loop_delay_seconds", [], generator.loopDelayP99Seconds)
            out.family(
                "zkstorm_generator_cpu_share",
                type: "gauge",
                help: "zkstorm's CPU time over wall time in the last interval, as a share of the cores it may use."
            )
            out.sample("zkstorm_generator_cpu_share", [], generator.cpuShare)
        }
    }

    /// How one mntr value becomes a Prometheus family: name, type, help, and the factor to base units.
    struct ServerMetric {
        var mntrKey: String
        var name: String
        var type: String
        var help: String
        var scale: Double = 1
    }

    static let serverMetrics: [ServerMetric] = [
        ServerMetric(
            mntrKey: "zk_avg_latency",
            name: "zkstorm_server_avg_latency_seconds",
            type: "gauge",
            help: "Server-side average request latency (mntr zk_avg_latency).",
            scale: 0.001
        ),
        ServerMetric(
            mntrKey: "zk_min_latency",
            name: "zkstorm_server_min_latency_seconds",
            type: "gauge",
            help: "Server-side minimum request latency (mntr zk_min_latency).",
            scale: 0.001
        ),
        ServerMetric(
            mntrKey: "zk_max_latency",
            name: "zkstorm_server_max_latency_seconds",
            type: "gauge",
            help: "Server-side maximum request latency (mntr zk_max_latency).",
            scale: 0.001
        ),
        ServerMetric(
            mntrKey: "zk_outstanding_requests",
            name: "zkstorm_server_outstanding_requests",
            type: "gauge",
            help: "Requests queued in the server (mntr zk_outstanding_requests)."
        ),
        ServerMetric(
            mntrKey: "zk_num_alive_connections",
            name: "zkstorm_server_connections",
            type: "gauge",
            help: "Client connections open on the server (mntr zk_num_alive_connections)."
        ),
        ServerMetric(
            mntrKey: "zk_znode_count",
            name: "zkstorm_server_znodes",
            type: "gauge",
            help: "Znodes in the server's tree (mntr zk_znode_count)."
        ),
        ServerMetric(
            mntrKey: "zk_watch_count",
            name: "zkstorm_server_watches",
            type: "gauge",
            help: "Watches registered on the server (mntr zk_watch_count)."
        ),
        ServerMetric(
            mntrKey: "zk_ephemerals_count",
            name: "zkstorm_server_ephemerals",
            type: "gauge",
            help: "Ephemeral znodes on the server (mntr zk_ephemerals_count)."
        ),
        ServerMetric(
            mntrKey: "zk_approximate_data_size",
            name: "zkstorm_server_data_size_bytes",
            type: "gauge",
            help: "Approximate size of the server's data tree (mntr zk_approximate_data_size)."
        ),
        ServerMetric(
            mntrKey: "zk_followers",
            name: "zkstorm_server_followers",
            type: "gauge",
            help: "Followers of this leader (mntr zk_followers)."
        ),
        ServerMetric(
            mntrKey: "zk_synced_followers",
            name: "zkstorm_server_synced_followers",
            type: "gauge",
            help: "Followers in sync with this leader (mntr zk_synced_followers)."
        ),
        ServerMetric(
            mntrKey: "zk_packets_received",
            name: "zkstorm_server_packets_received",
            type: "gauge",
            help: "Packets the server has received since it started (mntr zk_packets_received)."
        ),
        ServerMetric(
            mntrKey: "zk_packets_sent",
            name: "zkstorm_server_packets_sent",
            type: "gauge",
            help: "Packets the server has sent since it started (mntr zk_packets_sent)."
        ),
        ServerMetric(
            mntrKey: "zk_open_file_descriptor_count",
            name: "zkstorm_server_open_file_descriptors",
            type: "gauge",
            help: "File descriptors open in the server process (mntr zk_open_file_descriptor_count)."
        ),
    ]

    private static func renderServers(_ servers: [ServerStats], into out: inout ExpositionWriter) {
        let servers = servers.sorted { $0.host < $1.host }
        for metric in serverMetrics {
            let reporting = servers.filter { $0.values[metric.mntrKey] != nil }
            if reporting.isEmpty { continue }
            out.family(metric.name, type: metric.type, help: metric.help)
            for server in reporting {
                out.sample(metric.name, [("server", server.host)], server.values[metric.mntrKey]! * metric.scale)
            }
        }
        if servers.isEmpty { return }
        out.family(
            "zkstorm_server_info",
            type: "gauge",
            help: "Constant 1 per scraped server; labels give its state and version."
        )
        for server in servers {
            out.sample(
                "zkstorm_server_info",
                [
                    ("server", server.host), ("state", server.state ?? "unknown"),
                    ("version", server.version ?? "unknown"),
                ],
                1
            )
        }
    }
}

/// Appends exposition lines; knows the escaping and number rules of format 0.0.4.
struct ExpositionWriter {
    var text = ""

    init() {
        text.reserveCapacity(16 * 1024)
    }

    mutating func family(_ name: String, type: String, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], count value: UInt64) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        line(name, labels, Self.format(value))
    }

    /// `_bucket` (cumulative, fixed bounds, +Inf), `_sum` (seconds) and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: LatencyHistogram) {
        self.histogram(name, labels, Self.distribution(of: histogram))
    }

    mutating func histogram(_ name: String, _ labels: [(String, String)], _ distribution: LatencyHistogram.Distribution)
    {
        for (count, le) in zip(distribution.cumulativeCounts, Self.bucketLabels) {
            line(name + "_bucket", labels + [("le", le)], String(count))
        }
        line(name + "_bucket", labels + [("le", "+Inf")], String(distribution.count))
        line(name + "_sum", labels, Self.format(distribution.sum / 1_000_000))
        line(name + "_count", labels, String(distribution.count))
    }

    /// Quantile samples (seconds; NaN when empty), `_sum` and `_count`.
    mutating func summary(_ name: String, _ labels: [(String, String)], _ distribution: LatencyHistogram.Distribution) {
        for ((_, label), value) in zip(PrometheusExposition.summaryQuantiles, distribution.percentileValues) {
            let seconds = distribution.count == 0 ? Double.nan : Double(value) / 1_000_000
            line(name, labels + [("quantile", label)], Self.format(seconds))
        }
        line(name + "_sum", labels, Self.format(distribution.sum / 1_000_000))
        line(name + "_count", labels, String(distribution.count))
    }

    static func distribution(of histogram: LatencyHistogram) -> LatencyHistogram.Distribution {
        histogram.distribution(
            bounds: PrometheusExposition.bucketBoundsMicroseconds,
            percentiles: PrometheusExposition.summaryQuantiles.map(\.percentile)
        )
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, (label, labelValue)) in labels.enumerated() {
                if index > 0 { text += "," }
                text += label
                text += "=\""
                text += Self.escapeLabelValue(labelValue)
                text += "\""
            }
            text += "}"
        }
        text += " "
        text += value
        text += "\n"
    }

    /// `le` values written the way Prometheus' own clients write them, so dashboards match exactly.
    static let bucketLabels: [String] = PrometheusExposition.bucketBoundsMicroseconds.map {
        format(Double($0) / 1_000_000)
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        guard
            value.utf8.contains(where: {
                $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n")
            })
        else {
            return value
        }
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed only.
    static func escapeHelp(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
