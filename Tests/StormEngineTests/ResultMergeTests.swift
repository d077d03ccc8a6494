import Foundation
import StormMetrics
import Testing
import ZooKeeperProtocol

@testable import StormEngine

extension EngineTests {
    @Suite("Merging shard results")
    struct ResultMergeTests {
        /// What one shard records: requests, errors and watch notifications drawn from `seed`.
        static func record(seed: UInt64, into recorder: OperationRecorder, watchers: Range<Int>) {
            var generator = SeededGenerator(seed: seed)
            for _ in 0..<3000 { recorder.record(.get, code: .ok, nanoseconds: 60_000 + generator.next() % 2_000_000) }
            for _ in 0..<400 {
                recorder.recordOpenLoop(
                    .set,
                    code: .ok,
                    intendedNanoseconds: 200_000 + generator.next() % 30_000_000,
                    serviceNanoseconds: 150_000 + generator.next() % 900_000
                )
            }
            for _ in 0..<(seed % 7) { recorder.record(.delete, code: .noNode, nanoseconds: 100_000 + seed * 1000) }
            for watcher in watchers {
                recorder.recordWatchEvent(
                    .data,
                    lagNanoseconds: 300_000 + UInt64(watcher) * 4_000 + generator.next() % 90_000
                )
            }
        }

        static func result(_ recorded: RecordedInterval, shard: ShardIdentity?, runId: String = "r-shards") -> RunResult
        {
            var result = RunResult(
                runId: runId,
                workload: "mixed",
                target: "127.0.0.1:2181",
                startedAt: Date(timeIntervalSince1970: 1_764_000_000 + Double(shard?.index ?? 0)),
                durationSeconds: 10,
                seed: 1,
                recorded: recorded,
                sessions: RunResult.SessionSummary(connected: 20, reconnects: 1, expired: 0),
                timeline: [RunResult.TimelinePoint(t: 1, ops: 100, errors: 1, p99Us: 700, watchLagP99Us: nil)]
            )
            result.shard = shard
            return result
        }

        /// Three shards' results and one result holding every sample of all three.
        static func shardsAndWhole() -> (shards: [(file: String, result: RunResult)], whole: RunResult) {
            let whole = OperationRecorder()
            var shards: [(file: String, result: RunResult)] = []
            for index in 0..<3 {
                let seed = UInt64(11 + index * 5)
                let watchers = (index * 40)..<(index * 40 + 40)
                let recorder = OperationRecorder()
                record(seed: seed, into: recorder, watchers: watchers)
                record(seed: seed, into: whole, watchers: watchers)
                var recorded = RecordedInterval()
                recorder.drain(into: &recorded)
                let identity = ShardIdentity(
                    index: index,
                    count: 3,
                    runId: "r-shards",
                    startUnixNs: 1_764_000_000_000_000_000 + UInt64(index) * 40_000_000
                )
                shards.append(("shard-\(index).json", result(recorded, shard: identity)))
            }
            var recorded = RecordedInterval()
            whole.drain(into: &recorded)
            return (shards, result(recorded, shard: nil))
        }

        @Test func mergedPercentilesEqualThoseOfOneHistogramHoldingEverySample() throws {
            let (shards, whole) = Self.shardsAndWhole()
            let merged = try ResultMerge.merge(shards)
            #expect(merged.operations.keys.sorted() == whole.operations.keys.sorted())
            for (name, summary) in whole.operations {
                let joined = try #require(merged.operations[name])
                #expect(joined.latencyUs == summary.latencyUs, "\(name)")
                #expect(joined.serviceTimeUs == summary.serviceTimeUs, "\(name)")
                #expect(joined.count == summary.count)
                #expect(joined.errors == summary.errors)
                #expect(joined.errorsByCode == summary.errorsByCode)
            }
            #expect(merged.watch.lagUs == whole.watch.lagUs)
            #expect(merged.watch.notifications == whole.watch.notifications)
            for (key, _) in whole.histograms {
                #expect(merged.histogram(key) == whole.histogram(key), "\(key)")
            }
            // The merged percentiles are not any average of the shards' percentiles.
            let shardP99s = shards.map { $0.result.operations["get"]!.latencyUs.p99 }
            #expect(merged.operations["get"]!.latencyUs.p99 <= shardP99s.max()!)
        }

        @Test func mergedCountsAreTheSumsOfTheShards() throws {
            let (shards, _) = Self.shardsAndWhole()
            let merged = try ResultMerge.merge(shards)
            for name in ["get", "set", "delete"] {
                let sum = shards.compactMap { $0.result.operations[name]?.count }.reduce(0, +)
                #expect(merged.operations[name]?.count == sum, "\(name)")
            }
            #expect(merged.sessions.connected == 60)
            #expect(merged.sessions.reconnects == 3)
            #expect(merged.timeline.count == 1)
            #expect(merged.timeline[0].ops == 300 && merged.timeline[0].errors == 3)
            let rows = try #require(merged.merged).shards
            #expect(rows.map(\.shard?.index) == [0, 1, 2])
            #expect(rows.map(\.requests).reduce(0, +) == merged.operations.values.map(\.count).reduce(0, +))
            #expect(merged.merged?.startSpreadMs == 80)
            #expect(merged.shard == nil)
            // The merged result survives its own JSON.
            let decoded = try JSONDecoder().decode(RunResult.self, from: merged.jsonData())
            #expect(decoded == merged)
            let text = MergeReport.render(try #require(merged.merged))
            #expect(text.contains("shard-2.json") && text.contains("2/3") && text.contains("80.0 ms"))
        }

        @Test func stormRoundsAndTheWatchLedgerJoin() throws {
            var a = ReportTests.sampleResult(seed: 3)
            var b = ReportTests.sampleResult(seed: 4)
            let ledger = { (due: UInt64, received: UInt64) in
                WatchLedger.Summary(
                    writes: 8,
                    due: due,
                    received: received,
                    collapsed: 0,
                    missed: due - received,
                    late: 0,
                    excess: 0,
                    versionsRead: true
                )
            }
            a.failover = FailoverSummary(
                connectionLosses: 1,
                reconnects: 1,
                expirations: 0,
                sessionsReplaced: 0,
                replacementFailures: 0,
                watchesRecreated: 0,
                watch: ledger(400, 398),
                intervals: []
            )
            b.failover = a.failover
            b.failover?.watch = ledger(400, 400)
            let merged = try ResultMerge.merge([("a.json", a), ("b.json", b)])
            #expect(merged.rounds.count == a.rounds.count)
            for (index, round) in merged.rounds.enumerated() {
                #expect(round.expected == a.rounds[index].expected + b.rounds[index].expected)
                #expect(round.notified == a.rounds[index].notified + b.rounds[index].notified)
                #expect(
                    round.lastNanoseconds == max(a.rounds[index].lastNanoseconds!, b.rounds[index].lastNanoseconds!)
                )
            }
            let joined = try #require(merged.failover?.watch)
            #expect(joined.writes == 8 && joined.due == 800 && joined.received == 798 && joined.missed == 2)
            #expect(merged.failover?.connectionLosses == 2)
            var fanout = try #require(a.histogram("watch_fanout"))
            fanout.merge(try #require(b.histogram("watch_fanout")))
            #expect(merged.watch.fanoutUs == RunResult.FanoutPercentiles(fanout))
        }

        @Test func resultsOfDifferentRunsAreRefusedNamingBothFiles() throws {
            let (shards, _) = Self.shardsAndWhole()
            var other = shards[1]
            other.result.runId = "r-other"
            let error = #expect(throws: ResultMergeError.self) {
                try ResultMerge.merge([shards[0], ("other.json", other.result)])
            }
            #expect(error?.message.contains("other.json is from run r-other") == true)
            #expect(error?.message.contains("shard-0.json from run r-shards") == true)
        }

        @Test func theSameShardTwiceIsRefused() throws {
            let (shards, _) = Self.shardsAndWhole()
            let error = #expect(throws: ResultMergeError.self) {
                try ResultMerge.merge([shards[0], shards[1], ("copy.json", shards[1].result)])
            }
            #expect(error?.message.contains("both shard 1") == true)
        }

        @Test func anUnreadableHistogramNamesTheFileAndTheKey() throws {
            let (shards, _) = Self.shardsAndWhole()
            var broken = shards[2]
            broken.result.histograms["request:get:ok"] = "hdr1:!!"
            let error = #expect(throws: ResultMergeError.self) {
                try ResultMerge.merge([shards[0], broken])
            }
            #expect(error?.message.hasPrefix("shard-2.json: histograms.request:get:ok:") == true)
        }
    }
}
