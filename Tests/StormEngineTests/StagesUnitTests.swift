import Foundation
import Testing

@testable import StormEngine

/// Stages: parsing, the plan, and the open-loop schedule's rate per stage (pure, no clock).
@Suite("Stages (unit)")
struct StagesUnitTests {
    @Test func stagesParseAndMakeTheDuration() throws {
        let workload = try WorkloadParser.parse(
            """
            groups:
              - ops: {get: 1}
                load: {model: open, rate: 100}
            stages:
              - {duration: 30s, rate: 1000}
              - {duration: 1m, rate: 5000, sessions: 4}

            """,
            file: "w.yaml"
        )
        #expect(
            workload.stages == [
                Stage(duration: .seconds(30), rate: 1000), Stage(duration: .seconds(60), rate: 5000, sessions: 4),
            ]
        )
        #expect(workload.duration == .seconds(90))
        #expect(try WorkloadParser.parse(WorkloadYAML.render(workload), file: "again.yaml") == workload)
    }

    @Test func durationAndStagesTogetherAreRefusedWithThePlace() {
        do {
            _ = try WorkloadParser.parse(
                "duration: 5s\ngroups:\n  - ops: {get: 1}\nstages:\n  - {duration: 1s}\n",
                file: "w.yaml"
            )
            Issue.record("accepted")
        } catch {
            #expect(error.line == 1)
            #expect(error.field == "duration")
        }
    }

    @Test func theScheduleSendsEachStagesRate() {
        let plan = StagePlan([
            Stage(duration: .seconds(2), rate: 100), Stage(duration: .seconds(2), rate: 400),
            Stage(duration: .seconds(1), rate: 0), Stage(duration: .seconds(1), rate: 200),
        ])
        // One session carrying the whole group (base rate 100), 1 s of warm-up before the stages.
        var schedule = OpenLoopSchedule(
            rate: 100,
            arrivals: .constant,
            origin: 0,
            seed: 1,
            stream: 1,
            steps: plan.rateSteps(baseRate: 100),
            stepsOrigin: 1e9
        )
        var perSecond = [Int](repeating: 0, count: 7)
        while true {
            let start = schedule.next()
            guard start < 7_000_000_000 else { break }
            perSecond[Int(start / 1_000_000_000)] += 1
        }
        // warm-up at the first stage, then 100, 100, 400, 400, 0, 200
        #expect(perSecond == [100, 100, 100, 400, 400, 0, 200], "\(perSecond)")
    }
}
