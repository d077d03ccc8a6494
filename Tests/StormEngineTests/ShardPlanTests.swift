import Foundation
import Testing

@testable import StormEngine

extension EngineTests {
    @Suite("Shards: flags, variables and slicing")
    struct ShardPlanTests {
        static func preset(_ name: String) throws -> Workload {
            try WorkloadParser.parse(try #require(Presets.all[name]), file: "\(name).yaml")
        }

        static func resolve(
            _ flag: String?,
            runId: String? = nil,
            _ environment: [String: String] = [:]
        ) throws(ShardSpecError) -> (shard: ShardSpec?, runId: String?) {
            try ShardSpec.resolve(flag: flag, runId: runId, environment: environment)
        }

        @Test func flagsGiveTheShardAndRunId() throws {
            let resolved = try Self.resolve("2/3", runId: "bench-1")
            #expect(resolved.shard == ShardSpec(index: 2, count: 3, runId: "bench-1"))
            #expect(resolved.runId == "bench-1")
        }

        @Test func noFlagAndNoVariableIsASingleProcessRun() throws {
            let resolved = try Self.resolve(nil, ["PATH": "/bin"])
            #expect(resolved.shard == nil && resolved.runId == nil)
            // --run-id alone names a single-process run.
            #expect(try Self.resolve(nil, runId: "solo").runId == "solo")
        }

        @Test func indexedJobVariablesFillInWhatTheFlagsLeaveOut() throws {
            let environment = ["JOB_COMPLETION_INDEX": "1", "ZKSTORM_SHARDS": "4", "ZKSTORM_RUN_ID": "k8s-run"]
            let resolved = try Self.resolve(nil, environment)
            #expect(resolved.shard == ShardSpec(index: 1, count: 4, runId: "k8s-run"))
            // The flags win over the variables.
            let flagged = try Self.resolve("0/2", runId: "cli", environment)
            #expect(flagged.shard == ShardSpec(index: 0, count: 2, runId: "cli"))
        }

        @Test func oneShardNeedsNoRunId() throws {
            let resolved = try Self.resolve("0/1")
            let shard = try #require(resolved.shard)
            #expect(shard.count == 1 && !shard.runId.isEmpty && resolved.runId == shard.runId)
        }

        /// Every bad value is refused with a message naming the flag or variable.
        @Test(
            arguments: [
                ("3/3", "x", [:], "--shard 3/3: the shard index must be from 0 to 2"),
                ("0/0", "x", [:], "--shard 0/0: the shard count must be at least 1"),
                ("-1/2", "x", [:], "--shard -1/2: the shard index must be from 0 to 1"),
                ("a/b", "x", [:], "--shard a/b: expected I/N"),
                ("1", "x", [:], "--shard 1: expected I/N"),
                ("1/2", nil, [:], "needs the run id the shards share: pass --run-id ID (or set ZKSTORM_RUN_ID)"),
                ("0/2", "has space", [:], "--run-id has space: expected 1 to 64 letters"),
                ("0/2", "a/b", [:], "--run-id a/b: expected 1 to 64 letters"),
                (
                    nil, nil, ["ZKSTORM_SHARDS": "3", "ZKSTORM_RUN_ID": "r"],
                    "ZKSTORM_SHARDS=3 is set but JOB_COMPLETION_INDEX is not"
                ),
                (nil, nil, ["JOB_COMPLETION_INDEX": "1"], "JOB_COMPLETION_INDEX=1 is set but ZKSTORM_SHARDS is not"),
                (
                    nil, nil, ["ZKSTORM_SHARDS": "three", "JOB_COMPLETION_INDEX": "0"],
                    "ZKSTORM_SHARDS=three: expected the number"
                ),
                (
                    nil, nil, ["ZKSTORM_SHARDS": "2", "JOB_COMPLETION_INDEX": "x"],
                    "JOB_COMPLETION_INDEX=x: expected the 0-based"
                ),
                (
                    nil, nil, ["ZKSTORM_SHARDS": "2", "JOB_COMPLETION_INDEX": "2", "ZKSTORM_RUN_ID": "r"],
                    "JOB_COMPLETION_INDEX=2 with ZKSTORM_SHARDS=2: the shard index must be from 0 to 1"
                ),
                (
                    nil, nil, ["ZKSTORM_SHARDS": "2", "JOB_COMPLETION_INDEX": "1", "ZKSTORM_RUN_ID": "../x"],
                    "ZKSTORM_RUN_ID ../x"
                ),
            ] as [(String?, String?, [String: String], String)]
        )
        func badValuesAreRefusedNamingTheirSource(
            flag: String?,
            runId: String?,
            environment: [String: String],
            message: String
        ) {
            #expect {
                _ = try Self.resolve(flag, runId: runId, environment)
            } throws: { error in
                "\(error)".contains(message)
            }
        }

        @Test func theRemainderGoesToTheFirstShards() {
            for total in 0..<40 {
                for count in 1..<7 {
                    let shares = (0..<count).map { ShardSplit.share(total, index: $0, count: count) }
                    #expect(shares.reduce(0, +) == total)
                    #expect(shares.max()! - shares.min()! <= 1)
                    #expect(shares == shares.sorted(by: >))
                    for index in 0..<count {
                        #expect(ShardSplit.offset(total, index: index, count: count) == shares[..<index].reduce(0, +))
                    }
                }
            }
        }

        @Test func mixedSplitsSessionsRatesAndRequestsExactly() throws {
            var full = try Self.preset("mixed")
            full.requests = 10_001
            let fullPlan = try full.sessionPlan()
            let plans = try (0..<3).map { try full.sliced(for: ShardSpec(index: $0, count: 3, runId: "r")) }
            // Sessions per group and the open loop's rate add up to the whole run's.
            for (index, group) in full.groups.enumerated() {
                let sessions = plans.map { plan in
                    plan.workload.groups.first { $0.name == group.name }?.sessions ?? 0
                }
                #expect(sessions.reduce(0, +) == fullPlan.groupSessions[index], "\(group.name)")
            }
            let rates = plans.map { Workload.openRate($0.workload.groups) }
            #expect(abs(rates.reduce(0, +) - Workload.openRate(full.groups)) < 1e-9)
            #expect(plans.map { $0.workload.requests ?? 0 } == [3334, 3334, 3333])
            #expect(plans.map(\.workload.sessions).reduce(0, +) == full.sessions)
            // Every session keeps the stream it has in one process: the streams of all shards are those
            // of one process, each once.
            var streams: [UInt64] = []
            for plan in plans {
                let sessionPlan = try plan.workload.sessionPlan()
                for (group, base) in plan.streamBases.enumerated() {
                    streams += (0..<sessionPlan.groupSessions[group]).map { base + UInt64($0) + 1 }
                }
            }
            #expect(streams.sorted() == (1...UInt64(fullPlan.groupSessions.reduce(0, +))).map { $0 })
            // The key space is the whole run's in every shard (created once, by shard 0).
            #expect(plans.allSatisfy { $0.workload.keyspace == full.keyspace })
        }

        @Test func oneShardRunsTheWorkloadUnchanged() throws {
            let full = try Self.preset("mixed")
            let plan = try full.sliced(for: ShardSpec(index: 0, count: 1, runId: "r"))
            #expect(plan.workload == full)
            #expect(plan.streamBases == [0, 8])
        }

        @Test func aWatchStormSplitsItsWatchersAndOnlyShardZeroWrites() throws {
            let full = try Self.preset("watch-storm")
            let plans = try (0..<3).map { try full.sliced(for: ShardSpec(index: $0, count: 3, runId: "r")) }
            #expect(plans.map { $0.workload.watches?.watchers ?? 0 } == [67, 67, 66])
            #expect(plans.map(\.writesStorm) == [true, false, false])
            #expect(plans.allSatisfy { $0.workload.watches?.storm == full.watches?.storm })
        }

        @Test func whatCannotBeDividedIsRefused() throws {
            let mixed = try Self.preset("mixed")
            #expect(throws: WorkloadPlanError.self) {
                try mixed.sliced(for: ShardSpec(index: 0, count: 13, runId: "r"))
            }
            var few = mixed
            few.requests = 2
            #expect {
                try few.sliced(for: ShardSpec(index: 0, count: 3, runId: "r"))
            } throws: { "\($0)".contains("--requests 2 does not split over 3 shards") }
            let herd = try Self.preset("reconnect-herd")
            #expect {
                try herd.sliced(for: ShardSpec(index: 1, count: 2, runId: "r"))
            } throws: { "\($0)".contains("herd") || "\($0)".contains("faults") }
            var storm = try Self.preset("watch-storm")
            storm.watches?.watchers = 2
            #expect {
                try storm.sliced(for: ShardSpec(index: 0, count: 3, runId: "r"))
            } throws: { "\($0)".contains("2 watcher(s) do not split over 3 shards") }
        }

        @Test func clockOffsetsBetweenShardsSubtractAndTheirErrorBarsAdd() {
            let shard = ClockOffset(offsetNanoseconds: 5_000_000, errorNanoseconds: 600_000)
            let writer = ClockOffset(offsetNanoseconds: 2_000_000, errorNanoseconds: 700_000)
            #expect(
                shard.relative(to: writer) == ClockOffset(offsetNanoseconds: 3_000_000, errorNanoseconds: 1_300_000)
            )
        }
    }
}
