import Foundation
import Testing

@testable import StormEngine

/// Pure checks behind issue 16's defects: value size against jute.maxbuffer, the reserved tree, the
/// effective workload as YAML, partial intervals, comparison cells and JSON syntax errors.
@Suite("Pipeline: limits and reports (unit)")
struct PipelineUnitTests {
    @Test func largestValueIsTheFrameLimitLessACreatesFraming() throws {
        let workload = try WorkloadParser.parse("groups:\n  - ops: {get: 1, set: 1}\n", file: "w.yaml")
        // 0xfffff − (header 8 + path 4+93 + data length 4 + ACL 31 + flags 4)
        #expect(workload.largestValueSize == 1_048_431)
        var big = workload
        big.keyspace.valueSize = 1_048_576
        let problem = try #require(big.valueSizeProblem)
        #expect(problem.contains("the largest value that fits is 1048431 bytes"), "\(problem)")
        big.keyspace.valueSize = 1_048_431
        #expect(big.valueSizeProblem == nil)
    }

    @Test func aMultiCarriesSizeValuesInOneRequest() throws {
        let workload = try WorkloadParser.parse("groups:\n  - ops: {multi: {size: 4}}\n", file: "w.yaml")
        #expect(workload.largestValueSize * 4 < 0xfffff)
        #expect(workload.largestValueSize > 250_000)
    }

    @Test func valueSizeInAFileIsBlamedOnItsLine() {
        #expect(throws: WorkloadError.self) {
            try WorkloadParser.parse(
                "keyspace:\n  value_size: 1MiB\ngroups:\n  - ops: {get: 1}\n",
                file: "w.yaml"
            )
        }
        do {
            _ = try WorkloadParser.parse("keyspace:\n  value_size: 1MiB\ngroups:\n  - ops: {get: 1}\n", file: "w.yaml")
        } catch {
            #expect(error.line == 2)
            #expect(error.field == "keyspace.value_size")
        }
    }

    @Test(arguments: ["/zookeeper", "/zookeeper/zkx", "/zookeeper/quota/a"])
    func zookeepersReservedTreeIsNeverARoot(root: String) {
        #expect(throws: WorkloadRootError.self) { try WorkloadRoot.validate(root, explicit: true) }
    }

    @Test func aNameThatOnlyStartsLikeTheReservedTreeIsAccepted() throws {
        try WorkloadRoot.validate("/zookeeperish/run", explicit: true)
    }

    @Test func badTargetInAFileNamesItsPlace() {
        do {
            _ = try WorkloadParser.parse("name: t\ntarget: \"h:99999\"\ngroups:\n  - ops: {get: 1}\n", file: "w.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 2)
            #expect(error.field == "target")
        }
    }

    @Test(arguments: Presets.names)
    func effectiveWorkloadYAMLParsesBackToTheSameWorkload(preset: String) throws {
        var workload = try Presets.workload(named: preset)
        workload.target = "127.0.0.1:2181,127.0.0.1:2182/bench"
        workload.root = "/zkstorm/yaml-test"
        let text = WorkloadYAML.render(workload)
        let parsed = try WorkloadParser.parse(text, file: "effective.yaml")
        #expect(parsed == workload, "\(text)")
    }

    @Test func aPureWatchStormHasNoKeySpace() throws {
        let workload = try WorkloadParser.parse("watches: {watchers: 3}\n", file: "w.yaml")
        let layout = RunLayout(root: "/zkstorm/x", workload: workload)
        #expect(layout.keys.isEmpty)
        #expect(!layout.setupDirectories.contains("/zkstorm/x/keys"))
    }

    @Test func chartsLeaveOutThePartialLastInterval() {
        let timeline =
            (1...5).map {
                RunResult.TimelinePoint(
                    t: Double($0),
                    ops: 1000,
                    errors: 0,
                    p99Us: 500,
                    watchLagP99Us: nil,
                    intervalS: 1
                )
            } + [RunResult.TimelinePoint(t: 5.2, ops: 20, errors: 0, p99Us: 90_000, watchLagP99Us: nil, intervalS: 0.2)]
        let plotted = HTMLReport.plottedTimeline(timeline)
        #expect(plotted.count == 5)
        #expect(plotted.allSatisfy { $0.rate == 1000 })
        // Older results carry no interval length: it is the gap to the previous point.
        let old = timeline.map { point in
            var copy = point
            copy.intervalS = nil
            return copy
        }
        #expect(HTMLReport.plottedTimeline(old).count == 5)
    }

    @Test func aMetricOneRunLacksShowsADashNotZero() {
        let a = EngineTests.ReportTests.sampleResult()
        var b = a
        b.watch.notifications = 0
        b.rounds = []
        let text = ComparisonReport.render(a, b)
        let lagLine = text.split(separator: "\n").first { $0.contains("lag p99") } ?? ""
        #expect(lagLine.contains("–"), "\(lagLine)")
        #expect(!lagLine.contains("0µs"), "\(lagLine)")
        #expect(!lagLine.contains("0.00"), "\(lagLine)")
    }

    @Test func comparisonPageCarriesBothRunsOnEachChart() {
        let a = EngineTests.ReportTests.sampleResult(seed: 5)
        var b = EngineTests.ReportTests.sampleResult(seed: 9)
        b.runId = "r-other"
        let page = HTMLReport.renderComparison(a, b)
        #expect(page.contains("r-test") && page.contains("r-other"))
        #expect(page.contains(">A ops/s<") && page.contains(">B ops/s<"), "both runs on the throughput chart")
        #expect(page.contains("Errors over time"))
    }

    @Test func truncatedJSONNamesTheOffset() {
        let text = Array(#"{"schema": 1, "run_id": "x", "operations": {"get": {"count": 1"#.utf8)
        let problem = JSONSyntax.problem(in: text)
        #expect(problem.contains("ends at byte \(text.count)"), "\(problem)")
        #expect(problem.contains("truncated"), "\(problem)")
    }

    @Test func interruptedAndLostRunsSaySoInTheReport() {
        var result = EngineTests.ReportTests.sampleResult()
        result.interrupted = true
        result.targetLost = RunResult.TargetLost(atSeconds: 2.04, rootLeft: "/zkstorm/r")
        let text = TextReport.render(result)
        #expect(text.contains("target lost 2.0 s into the measurement"))
        #expect(text.contains("/zkstorm/r"))
        #expect(text.contains("interrupted"))
    }
}
