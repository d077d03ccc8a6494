import Foundation
import StormMetricsTestSupport
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

/// Every query of the committed dashboard answered by a real Prometheus scraping a real Pushgateway, with
/// three shards of one run and one unsharded run pushing.
@Suite struct DashboardPrometheusTests {
    static let shardedRun = "run-dash"
    static let soloRun = "run-solo"

    /// Three shards of `shardedRun` (one pod each) and one process of `soloRun`, with their snapshot scales.
    static func pushers(gateway: String) -> [(client: PushGatewayClient, instance: String, run: String, scale: Int)] {
        var pushers = (0..<3).map { index in
            var configuration = PushConfiguration(url: gateway, instance: "pod-\(index)", run: shardedRun)
            configuration.shard = .init(index: index, count: 3)
            return (PushGatewayClient(configuration: configuration), "pod-\(index)", shardedRun, 1 + index)
        }
        let solo = PushConfiguration(url: gateway, instance: "worker-solo", run: soloRun)
        pushers.append((PushGatewayClient(configuration: solo), "worker-solo", soloRun, 2))
        return pushers
    }

    static func value(_ sample: PrometheusQueryResult.Sample?) -> Double { Double(sample?.value ?? "") ?? .nan }

    @Test func prometheusScrapingTheGatewayAnswersEveryDashboardQueryWithThreeShardsPushing() async throws {
        let queries = try DashboardQueries.all()
        let gateway = try await Pushgateway.start()
        let prometheus = try await Prometheus.start(scraping: gateway.url)
        let pushers = Self.pushers(gateway: gateway.url)
        do {
            func push(growth: Int) async throws {
                for pusher in pushers {
                    let snapshot = SampleSnapshots.realistic(
                        scale: pusher.scale * growth,
                        instance: pusher.instance,
                        run: pusher.run
                    )
                    try await pusher.client.push(PrometheusExposition.render(snapshot))
                }
            }
            try await push(growth: 1)
            #expect(
                try await MetricsPusherTests.eventually(within: .seconds(20)) {
                    try await prometheus.query("zkstorm_run_info").samples.count == 4
                }
            )
            // A few scrapes of the first values, then grown counters, so every rate() sees an increase.
            try await Task.sleep(for: .seconds(2))
            try await push(growth: 4)
            // get/ok of pod-2 (scale 3): 8 values × 50 × 3 × 4.
            #expect(
                try await MetricsPusherTests.eventually(within: .seconds(20)) {
                    try await prometheus.query(#"zkstorm_requests_total{instance="pod-2",op="get",result="ok"}"#)
                        .samples.first?.value
                        == "4800"
                }
            )
            try await Task.sleep(for: .milliseconds(1500))

            let runInfo = try await prometheus.query("zkstorm_run_info")
            #expect(
                Set(runInfo.samples.compactMap { $0.labels["instance"] }) == [
                    "pod-0", "pod-1", "pod-2", "worker-solo",
                ],
                "honor_labels keeps pushed instance labels"
            )
            let shardLabels = try await prometheus.query(#"zkstorm_run_info{run="run-dash"}"#).samples
                .map { "\($0.labels["shard"] ?? "-")/\($0.labels["shards"] ?? "-")" }
            #expect(Set(shardLabels) == ["0/3", "1/3", "2/3"], "the grouping key's shard labels reach Prometheus")
            let solo = try await prometheus.query(#"zkstorm_run_info{run="run-solo"}"#).samples
            #expect(solo.count == 1 && solo.first?.labels["shard"] == nil, "an unsharded run has no shard label")
            // The check can fail: a series nobody pushed has no data.
            #expect(try await prometheus.query("zkstorm_no_such_series").samples.isEmpty)
            for query in queries {
                let expression = Self.fill(query.expression, run: ".*")
                let result = try await prometheus.query(expression)
                #expect(!result.samples.isEmpty, "\(query.panel): \(expression) returned no data")
            }
            // The all-shards filter (".*") still matches the unsharded run's series, which have no shard label.
            let throughputPanel = try #require(queries.first { $0.panel == "Throughput by operation" })
            let soloThroughput = try await prometheus.query(Self.fill(throughputPanel.expression, run: Self.soloRun))
            #expect(Self.value(soloThroughput.samples.first { $0.labels["op"] == "get" }) > 0)
            try await Self.expectTotalIsTheSumOfTheShards(prometheus: prometheus, queries: queries)
            let p99 = try await prometheus.query(
                #"histogram_quantile(0.99, sum by (le) (rate(zkstorm_request_duration_seconds_bucket[1m])))"#
            )
            let p99Seconds = Self.value(p99.samples.first)
            #expect(
                p99Seconds > 0.001 && p99Seconds <= 0.05,
                "p99 from summed buckets lands in the recorded range: \(p99Seconds)"
            )
            let pushing = try await prometheus.query(
                Self.fill(try #require(queries.first { $0.panel == "Shards pushing" }).expression, run: Self.shardedRun)
            )
            #expect(pushing.samples.map { "\($0.labels["shards"] ?? "")=\($0.value)" } == ["3=3"])
        } catch {
            Issue.record("\(error)")
        }
        for pusher in pushers { await pusher.client.shutdown() }
        await prometheus.stop()
        await gateway.stop()
    }

    /// A dashboard expression with its variables set: `run` as given, every instance and shard.
    static func fill(_ expression: String, run: String) -> String {
        expression.replacingOccurrences(of: "$run", with: run).replacingOccurrences(of: "$instance", with: ".*")
            .replacingOccurrences(of: "$shard", with: ".*")
    }

    /// The Throughput panel's rate (summed over shards) against the Throughput-by-shard panel's three
    /// lines, in one query so both are evaluated at the same instant.
    static func expectTotalIsTheSumOfTheShards(prometheus: Prometheus, queries: [DashboardQueries.Query]) async throws {
        let total = try #require(queries.first { $0.panel == "Throughput by operation" }).expression
        let byShard = try #require(queries.first { $0.panel == "Throughput by shard" }).expression
        let expression =
            #"label_replace(sum(\#(fill(total, run: shardedRun))), "shard", "total", "", "") or \#(fill(byShard, run: shardedRun))"#
        let samples = try await prometheus.query(expression).samples
        let shards = samples.filter { $0.labels["shard"] != "total" }
        #expect(Set(shards.compactMap { $0.labels["shard"] }) == ["0", "1", "2"], "one line per shard: \(samples)")
        let shardRates = shards.map { value($0) }
        #expect(shardRates.allSatisfy { $0 > 0 }, "every shard's rate grows: \(shardRates)")
        // Shard k pushed scale k+1: its rate is k+1 times shard 0's, within the scrape timing's extrapolation.
        let sortedRates = shards.sorted { ($0.labels["shard"] ?? "") < ($1.labels["shard"] ?? "") }.map { value($0) }
        #expect(sortedRates.count == 3 && sortedRates[0] < sortedRates[1] && sortedRates[1] < sortedRates[2])
        let summed = value(samples.first { $0.labels["shard"] == "total" })
        let sumOfShards = shardRates.reduce(0, +)
        #expect(
            abs(summed - sumOfShards) <= 1e-9 * max(1, sumOfShards),
            "the summed rate \(summed) is the sum of the three shards' \(shardRates)"
        )
    }
}
