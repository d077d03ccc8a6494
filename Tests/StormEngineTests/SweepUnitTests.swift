import Foundation
import StormMetrics
import Testing

@testable import StormEngine

/// Sweep values, parameters, the capacity search and the sweep report (pure: no run, no socket).
@Suite("Sweeps and capacity search (unit)")
struct SweepUnitTests {
    @Test func listsAndRanges() throws {
        #expect(try SweepValues(parsing: "1,2,5").values == [1, 2, 5])
        #expect(try SweepValues(parsing: "0:100:25").values == [0, 25, 50, 75, 100])
        #expect(try SweepValues(parsing: "0:100:25").logSpaced == false)
        let log = try SweepValues(parsing: "100:10000:x10")
        #expect(log.values == [100, 1000, 10000])
        #expect(log.logSpaced)
        #expect(try SweepValues(parsing: "100,1000,10000").logSpaced)
        #expect(try SweepValues(parsing: "0:1:0.25").values == [0, 0.25, 0.5, 0.75, 1])
        #expect(try SweepValues(parsing: "1_000").values == [1000])
    }

    @Test(arguments: [
        ("a,b", "is not a number"), ("1:2", "FROM:TO:STEP"), ("5:1:1", "below FROM"),
        ("0:10:0", "STEP must be above 0"),
        ("0:10:x2", "FROM above 0"), ("1:100000:1", "more than 200 points"), ("", "is not a number"),
    ])
    func badValuesAreNamed(_ text: String, _ message: String) {
        #expect {
            try SweepValues(parsing: text)
        } throws: { error in
            (error as? SweepError)?.message.contains(message) == true
        }
    }

    @Test func axisNamesItsParameter() throws {
        let axis = try SweepAxis(parsing: "read-pct=0:100:50")
        #expect(axis.parameter == .readPercent)
        #expect(axis.values.values == [0, 50, 100])
        #expect {
            try SweepAxis(parsing: "reads=1,2")
        } throws: { error in
            let message = (error as? SweepError)?.message ?? ""
            return message.contains("unknown parameter \"reads\"") && message.contains("read-pct")
        }
        #expect(throws: SweepError.self) { try SweepAxis(parsing: "rate") }
    }

    static func mixed() -> Workload {
        Workload(
            name: "mix",
            sessions: 4,
            groups: [
                OperationGroup(
                    name: "g",
                    operations: [
                        OperationSpec(kind: .get, weight: 3), OperationSpec(kind: .exists, weight: 1),
                        OperationSpec(kind: .set, weight: 1), OperationSpec(kind: .sync, weight: 1),
                    ],
                    load: .closed(concurrency: 1, window: 4)
                )
            ]
        )
    }

    @Test func readPercentReweightsEachSide() throws {
        let ops = try SweepParameter.readPercent.apply(80, to: Self.mixed()).groups[0].operations
        let weight = { (kind: OperationKind) in ops.first { $0.kind == kind }?.weight ?? 0 }
        #expect(weight(.get) == 600)
        #expect(weight(.exists) == 200)
        #expect(weight(.set) == 200)
        // Neither read nor write: kept beside the mix.
        #expect(weight(.sync) == 1)
        let reads = try SweepParameter.readPercent.apply(100, to: Self.mixed()).groups[0].operations
        #expect(!reads.contains { $0.kind == .set })
        let writes = try SweepParameter.readPercent.apply(0, to: Self.mixed()).groups[0].operations
        #expect(writes.filter { $0.kind == .get || $0.kind == .exists }.isEmpty)
        // A group of reads only gains a set.
        var onlyReads = Self.mixed()
        onlyReads.groups[0].operations = [OperationSpec(kind: .get)]
        let added = try SweepParameter.readPercent.apply(25, to: onlyReads).groups[0].operations
        #expect(added.map(\.kind) == [.get, .set])
        #expect(added.map(\.weight) == [250, 750])
        #expect(throws: SweepError.self) { try SweepParameter.readPercent.apply(101, to: Self.mixed()) }
    }

    @Test func otherParametersSetTheirField() throws {
        let base = Self.mixed()
        #expect(try SweepParameter.window.apply(16, to: base).groups[0].load == .closed(concurrency: 1, window: 16))
        #expect(try SweepParameter.keys.apply(50, to: base).keyspace.count == 50)
        #expect(try SweepParameter.valueSize.apply(4096, to: base).keyspace.valueSize == 4096)
        #expect(try SweepParameter.sessions.apply(12, to: base).sessions == 12)
        let open = try SweepParameter.rate.apply(3000, to: base)
        guard case .open(let rate, _, _) = open.groups[0].load else {
            Issue.record("rate did not make an open loop")
            return
        }
        #expect(rate == 3000)
        #expect(throws: SweepError.self) { try SweepParameter.watchers.apply(10, to: base) }
        #expect(throws: SweepError.self) { try SweepParameter.valueSize.apply(2_000_000, to: base) }
        #expect(throws: SweepError.self) { try SweepParameter.sessions.apply(1.5, to: base) }
        var storm = Workload(name: "storm", watches: WatchSpec(watchers: 10))
        storm = try SweepParameter.watchers.apply(300, to: storm)
        #expect(storm.watches?.watchers == 300)
    }

    /// The search against a known capacity: it must end with a bracket no wider than its resolution
    /// that contains the capacity.
    @Test(arguments: [(3300.0, 1000.0), (700.0, 1000.0), (52_000.0, 100.0), (1000.0, 1000.0)])
    func searchBracketsAKnownCapacity(_ capacity: Double, _ start: Double) async throws {
        let search = CapacitySearch(start: start, ceiling: 200_000, resolution: .relative(0.05))
        let outcome = try await search.run { rate in rate <= capacity }
        let low = try #require(outcome.highestPassing)
        let high = try #require(outcome.lowestFailing)
        #expect(low <= capacity && capacity < high)
        #expect(high - low <= 0.05 * low + 1)
        #expect(outcome.steps.count < 20)
        #expect(outcome.steps.last.map { $0.rate == low || $0.rate == high } == true)
    }

    @Test func searchSaysWhenNothingOrEverythingHolds() async throws {
        let none = try await CapacitySearch(start: 1000, ceiling: 10_000, resolution: .absolute(50)).run { _ in false }
        #expect(none.highestPassing == nil)
        #expect(none.steps.allSatisfy { !$0.passed })
        let all = try await CapacitySearch(start: 1000, ceiling: 10_000, resolution: .absolute(50)).run { _ in true }
        #expect(all.highestPassing == 10_000)
        #expect(all.lowestFailing == nil)
    }

    @Test func resolutionParses() throws {
        #expect(try CapacitySearch.Resolution(parsing: "5%") == .relative(0.05))
        #expect(try CapacitySearch.Resolution(parsing: "100/s") == .absolute(100))
        #expect(try CapacitySearch.Resolution(parsing: "250") == .absolute(250))
        #expect(throws: SweepError.self) { try CapacitySearch.Resolution(parsing: "fast") }
        #expect(throws: SweepError.self) { try CapacitySearch.Resolution(parsing: "0%") }
    }

    static func result(_ workload: String, ops: Double, p99: UInt64) -> RunResult {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: p99 / 2, count: 98)
        histogram.record(microseconds: p99, count: 2)
        var result = RunResult(
            runId: "r",
            workload: workload,
            target: "t",
            startedAt: Date(timeIntervalSince1970: 0),
            durationSeconds: 1,
            seed: 1,
            recorded: RecordedInterval(),
            sessions: RunResult.SessionSummary(connected: 1, reconnects: 0, expired: 0),
            timeline: []
        )
        result.histograms["request:get:ok"] = histogram.encoded()
        result.operations["get"] = RunResult.OperationSummary(
            count: 100,
            errors: 0,
            errorsByCode: [:],
            opsPerSecond: ops,
            latencyUs: RunResult.Percentiles(histogram)
        )
        return result
    }

    @Test func reportTablesAndChartsEveryTarget() throws {
        let slo = try Threshold(parsing: "get.p99<5ms")
        var sweep = SweepResult(
            sweepId: "s",
            workload: "w",
            parameter: .rate,
            values: [100, 200],
            logSpaced: false,
            targets: ["a", "b"],
            startedAt: "now",
            slos: [slo.expression.text]
        )
        for (target, scale) in [("a", 1.0), ("b", 2.0)] {
            for value in [100.0, 200.0] {
                let result = Self.result("w", ops: value, p99: UInt64(value * 20 * scale))
                sweep.points.append(SweepPoint(target: target, value: value, result: result, slos: [slo]))
            }
        }
        let text = SweepReport.render(sweep)
        #expect(text.contains("FAIL get.p99<5ms"))
        #expect(text.contains("pass"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("a ") || $0.hasPrefix("b ") }.count == 4)
        let charts = SweepReport.charts(sweep)
        #expect(charts[0].series.map(\.name) == ["a", "b"])
        // p99 in ms: 2 and 4 for target a, twice that for b (HdrHistogram's 3 digits).
        let p99 = charts[2].series.map { $0.points.map(\.y) }
        #expect(p99.count == 2 && p99.allSatisfy { $0.count == 2 })
        #expect(abs(p99[1][1] - 8) < 0.05 && abs(p99[0][0] - 2) < 0.05)
        let html = SweepReport.renderHTML(sweep)
        #expect(html.contains("<svg"))
        // Every point is a run of its own: each chart marks it with a dot whose tooltip gives its value.
        let dots = html.components(separatedBy: "<circle class=\"point\"").count - 1
        var plotted = 0
        for chart in charts where chart.hasData {
            for series in chart.series { plotted += series.points.count }
        }
        #expect(dots == plotted)
        #expect(html.contains("<title>b: 200 → "))
        let decoded = try JSONDecoder().decode(SweepResult.self, from: sweep.jsonData())
        #expect(decoded == sweep)
    }
}
