import Foundation
import StormMetrics
import Testing

@testable import StormEngine

/// The threshold grammar and its evaluation (pure: no run, no socket).
@Suite("Threshold expressions (unit)")
struct ThresholdExpressionTests {
    @Test func issueExamplesParse() throws {
        let p99 = try ThresholdExpression(parsing: "get.p99<5ms")
        #expect(p99.metric == .latency(operation: "get", .percentile(99)))
        #expect(p99.comparison == .less)
        #expect(p99.value == .microseconds(5000))
        let errors = try ThresholdExpression(parsing: "errors<0.1%")
        #expect(errors.metric == .errors(operation: nil))
        #expect(errors.value == .fraction(0.001))
        let lag = try ThresholdExpression(parsing: "watch.lag.p99 < 50ms")
        #expect(lag.metric == .watchLag(.percentile(99)))
        #expect(lag.text == "watch.lag.p99<50ms")
        let missed = try ThresholdExpression(parsing: "watch.missed==0")
        #expect(missed.metric == .watchMissed)
        #expect(missed.comparison == .equal)
        #expect(missed.value == .number(0))
    }

    @Test func everyFigureKindParses() throws {
        #expect(
            try ThresholdExpression(parsing: "set.p99.9<=10ms").metric == .latency(operation: "set", .percentile(99.9))
        )
        #expect(try ThresholdExpression(parsing: "requests.max<1s").metric == .latency(operation: nil, .max))
        #expect(try ThresholdExpression(parsing: "set.rate>=900/s").metric == .rate(operation: "set", group: nil))
        #expect(
            try ThresholdExpression(parsing: "group.readers.rate>900/s").metric
                == .rate(operation: nil, group: "readers")
        )
        #expect(try ThresholdExpression(parsing: "watch.fanout.p50<20ms").metric == .watchFanout(.percentile(50)))
        #expect(try ThresholdExpression(parsing: "delete.errors<=3").value == .number(3))
        #expect(try ThresholdExpression(parsing: "generator.bound==0").metric == .named("generator.bound"))
        #expect(try ThresholdExpression(parsing: "get.count!=0").comparison == .notEqual)
    }

    @Test(arguments: [
        ("get.p99<5", "duration"), ("gett.p99<5ms", "did you mean \"get\""), ("get.p99 5ms", "no comparison"),
        ("errors<fast", "not a value"), ("get.p101<5ms", "not a statistic"), ("watch.missed<1%", "count"),
        ("<5ms", "no metric"), ("get.p99<", "no value"),
    ])
    func badExpressionsSayWhatIsWrong(input: String, fragment: String) {
        do {
            _ = try ThresholdExpression(parsing: input)
            Issue.record("\(input) was accepted")
        } catch {
            #expect(error.description.contains(fragment), "\(error)")
            #expect(error.description.contains(input.filter { !$0.isWhitespace }) || error.input == input)
        }
    }

    @Test func evaluationComparesTheRunsFigures() throws {
        let result = EngineTests.ReportTests.sampleResult()
        let getP99 = result.operations["get"]!.latencyUs.p99
        let pass = try ThresholdExpression(parsing: "get.p99<=\(getP99)us").evaluate(result)
        #expect(pass.passed)
        #expect(pass.observed == Double(getP99))
        let fail = try ThresholdExpression(parsing: "get.p99<\(getP99)us").evaluate(result)
        #expect(!fail.passed)
        // 12 NONODE deletes out of 6042 requests.
        let rate = try ThresholdExpression(parsing: "errors<0.1%").evaluate(result)
        #expect(!rate.passed)
        #expect(abs((rate.observed ?? 0) - 12.0 / 6042.0) < 1e-9)
        #expect(try ThresholdExpression(parsing: "delete.errors==12").evaluate(result).passed)
        #expect(try ThresholdExpression(parsing: "watch.missed==2").evaluate(result).passed)
    }

    @Test func aFigureTheRunLacksFails() throws {
        let result = EngineTests.ReportTests.sampleResult()
        let multi = try ThresholdExpression(parsing: "multi.p99<1s").evaluate(result)
        #expect(!multi.passed)
        #expect(multi.observedText == "no data")
        let bound = try ThresholdExpression(parsing: "generator.bound==0")
        #expect(!bound.evaluate(result).passed)
        #expect(bound.evaluate(result, named: ["generator.bound": 0]).passed)
    }

    @Test func reportTableAndExpositionCarryTheVerdicts() throws {
        var result = EngineTests.ReportTests.sampleResult()
        result.thresholds = try [Threshold(parsing: "get.p99<1s"), Threshold(parsing: "errors<0.1%")].evaluate(result)
        let text = TextReport.render(result)
        #expect(text.contains("thresholds: 1 of 2 passed (exit 99)"), "\(text)")
        #expect(text.contains("FAIL  errors<0.1%"), "\(text)")
        var snapshot = MetricsSnapshot(runId: "r", instance: "i", workload: "w", target: "t")
        snapshot.thresholds = (result.thresholds ?? []).map {
            MetricsSnapshot.ThresholdGauge(threshold: $0.threshold, passed: $0.passed, observed: $0.observed)
        }
        let exposition = PrometheusExposition.render(snapshot)
        #expect(exposition.contains("zkstorm_threshold_passed{threshold=\"get.p99<1s\"} 1"), "\(exposition)")
        #expect(exposition.contains("zkstorm_threshold_passed{threshold=\"errors<0.1%\"} 0"), "\(exposition)")
    }

    @Test func workloadThresholdsParseWithTheirPlace() throws {
        let workload = try WorkloadParser.parse(
            """
            groups:
              - ops: {get: 1}
            thresholds:
              - get.p99<5ms
              - {threshold: "errors<0.1%", abort_on_fail: true}

            """,
            file: "w.yaml"
        )
        #expect(workload.thresholds.count == 2)
        #expect(workload.thresholds[1].abortOnFail)
        #expect(try WorkloadParser.parse(WorkloadYAML.render(workload), file: "again.yaml") == workload)
        do {
            _ = try WorkloadParser.parse("groups:\n  - ops: {get: 1}\nthresholds:\n  - get.p99<5\n", file: "w.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 4)
            #expect(error.field == "thresholds[0]")
        }
    }
}
