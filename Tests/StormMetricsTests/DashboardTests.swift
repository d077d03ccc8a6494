import Foundation
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

@Suite struct DashboardTests {
    static let dashboardsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("dashboards")

    struct Query {
        var panel: String
        var expression: String
    }

    /// Every PromQL expression of the dashboard: panel targets, and the metric inside each
    /// `label_values(metric, label)` variable query.
    static func dashboardQueries() throws -> [Query] {
        let data = try Data(contentsOf: dashboardsDirectory.appendingPathComponent("zkstorm.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var queries: [Query] = []
        var ids: Set<Int> = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            let title = panel["title"] as? String ?? "?"
            let id = try #require(panel["id"] as? Int)
            #expect(ids.insert(id).inserted, "panel id \(id) is unique")
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let datasource = target["datasource"] as? [String: Any]
                #expect(datasource?["uid"] as? String == "${datasource}", "\(title) uses the datasource variable")
                queries.append(Query(panel: title, expression: try #require(target["expr"] as? String)))
            }
        }
        let templating = dashboard["templating"] as? [String: Any]
        for variable in templating?["list"] as? [[String: Any]] ?? [] where variable["type"] as? String == "query" {
            let definition = try #require(variable["definition"] as? String)
            let inner = definition.dropFirst("label_values(".count).prefix { $0 != "," }
            queries.append(Query(panel: "variable \(variable["name"] ?? "")", expression: String(inner)))
        }
        return queries
    }

    @Test func dashboardNamesOnlyMetricsWeExposeAndUsesItsDatasourceVariable() throws {
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 25)
        let exposed = PrometheusExposition.render(SampleSnapshots.realistic())
        for query in queries {
            for name in query.expression.matches(of: /zkstorm_[a-z_]+/).map({ String($0.output) }) {
                #expect(exposed.contains("\n\(name)"), "\(query.panel): \(name) is not exposed")
            }
        }
    }

    @Test func prometheusScrapingTheGatewayAnswersEveryDashboardQuery() async throws {
        let queries = try Self.dashboardQueries()
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
                #"sum by (op) (rate(zkstorm_requests_total{run=~".*",instance=~".*"}[1m]))"#)
            let get = throughput.samples.first { $0.labels["op"] == "get" }
            #expect((Double(get?.value ?? "") ?? 0) > 0, "throughput grows between the two pushes")
            let p99 = try await prometheus.query(
                #"histogram_quantile(0.99, sum by (le) (rate(zkstorm_request_duration_seconds_bucket[1m])))"#
            )
            let p99Seconds = Double(p99.samples.first?.value ?? "") ?? .nan
            #expect(
                p99Seconds > 0.001 && p99Seconds <= 0.05,
                "p99 from summed buckets lands in the recorded range: \(p99Seconds)")
        } catch {
            Issue.record("\(error)")
        }
        for client in clients { await client.shutdown() }
        await prometheus.stop()
        await gateway.stop()
    }
}
