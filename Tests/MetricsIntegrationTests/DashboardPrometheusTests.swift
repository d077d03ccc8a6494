import Foundation
import StormMetricsTestSupport
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

/// Every query of the committed dashboard answered by a real Prometheus scraping a real Pushgateway.
@Suite struct DashboardPrometheusTests {
    @Test func prometheusScrapingTheGatewayAnswersEveryDashboardQuery() async throws {
        let queries = try DashboardQueries.all()
        let gateway = try await Pushgateway.start()
        let prometheus = try await Prometheus.start(scraping: gateway.url)
        let clients = ["worker-1", "worker-2"].map {
            PushGatewayClient(configuration: PushConfiguration(url: gateway.url, instance: $0, run: "run-dash"))
        }
        do {
            for (index, client) in clients.enumerated() {
                try await client.push(PrometheusExposition.render(SampleSnapshots.realistic(scale: 1 + index)))
            }
            #expect(
                try await MetricsPusherTests.eventually(within: .seconds(20)) {
                    try await prometheus.query(#"zkstorm_run_info{run="run-dash"}"#).samples.count == 2
                }
            )
            // A few scrapes of the first values, then grown counters, so every rate() sees an increase.
            try await Task.sleep(for: .seconds(2))
            for (index, client) in clients.enumerated() {
                try await client.push(PrometheusExposition.render(SampleSnapshots.realistic(scale: 4 + index)))
            }
            #expect(
                try await MetricsPusherTests.eventually(within: .seconds(20)) {
                    try await prometheus.query(#"zkstorm_requests_total{instance="worker-1",op="get",result="ok"}"#)
                        .samples.first?.value
                        == "1600"
                }
            )
            try await Task.sleep(for: .milliseconds(1500))

            let runInfo = try await prometheus.query("zkstorm_run_info")
            #expect(
                Set(runInfo.samples.compactMap { $0.labels["instance"] }) == ["worker-1", "worker-2"],
                "honor_labels keeps pushed instance labels"
            )
            // The check can fail: a series nobody pushed has no data.
            #expect(try await prometheus.query("zkstorm_no_such_series").samples.isEmpty)
            for query in queries {
                let expression = query.expression.replacingOccurrences(of: "$run", with: ".*").replacingOccurrences(
                    of: "$instance",
                    with: ".*"
                )
                let result = try await prometheus.query(expression)
                #expect(!result.samples.isEmpty, "\(query.panel): \(expression) returned no data")
            }
            let throughput = try await prometheus.query(
                #"sum by (op) (rate(zkstorm_requests_total{run=~".*",instance=~".*"}[1m]))"#
            )
            let get = throughput.samples.first { $0.labels["op"] == "get" }
            #expect((Double(get?.value ?? "") ?? 0) > 0, "throughput grows between the two pushes")
            let p99 = try await prometheus.query(
                #"histogram_quantile(0.99, sum by (le) (rate(zkstorm_request_duration_seconds_bucket[1m])))"#
            )
            let p99Seconds = Double(p99.samples.first?.value ?? "") ?? .nan
            #expect(
                p99Seconds > 0.001 && p99Seconds <= 0.05,
                "p99 from summed buckets lands in the recorded range: \(p99Seconds)"
            )
        } catch {
            Issue.record("\(error)")
        }
        for client in clients { await client.shutdown() }
        await prometheus.stop()
        await gateway.stop()
    }
}
