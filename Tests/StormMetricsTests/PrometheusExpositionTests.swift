import Foundation
import StormMetricsTestSupport
import Testing

@testable import StormMetrics

@Suite struct PrometheusExpositionTests {
    @Test func smallSnapshotMatchesGolden() {
        var snapshot = MetricsSnapshot(runId: "r", instance: "i", workload: "read-heavy", target: "embedded")
        snapshot.requests[.init(op: "get", result: "ok")] = SampleSnapshots.histogram([30, 120, 4_000])
        snapshot.watchEvents["data"] = 7
        snapshot.sessions = 3
        snapshot.outstandingRequests = 2
        let text = PrometheusExposition.render(snapshot)
        let expected = """
            # HELP zkstorm_requests_total Requests completed, by operation and result (ok or error name).
            # TYPE zkstorm_requests_total counter
            zkstorm_requests_total{op="get",result="ok"} 3
            # HELP zkstorm_request_duration_seconds Request latency from send to reply.
            # TYPE zkstorm_request_duration_seconds histogram
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="2.5e-05"} 0
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="5e-05"} 1
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.0001"} 1
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.00025"} 2
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.0005"} 2
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.001"} 2
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.0025"} 2
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.005"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.01"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.025"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.05"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.1"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.25"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="0.5"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="1"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="2.5"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="5"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="10"} 3
            zkstorm_request_duration_seconds_bucket{op="get",result="ok",le="+Inf"} 3
            zkstorm_request_duration_seconds_sum{op="get",result="ok"} 0.004151
            zkstorm_request_duration_seconds_count{op="get",result="ok"} 3
            # HELP zkstorm_request_latency_seconds Request latency quantiles since the run started, exact to 3 digits (HdrHistogram).
            # TYPE zkstorm_request_latency_seconds summary
            zkstorm_request_latency_seconds{op="get",result="ok",quantile="0.5"} 0.00012
            zkstorm_request_latency_seconds{op="get",result="ok",quantile="0.9"} 0.004
            zkstorm_request_latency_seconds{op="get",result="ok",quantile="0.99"} 0.004
            zkstorm_request_latency_seconds{op="get",result="ok",quantile="0.999"} 0.004
            zkstorm_request_latency_seconds_sum{op="get",result="ok"} 0.004151
            zkstorm_request_latency_seconds_count{op="get",result="ok"} 3
            # HELP zkstorm_watch_notification_lag_seconds Time from the triggering write's send to each watcher's notification arrival.
            # TYPE zkstorm_watch_notification_lag_seconds histogram

            """
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(expectedLines.count)
        for (line, expectedLine) in zip(lines, expectedLines) {
            #expect(line == expectedLine)
        }
        #expect(text.contains("\nzkstorm_watch_fanout_seconds_bucket{le=\"+Inf\"} 0\n"))
        #expect(text.contains("\nzkstorm_watch_events_total{watch_type=\"data\"} 7\n"))
        #expect(text.contains("\nzkstorm_sessions 3\n"))
        #expect(text.contains("\nzkstorm_outstanding_requests 2\n"))
        #expect(text.contains("\nzkstorm_watch_missed_total 0\n"))
        #expect(
            text.hasSuffix(
                "zkstorm_run_info{workload=\"read-heavy\",target=\"embedded\",version=\"\(PrometheusExposition.zkstormVersion)\"} 1\n"
            )
        )
        #expect(!text.contains("zkstorm_server_"), "no server families without scraped servers")
    }

    @Test func everyFamilyHasHelpAndTypeAndNoTimestampsOrGroupingLabels() {
        let text = PrometheusExposition.render(SampleSnapshots.realistic())
        var declared: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                declared.insert(String(line.split(separator: " ")[2]))
                continue
            }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                name.hasSuffix(suffix) && !declared.contains(name) ? String(name.dropLast(suffix.count)) : name
            }
            #expect(declared.contains(family), "\(name) has no TYPE line before it")
            // "name{labels} value": exactly one space after the labels, so no timestamp.
            let afterLabels = line.split(separator: "}").last ?? line
            #expect(afterLabels.split(separator: " ").count == 1 + (line.contains("}") ? 0 : 1), "\(line)")
            #expect(!line.contains("instance=") && !line.contains("run=") && !line.contains("job="), "\(line)")
        }
        for family in [
            "zkstorm_requests_total", "zkstorm_request_duration_seconds", "zkstorm_request_latency_seconds",
            "zkstorm_watch_notification_lag_seconds", "zkstorm_watch_fanout_seconds", "zkstorm_watch_events_total",
            "zkstorm_connect_phase_seconds",
            "zkstorm_watch_missed_total", "zkstorm_sessions", "zkstorm_reconnects_total",
            "zkstorm_session_expirations_total",
            "zkstorm_outstanding_requests", "zkstorm_server_avg_latency_seconds", "zkstorm_server_connections",
            "zkstorm_server_znodes", "zkstorm_server_watches", "zkstorm_server_ephemerals",
            "zkstorm_server_data_size_bytes",
            "zkstorm_server_followers", "zkstorm_server_packets_received", "zkstorm_server_outstanding_requests",
            "zkstorm_server_info", "zkstorm_run_info",
        ] {
            #expect(declared.contains(family), "missing family \(family)")
        }
        #expect(text.contains("zkstorm_server_avg_latency_seconds{server=\"127.0.0.1:2181\"} 0.0004\n"))
        #expect(
            text.contains("zkstorm_server_info{server=\"127.0.0.2:2181\",state=\"follower\",version=\"3.8.0\"} 1\n")
        )
    }

    @Test func histogramBucketsAreCumulativeAndEndWithTheCount() {
        let snapshot = SampleSnapshots.realistic()
        let histogram = snapshot.requests[.init(op: "get", result: "ok")]!
        let text = PrometheusExposition.render(snapshot)
        let prefix = "zkstorm_request_duration_seconds_bucket{op=\"get\",result=\"ok\",le=\""
        let counts = text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map {
            UInt64($0.split(separator: " ").last!)!
        }
        #expect(counts.count == PrometheusExposition.bucketBoundsMicroseconds.count + 1)
        #expect(counts == counts.sorted())
        #expect(counts.last == histogram.count)
        // 80 and 95 µs, recorded 50 times each, are the only values at or below 100 µs.
        #expect(counts[PrometheusExposition.bucketBoundsMicroseconds.firstIndex(of: 100)!] == 100)
    }

    @Test func labelValuesAreEscaped() {
        var snapshot = MetricsSnapshot(
            runId: "r",
            instance: "i",
            workload: "a \"quoted\" \\ path\nnext",
            target: "zk1:2181,zk2:2181/chroot"
        )
        snapshot.requests[.init(op: "get", result: "ok")] = SampleSnapshots.histogram([10])
        let text = PrometheusExposition.render(snapshot)
        #expect(
            text.contains(#"zkstorm_run_info{workload="a \"quoted\" \\ path\nnext",target="zk1:2181,zk2:2181/chroot","#)
        )
    }

    /// Connect phases are one histogram family with a `phase` label; the bucket counts are the connects.
    @Test func connectPhasesAreOneHistogramWithAPhaseLabel() {
        var snapshot = MetricsSnapshot(runId: "r", instance: "i", workload: "w", target: "t")
        snapshot.connectPhases = [
            "tls": SampleSnapshots.histogram([4_000, 9_000]), "tcp": SampleSnapshots.histogram([300], repeating: 2),
        ]
        let text = PrometheusExposition.render(snapshot)
        #expect(text.contains("# TYPE zkstorm_connect_phase_seconds histogram\n"))
        #expect(text.contains("\nzkstorm_connect_phase_seconds_count{phase=\"tls\"} 2\n"), "\(text)")
        #expect(text.contains("\nzkstorm_connect_phase_seconds_count{phase=\"tcp\"} 2\n"), "\(text)")
        #expect(text.contains("\nzkstorm_connect_phase_seconds_bucket{phase=\"tls\",le=\"+Inf\"} 2\n"), "\(text)")
    }
}
