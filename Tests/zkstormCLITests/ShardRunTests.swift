import Foundation
import StormEngine
import StormMetrics
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `zkstorm run --shard I/N --run-id ID`: three shard processes, started 1.5 s apart, against a
/// `zkstorm serve` process; they meet at the barrier under the run root, measure together, merge
/// exactly, and the last one out removes the root, also when one of them is killed.
@Suite("Sharded runs end to end", .serialized)
struct ShardRunTests {
    static let mixed = """
        name: shard-mixed
        sessions: 7
        duration: 4s
        warmup: 500ms
        keyspace: {count: 200, value_size: 64}
        groups:
          - name: readers
            sessions: 4
            ops: {get: 8, exists: 1, children: 1}
            load: {model: closed, concurrency: 1, window: 2}
          - name: writers
            ops: {set: 6, create: {weight: 2, under: churn, mode: persistent_sequential}, delete: {weight: 2, under: churn, target: own}}
            load: {model: open, rate: 300, arrivals: poisson, max_in_flight: 16}

        """

    static let storm = """
        name: shard-storm
        sessions: 0
        duration: 20s
        warmup: 300ms
        watches:
          kind: data
          watchers: 31
          znodes: 2
          storm: {rounds: 8, interval: 200ms, writer: dedicated, timeout: 3s}

        """

    /// A `zkstorm serve` process on a free port, stopped when the test ends.
    final class Serve: Sendable {
        let process: ZkstormProcess
        let port: Int
        var connectString: String { "127.0.0.1:\(port)" }

        init() async throws {
            port = FreePort.allocate()
            process = try ZkstormProcess(["serve", "--port", "\(port)"])
            try await ServeCommandTests.waitUntilServing(port: port)
        }

        func stop() async throws {
            process.process.terminate()
            _ = try await process.finish(timeout: .seconds(10))
        }
    }

    struct Shard {
        var index: Int
        var process: ZkstormProcess
        var json: URL
    }

    /// Starts the shards of `workload` in `order`, `stagger` apart, each writing its result JSON.
    /// Three shards 300 ms apart (session timeout 3 s, `--shard-wait 40s`), then shard `victim`
    /// SIGKILLed 5 s in: well into the measurement, since they meet within a second or two of the last
    /// start. Removes the shards' result files itself if the kill fails.
    static func startThenKill(_ workload: URL, runId: String, target: String, victim: Int) async throws -> [Shard] {
        let shards = try await start(
            workload,
            runId: runId,
            target: target,
            order: [0, 1, 2],
            stagger: .milliseconds(300),
            extra: ["--session-timeout", "3s", "--shard-wait", "40s"]
        )
        do {
            try await Task.sleep(for: .seconds(5))
            kill(shards[victim].process.process.processIdentifier, SIGKILL)
            _ = try await shards[victim].process.finish(timeout: .seconds(10))
        } catch {
            for shard in shards { try? FileManager.default.removeItem(at: shard.json) }
            throw error
        }
        return shards
    }

    static func start(
        _ workload: URL,
        runId: String,
        target: String,
        order: [Int],
        stagger: Duration = .milliseconds(1500),
        extra: [String] = []
    ) async throws -> [Shard] {
        var shards: [Shard] = []
        for (position, index) in order.enumerated() {
            if position > 0 { try await Task.sleep(for: stagger) }
            let json = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zkstorm-shard-\(runId)-\(index).json"
            )
            let process = try ZkstormProcess(
                [
                    "run", workload.path, "--target", target, "--shard", "\(index)/\(order.count)", "--run-id", runId,
                    "--json", json.path, "--quiet",
                ] + extra
            )
            shards.append(Shard(index: index, process: process, json: json))
        }
        return shards.sorted { $0.index < $1.index }
    }

    static func decode(_ url: URL) throws -> RunResult {
        try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: url))
    }

    static func rootIsGone(_ root: String, target: String) async throws -> Bool {
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: target))
        defer { Task { try? await client.close() } }
        // The last shard removes it as it exits; give the exit a moment on a loaded machine.
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if try await client.exists(root) == nil { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Merges the shard results with `zkstorm report --merge` and checks the merge is exact: counts
    /// summed, and every percentile read from one histogram holding every shard's samples.
    static func checkMerge(_ results: [RunResult], files: [URL]) async throws -> RunResult {
        let merged = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-merged-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: merged) }
        let outcome = try await ZkstormProcess.run(
            ["report", "--merge"] + files.map(\.path) + ["--json", merged.path]
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Shards (the report above is their exact merge"))
        let joined = try decode(merged)
        for name in Set(results.flatMap { $0.operations.keys }) {
            let count = results.reduce(0) { $0 + ($1.operations[name]?.count ?? 0) }
            let errors = results.reduce(0) { $0 + ($1.operations[name]?.errors ?? 0) }
            #expect(joined.operations[name]?.count == count, "\(name)")
            #expect(joined.operations[name]?.errors == errors, "\(name)")
        }
        #expect(joined.watch.notifications == results.reduce(0) { $0 + $1.watch.notifications })
        // One histogram with every sample of every shard, decoded here from the shards' own files.
        for key in Set(results.flatMap { $0.histograms.keys }) {
            var all = LatencyHistogram()
            for result in results {
                if let text = result.histograms[key] { all.merge(try LatencyHistogram(encoded: text)) }
            }
            let mergedHistogram = try LatencyHistogram(encoded: try #require(joined.histograms[key]))
            #expect(mergedHistogram.count == all.count, "\(key)")
            for percentile in [50.0, 90, 99, 99.9, 100] {
                #expect(
                    mergedHistogram.value(atPercentile: percentile) == all.value(atPercentile: percentile),
                    "\(key) p\(percentile)"
                )
            }
        }
        for (name, operation) in joined.operations {
            let all = joined.mergedHistogram(prefix: "request:\(name):")
            #expect(operation.latencyUs == RunResult.Percentiles(all), "\(name)")
        }
        return joined
    }

    @Test func threeShardsOfAMixedWorkloadMeasureTogetherAndMergeExactly() async throws {
        let serve = try await Serve()
        try await Self.mixedShards(target: serve.connectString)
        try await serve.stop()
    }

    @Test func threeShardsOfAWatchStormCountEveryWatcherOfEveryShard() async throws {
        let serve = try await Serve()
        try await Self.stormShards(target: serve.connectString)
        try await serve.stop()
    }

    /// The same two runs against a real 3-node ZooKeeper quorum: the shards' sessions spread over its
    /// members, and their clocks are compared through the leader's mtime.
    @Test func threeShardsAgainstARealQuorum() async throws {
        let ensemble = try await RealEnsemble.start(size: 3, tickTime: 500)
        do {
            try await ensemble.waitForQuorum()
            try await Self.mixedShards(target: ensemble.connectString)
            try await Self.stormShards(target: ensemble.connectString)
        } catch {
            await ensemble.stop()
            throw error
        }
        await ensemble.stop()
    }

    /// Three shards of `mixed` started 1.5 s apart (2, 0, 1): they start measuring within 200 ms, merge
    /// exactly, and the root is gone afterwards.
    static func mixedShards(target: String) async throws {
        let workload = try ZkstormProcess.workload(Self.mixed)
        let runId = "shard-mixed-\(UInt16.random(in: 0...UInt16.max))"
        let shards = try await Self.start(workload, runId: runId, target: target, order: [2, 0, 1])
        defer {
            try? FileManager.default.removeItem(at: workload)
            for shard in shards { try? FileManager.default.removeItem(at: shard.json) }
        }
        var results: [RunResult] = []
        for shard in shards {
            let outcome = try await shard.process.finish(timeout: .seconds(90))
            #expect(outcome.status == 0, "shard \(shard.index): \(outcome.stderr)")
            results.append(try Self.decode(shard.json))
        }
        let identities = results.compactMap(\.shard)
        #expect(identities.map(\.index) == [0, 1, 2] && identities.allSatisfy { $0.count == 3 && $0.runId == runId })
        let starts = identities.map(\.startUnixNs)
        let spread = Double(starts.max()! - starts.min()!) / 1e6
        #expect(spread < 200, "measurement starts spread over \(spread) ms")
        #expect(identities.allSatisfy { $0.lost == nil && $0.clockErrorNs != nil })
        // Every shard ran its slice: the open loop's 300/s went 100/s to each of its 3 sessions' shards.
        let writerTargets = results.map { $0.groupRates?.first { $0.group == "writers" }?.target ?? 0 }
        #expect(writerTargets.map { ($0 * 1000).rounded() } == [100_000, 100_000, 100_000])
        #expect(results.allSatisfy { ($0.operations["get"]?.count ?? 0) > 0 })
        let merged = try await Self.checkMerge(results, files: shards.map(\.json))
        #expect(merged.merged?.startSpreadMs.map { $0 < 200 } == true)
        #expect(merged.merged?.lost == nil)
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: target))
    }

    @Test func threeShardsOfAPersistentWatchStormCountEveryWatcherOfEveryShard() async throws {
        let serve = try await Serve()
        try await Self.stormShards(target: serve.connectString, kind: "persistent")
        try await serve.stop()
    }

    @Test func threeShardsOfARecursiveWatchStormCountEveryWatcherOfEveryShard() async throws {
        let serve = try await Serve()
        try await Self.stormShards(target: serve.connectString, kind: "recursive")
        try await serve.stop()
    }

    /// Three shards of a storm of `kind` watches started 1.5 s apart (1, 2, 0): every shard's watchers
    /// hear every write, in the right round, and the merge counts them all.
    static func stormShards(target: String, kind: String = "data") async throws {
        let workload = try ZkstormProcess.workload(
            Self.storm.replacingOccurrences(of: "kind: data", with: "kind: \(kind)")
        )
        let runId = "shard-storm-\(kind)-\(UInt16.random(in: 0...UInt16.max))"
        let shards = try await Self.start(workload, runId: runId, target: target, order: [1, 2, 0])
        defer {
            try? FileManager.default.removeItem(at: workload)
            for shard in shards { try? FileManager.default.removeItem(at: shard.json) }
        }
        var results: [RunResult] = []
        for shard in shards {
            let outcome = try await shard.process.finish(timeout: .seconds(90))
            #expect(outcome.status == 0, "shard \(shard.index): \(outcome.stderr)")
            results.append(try Self.decode(shard.json))
        }
        // 31 watchers split 11 + 10 + 10; each heard every one of the 8 rounds' writes of 2 znodes.
        let watchers = [11, 10, 10]
        for (index, result) in results.enumerated() {
            #expect(result.watch.notifications == UInt64(watchers[index] * 2 * 8), "shard \(index)")
            #expect(result.watch.missed == 0, "shard \(index)")
            #expect(result.rounds.count == 8, "shard \(index)")
            #expect(result.rounds.allSatisfy { $0.missing == 0 && $0.notified == watchers[index] * 2 })
            let ledger = try #require(result.failover?.watch, "shard \(index)")
            #expect(ledger.writes == 16 && ledger.due == UInt64(watchers[index] * 2 * 8) && ledger.missed == 0)
            // Every notification has its lag (across clocks a lag within the error bar may read 0).
            let lag = try LatencyHistogram(encoded: try #require(result.histograms["watch_lag:\(kind)"]))
            #expect(lag.count == result.watch.notifications, "shard \(index)")
            #expect(result.watch.lagUs.max > 0 && result.watch.lagUs.p99 >= result.watch.lagUs.p50)
        }
        // Shard 0 times its own writes; the others carry the error bar of their clock to it.
        #expect(results[0].shard?.clockErrorNs == 0)
        #expect(results[1...].allSatisfy { ($0.shard?.clockErrorNs ?? 0) > 0 })
        let starts = results.compactMap(\.shard?.startUnixNs)
        #expect(Double(starts.max()! - starts.min()!) / 1e6 < 200)
        let merged = try await Self.checkMerge(results, files: shards.map(\.json))
        #expect(merged.watch.notifications == 31 * 2 * 8 && merged.watch.missed == 0)
        #expect(merged.merged?.watchLagErrorUs != nil)
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: target))
    }

    @Test func aKilledShardIsNamedByTheOthersWhichStillCleanUp() async throws {
        let serve = try await Serve()
        let workload = try ZkstormProcess.workload(
            Self.mixed.replacingOccurrences(of: "duration: 4s", with: "duration: 8s")
        )
        let runId = "shard-kill-\(UInt16.random(in: 0...UInt16.max))"
        defer { try? FileManager.default.removeItem(at: workload) }
        let shards = try await Self.startThenKill(workload, runId: runId, target: serve.connectString, victim: 2)
        defer { for shard in shards { try? FileManager.default.removeItem(at: shard.json) } }
        for shard in shards[..<2] {
            let outcome = try await shard.process.finish(timeout: .seconds(90))
            #expect(outcome.status == 0, "shard \(shard.index): \(outcome.stderr)")
            #expect(outcome.stderr.contains("shard 2 did not finish"), "\(outcome.stderr)")
            #expect(outcome.stdout.contains("shard 2 did not finish"), "\(outcome.stdout)")
            let result = try Self.decode(shard.json)
            #expect(result.shard?.lost == [2])
        }
        let merged = try await Self.checkMerge(
            try shards[..<2].map { try Self.decode($0.json) },
            files: shards[..<2].map(\.json)
        )
        #expect(merged.merged?.lost == [2])
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: serve.connectString))
        try await serve.stop()
    }

    /// The storm's writer (shard 0) killed mid-storm: the other two time every notification they got
    /// against the writer's stamp in the payloads their watchers read, so they report lags for every
    /// round before the death, name shard 0 and remove the root.
    @Test func aKilledWriterLeavesTheOthersTheLagsOfTheRoundsTheySaw() async throws {
        let serve = try await Serve()
        let workload = try ZkstormProcess.workload(
            Self.storm.replacingOccurrences(of: "rounds: 8", with: "rounds: 60")
        )
        let runId = "shard-writer-\(UInt16.random(in: 0...UInt16.max))"
        defer { try? FileManager.default.removeItem(at: workload) }
        // Killed a few seconds into the storm's 12 s of rounds.
        let shards = try await Self.startThenKill(workload, runId: runId, target: serve.connectString, victim: 0)
        defer { for shard in shards { try? FileManager.default.removeItem(at: shard.json) } }
        let watchers = [11, 10, 10]
        var results: [RunResult] = []
        for shard in shards[1...] {
            let outcome = try await shard.process.finish(timeout: .seconds(90))
            #expect(outcome.status == 0, "shard \(shard.index): \(outcome.stderr)")
            #expect(outcome.stderr.contains("shard 0 did not finish"), "\(outcome.stderr)")
            let result = try Self.decode(shard.json)
            results.append(result)
            #expect(result.shard?.lost == [0])
            #expect((result.shard?.clockErrorNs ?? 0) > 0)
            // The writer got some rounds out, not all of them.
            let ledger = try #require(result.failover?.watch, "shard \(shard.index)")
            #expect(ledger.writes >= 4 && ledger.writes < 120, "\(ledger)")
            #expect(ledger.due == ledger.writes * UInt64(watchers[shard.index]) && ledger.missed == 0, "\(ledger)")
            // Every notification received was timed against its round's stamp: none is without a lag.
            #expect(result.watch.notifications == ledger.received, "shard \(shard.index)")
            #expect(result.watch.lagUs.max > 0 && result.watch.lagUs.p99 >= result.watch.lagUs.p50)
            let lag = try LatencyHistogram(encoded: try #require(result.histograms["watch_lag:data"]))
            #expect(lag.count == ledger.received)
            let rounds = result.rounds.filter { $0.notified > 0 }
            #expect(rounds.count >= 2 && rounds.allSatisfy { $0.lastNanoseconds != nil && $0.missing == 0 })
        }
        let merged = try await Self.checkMerge(results, files: shards[1...].map(\.json))
        #expect(merged.merged?.lost == [0])
        #expect(merged.watch.notifications == results.reduce(0) { $0 + $1.watch.notifications })
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: serve.connectString))
        try await serve.stop()
    }

    @Test func ctrlCInOneShardReportsItsPartAndTheLastOneOutRemovesTheRoot() async throws {
        let serve = try await Serve()
        let workload = try ZkstormProcess.workload(
            Self.mixed.replacingOccurrences(of: "duration: 4s", with: "duration: 6s")
        )
        let runId = "shard-int-\(UInt16.random(in: 0...UInt16.max))"
        let shards = try await Self.start(
            workload,
            runId: runId,
            target: serve.connectString,
            order: [0, 1, 2],
            stagger: .milliseconds(300)
        )
        defer {
            try? FileManager.default.removeItem(at: workload)
            for shard in shards { try? FileManager.default.removeItem(at: shard.json) }
        }
        // Shard 1 gets SIGINT during the measurement: it reports what it ran, exits 130 and leaves.
        let interrupted = try await shards[1].process.finish(timeout: .seconds(60), interruptAfter: .seconds(4))
        #expect(interrupted.status == 130, "\(interrupted.stderr)")
        #expect(interrupted.stdout.contains("interrupted: the figures cover what ran until the signal"))
        let partial = try Self.decode(shards[1].json)
        #expect(partial.interrupted == true && (partial.operations["get"]?.count ?? 0) > 0)
        for shard in [shards[0], shards[2]] {
            let outcome = try await shard.process.finish(timeout: .seconds(60))
            #expect(outcome.status == 0, "shard \(shard.index): \(outcome.stderr)")
            // An interrupted shard marked itself done: it is not lost.
            #expect(try Self.decode(shard.json).shard?.lost == nil)
        }
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: serve.connectString))
        try await serve.stop()
    }

    /// `zkstorm clean` leaves a sharded root alone while any shard holds it: shard 0 (the owner of the
    /// root's `owner` ephemeral) killed, shard 1 still running; once shard 1 is killed too, clean
    /// removes the root.
    @Test func cleanLeavesARootAShardStillHoldsAndRemovesItOnceNoneDoes() async throws {
        let serve = try await Serve()
        let workload = try ZkstormProcess.workload(
            Self.mixed.replacingOccurrences(of: "duration: 4s", with: "duration: 40s")
        )
        let runId = "shard-clean-\(UInt16.random(in: 0...UInt16.max))"
        let root = "/zkstorm/\(runId)"
        let shards = try await Self.start(
            workload,
            runId: runId,
            target: serve.connectString,
            order: [0, 1],
            stagger: .milliseconds(300),
            extra: ["--session-timeout", "3s"]
        )
        defer {
            try? FileManager.default.removeItem(at: workload)
            for shard in shards {
                shard.process.process.terminate()
                try? FileManager.default.removeItem(at: shard.json)
            }
        }
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: serve.connectString))
        defer { Task { try? await client.close() } }
        /// Waits (up to 20 s) until `path` is there (`present`) or gone.
        func waitFor(_ path: String, present: Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if (try await client.exists(path) != nil) == present { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("\(path) still \(present ? "absent" : "there") after 20 s")
        }
        try await waitFor(root + "/shards/ready-1", present: true)
        kill(shards[0].process.process.processIdentifier, SIGKILL)
        _ = try await shards[0].process.finish(timeout: .seconds(10))
        try await waitFor(root + "/owner", present: false)
        let held = try await ZkstormProcess.run(["clean", "--target", serve.connectString])
        #expect(held.status == 0, "\(held.stderr)")
        #expect(held.stdout.contains("live     \(root)"), "\(held.stdout)")
        #expect(try await client.exists(root) != nil)
        kill(shards[1].process.process.processIdentifier, SIGKILL)
        _ = try await shards[1].process.finish(timeout: .seconds(10))
        try await waitFor(root + "/shards/ready-1", present: false)
        let dead = try await ZkstormProcess.run(["clean", "--target", serve.connectString])
        #expect(dead.status == 0, "\(dead.stderr)")
        #expect(dead.stdout.contains("removed  \(root)"), "\(dead.stdout)")
        #expect(try await client.exists(root) == nil)
        try await serve.stop()
    }

    @Test func aMissingShardIsNamedWhenTheWaitRunsOut() async throws {
        let serve = try await Serve()
        let workload = try ZkstormProcess.workload(Self.mixed)
        defer { try? FileManager.default.removeItem(at: workload) }
        let runId = "shard-wait-\(UInt16.random(in: 0...UInt16.max))"
        let outcome = try await ZkstormProcess.run([
            "run", workload.path, "--target", serve.connectString, "--shard", "0/3", "--run-id", runId,
            "--shard-wait", "2s", "--quiet",
        ])
        #expect(outcome.status == 69)
        #expect(outcome.stderr.contains("shards 1, 2 of 3 did not register"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("--shard-wait"))
        #expect(try await Self.rootIsGone("/zkstorm/\(runId)", target: serve.connectString))
        try await serve.stop()
    }

    @Test func badShardValuesExit64NamingTheFlagOrVariable() async throws {
        let bad = try await ZkstormProcess.run(["run", "--preset", "mixed", "--shard", "3/3", "--run-id", "x"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--shard 3/3: the shard index must be from 0 to 2"), "\(bad.stderr)")
        let noId = try await ZkstormProcess.run(["run", "--preset", "mixed", "--shard", "1/2"])
        #expect(noId.status == 64 && noId.stderr.contains("--run-id"), "\(noId.stderr)")
        let env = try await ZkstormProcess.run(
            ["run", "--preset", "mixed", "--dry-run"],
            environment: ["ZKSTORM_SHARDS": "2", "JOB_COMPLETION_INDEX": "oops", "ZKSTORM_RUN_ID": "r"]
        )
        #expect(env.status == 64 && env.stderr.contains("JOB_COMPLETION_INDEX=oops"), "\(env.stderr)")
        // The variables of an Indexed Job give the slice (shown by --dry-run).
        let slice = try await ZkstormProcess.run(
            ["run", "--preset", "mixed", "--dry-run"],
            environment: ["ZKSTORM_SHARDS": "3", "JOB_COMPLETION_INDEX": "2", "ZKSTORM_RUN_ID": "r"]
        )
        #expect(slice.status == 0, "\(slice.stderr)")
        // mixed: readers 8 → 3+3+2, writers 4 → 2+1+1, so shard 2 runs 3 sessions.
        #expect(slice.stdout.contains("sessions: 3"), "\(slice.stdout)")
    }
}
