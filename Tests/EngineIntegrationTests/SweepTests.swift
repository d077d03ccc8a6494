import Foundation
import Logging
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

@testable import StormEngine

/// `zkstorm sweep` through the engine over real TCP: a three-point sweep on both servers (their points
/// interleaved), and a capacity search that must find a rate cap imposed on the built-in server.
extension EngineTests {
    @Suite("Sweeps", .serialized)
    struct SweepTests {
        static func reads(rate: Double) -> Workload {
            Workload(
                name: "sweep-reads",
                sessions: 2,
                duration: .milliseconds(1500),
                warmup: .milliseconds(300),
                keyspace: KeySpace(count: 20, valueSize: 32),
                groups: [
                    OperationGroup(
                        name: "reads",
                        operations: [OperationSpec(kind: .get)],
                        load: .open(rate: rate, arrivals: .constant, maxInFlight: 64)
                    )
                ]
            )
        }

        @Test func threePointsOnBothServersInterleave() async throws {
            let real = try await TestTarget.realZooKeeper.shared()
            let sweep = SweepRun(
                workload: Self.reads(rate: 200),
                targets: [nil, real.connectString],
                logger: Logger(label: "test.sweep")
            )
            let axis = try SweepAxis(parsing: "read-pct=0,50,100")
            try sweep.validate(axis)
            let result = await sweep.sweep(axis)
            #expect(result.failure == nil)
            #expect(result.points.count == 6)
            // Interleaved: built-in, real, built-in, real, ...
            #expect(
                result.points.map(\.target)
                    == Array(repeating: ["built-in", real.connectString], count: 3).flatMap { $0 }
            )
            #expect(result.targets == ["built-in", real.connectString])
            for point in result.points {
                #expect(
                    point.figures.requests > 100,
                    "\(point.target) \(point.value): \(point.figures.requests) requests"
                )
                #expect(point.figures.errors == 0)
                let reads = point.result.operations["get"]?.count ?? 0
                let writes = point.result.operations["set"]?.count ?? 0
                switch point.value {
                case 0: #expect(reads == 0 && writes > 0)
                case 100: #expect(writes == 0 && reads > 0)
                default: #expect(reads > 0 && writes > 0)
                }
            }
            #expect(SweepReport.charts(result)[0].series.map(\.points.count) == [3, 3])
            let decoded = try JSONDecoder().decode(SweepResult.self, from: result.jsonData())
            #expect(decoded == result)
        }

        /// The built-in server delays requests over 1,500/s; a p99 SLO fails as soon as the offered
        /// rate passes it, so the search must land within its resolution below the cap.
        @Test func capacitySearchFindsTheServersRateCap() async throws {
            let cap = 1500.0
            let configure: (inout ZooKeeperServerConfiguration) -> Void = { $0.maxRequestRate = cap }
            try await withBuiltInServer(configure: configure) { server in
                let sweep = SweepRun(
                    workload: Self.reads(rate: 400),
                    targets: [server.connectString],
                    slos: [try Threshold(parsing: "get.p99<60ms")],
                    logger: Logger(label: "test.sweep")
                )
                let result = try await sweep.findMaximumRate(start: 400, resolution: .relative(0.1))
                let search = try #require(result.searches?.first)
                #expect(result.searches?.count == 1)
                let found = try #require(search.highestPassingRate)
                let failing = try #require(search.lowestFailingRate)
                // Near the cap (10% resolution, and a loaded machine may fail a point just below it); the final
                // bracket is at most 10% wide.
                #expect(
                    found >= cap * 0.8 && found <= cap * 1.1,
                    "found \(found) ops/s against a cap of \(cap): \(SweepReport.render(result))"
                )
                #expect(failing > found && failing - found <= 0.1 * found + 1)
                #expect(result.points.count == search.steps.count)
                #expect(SweepReport.render(result).contains("highest rate holding every SLO"))
            }
        }
    }
}
