import StormMetricsTestSupport
import Testing

@testable import StormMetrics

/// The committed Grafana dashboard against what the exposition renders (the same queries against a real
/// Prometheus are in MetricsIntegrationTests).
@Suite struct DashboardTests {
    @Test func dashboardNamesOnlyMetricsWeExposeAndUsesItsDatasourceVariable() throws {
        let queries = try DashboardQueries.all()
        #expect(queries.count >= 25)
        let ids = try DashboardQueries.panelIDs()
        #expect(Set(ids).count == ids.count, "panel ids are unique: \(ids)")
        for query in queries where !query.panel.hasPrefix("variable ") {
            #expect(query.datasource == "${datasource}", "\(query.panel) uses the datasource variable")
        }
        let exposed = PrometheusExposition.render(SampleSnapshots.realistic())
        for query in queries {
            for name in query.expression.matches(of: /zkstorm_[a-z_]+/).map({ String($0.output) }) {
                #expect(exposed.contains("\n\(name)"), "\(query.panel): \(name) is not exposed")
            }
        }
    }
}
