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

    @Test func watcherStagesParseAndAreCheckedAgainstTheStorm() throws {
        let storm = "watches: {kind: data, watchers: 20}\n"
        let workload = try WorkloadParser.parse(
            storm + "stages:\n  - {duration: 1s, watchers: 5}\n  - {duration: 2s}\n",
            file: "w.yaml"
        )
        #expect(workload.stages == [Stage(duration: .seconds(1), watchers: 5), Stage(duration: .seconds(2))])
        #expect(try WorkloadParser.parse(WorkloadYAML.render(workload), file: "again.yaml") == workload)
        do {
            _ = try WorkloadParser.parse(storm + "stages:\n  - {duration: 1s, watchers: 25}\n", file: "w.yaml")
            Issue.record("a stage asking more watchers than the storm connects was accepted")
        } catch {
            #expect(error.line == 3)
            #expect(error.field == "stages[0].watchers")
            #expect(error.message.contains("raise `watches.watchers` to 25"), "\(error.message)")
        }
        do {
            _ = try WorkloadParser.parse(
                "groups:\n  - ops: {get: 1}\nstages:\n  - {duration: 1s}\n  - {duration: 1s, watchers: 3}\n",
                file: "w.yaml"
            )
            Issue.record("watchers without a watch storm were accepted")
        } catch {
            #expect(error.line == 5)
            #expect(error.field == "stages[1].watchers")
            #expect(error.message.contains("add a `watches:` section"), "\(error.message)")
        }
    }

    @Test func theWatcherCountFollowsTheStages() {
        let plan = StagePlan([
            Stage(duration: .seconds(1), watchers: 5), Stage(duration: .seconds(1)),
            Stage(duration: .seconds(1), watchers: 50),
        ])
        #expect(plan.rampsWatchers)
        #expect(plan.watchers(at: -1, of: 20) == 5)  // warm-up: the first stage
        #expect(plan.watchers(at: 500_000_000, of: 20) == 5)
        #expect(plan.watchers(at: 1_500_000_000, of: 20) == 20)  // no `watchers`: all of them
        #expect(plan.watchers(at: 2_500_000_000, of: 20) == 20)  // never more than are connected
        #expect(!StagePlan([Stage(duration: .seconds(1), rate: 5)]).rampsWatchers)
        #expect(StagePlan([]).watchers(at: 0, of: 7) == 7)
    }

    @Test func aRampedLedgerIsDueToTheWatchersOfEachWrite() {
        typealias Write = WatchLedger.Write
        // znode 0: 2 acknowledged writes to 5 and 30 watchers, one lost reply (to 30) that the final
        // version (3) says was applied; znode 1: one lost reply not applied (final version 1).
        let writes: [[Write]] = [
            [
                Write(watchers: 5, acknowledged: true), Write(watchers: 30, acknowledged: false),
                Write(watchers: 30, acknowledged: true),
            ],
            [Write(watchers: 10, acknowledged: true), Write(watchers: 10, acknowledged: false)],
        ]
        #expect(WatchLedger.due(finalVersions: [3, 1], writes: writes) == 5 + 30 + 30 + 10)
        // Without the final versions only the acknowledged writes count.
        #expect(WatchLedger.due(finalVersions: nil, writes: writes) == 5 + 30 + 10)
        var summary = WatchLedger.summarize(
            finalVersions: [3, 1],
            watchers: 30,
            received: 70,
            collapsed: 0,
            late: 0,
            versionsRead: true
        )
        summary.settle(due: 75)
        #expect(summary.due == 75 && summary.missed == 5 && summary.excess == 0)
        summary.settle(due: 60)
        #expect(summary.missed == 0 && summary.excess == 10)
    }
}
