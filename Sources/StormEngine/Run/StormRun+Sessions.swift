import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Steps 1 and 2 of a run: the operation groups' sessions and drivers, and the watch storm's watchers.
extension StormRun {
    /// Step 1: connects each group's sessions and builds a worker per session and the group's driver.
    /// Open loops are scheduled from when every session is ready; their schedule ends with the measurement.
    func openGroups(
        pool: SessionConnector,
        layout: RunLayout,
        plan: SessionPlan,
        collector: IntervalCollector,
        opened: inout [SupervisedSession]
    ) async throws -> GroupLoad {
        let distribution = KeyDistribution(count: workload.keyspace.count, spec: workload.keyspace.distribution)
        let stagePlan = StagePlan(workload.stages)
        let openBaseRate = workload.groups.reduce(0.0) { total, group in
            if case .open(let rate, _, _) = group.load { return total + rate }
            return total
        }
        var load = GroupLoad(
            budget: workload.requests.map { RequestBudget(requests: $0, stop: self.stop) },
            stagePlan: stagePlan,
            openBaseRate: openBaseRate
        )
        var stream: UInt64 = 0
        for (index, group) in workload.groups.enumerated() {
            guard !stop.isSet else { break }
            // A shard's sessions draw from the streams they have in one process (ShardPlan).
            if let bases = shard?.plan.streamBases, index < bases.count { stream = bases[index] }
            let clients = try await SupervisedSession.connect(pool: pool, count: plan.groupSessions[index])
            opened += clients
            let budget = load.budget
            let recorders = Self.sharedRecorders(sessions: clients.count)
            for recorder in recorders { collector.add(recorder, group: index) }
            let workers = clients.enumerated().map { position, client in
                stream += 1
                return SessionWorker(
                    session: client,
                    recorder: recorders[position % recorders.count],
                    layout: layout,
                    group: group,
                    keys: distribution.chooser(seed: workload.seed, stream: stream),
                    choiceSeed: workload.seed &+ 0x5EED,
                    stream: stream,
                    pool: pool,
                    budget: budget
                )
            }
            load.workers += workers
            switch group.load {
            case .closed(let concurrency, let window):
                load.closedDrivers.append(
                    ClosedLoopDriver(workers: workers, slotsPerSession: concurrency * window, stop: stop)
                )
            case .open(let rate, let arrivals, let maxInFlight):
                var driver = OpenLoopDriver(
                    workers: workers,
                    rate: rate,
                    arrivals: arrivals,
                    maxInFlight: maxInFlight,
                    seed: workload.seed,
                    streamBase: openLoopStreamBase(group: index),
                    stop: stop
                )
                driver.steps = stagePlan.rateSteps(baseRate: openBaseRate)
                driver.stepsOrigin = Double(workload.warmup.nanoseconds)
                load.openDrivers.append(driver)
            }
        }
        return load
    }

    /// The seed stream of group `index`'s open-loop arrivals: as in one process, offset per shard so
    /// shards do not send in lockstep.
    func openLoopStreamBase(group index: Int) -> UInt64 {
        guard let shard else { return 1000 * UInt64(index + 1) }
        let original = index < shard.plan.groupIndices.count ? shard.plan.groupIndices[index] : index
        return 1000 * UInt64(original + 1) + 1_000_000 * UInt64(shard.shard.index)
    }

    /// The recorders a group's `sessions` share: one per event loop of the client group (sessions are
    /// handed out round robin over the loops, so each recorder's lock is mostly taken from one thread).
    /// A recorder per session cost about 1 MiB of histograms per session (one lossless 1 µs–60 s
    /// histogram per operation and result, and per operation for service time): a release build running
    /// `mixed` with 5,000 sessions peaked at 5.1 GiB resident.
    static func sharedRecorders(sessions: Int) -> [OperationRecorder] {
        (0..<max(1, min(sessions, System.coreCount))).map { _ in OperationRecorder() }
    }

    /// Step 2: connects and arms the storm's watchers and picks its writer (nil without a storm).
    func openStorm(
        pool: SessionConnector,
        layout: RunLayout,
        collector: IntervalCollector,
        follows: Bool = false,
        opened: inout [SupervisedSession]
    ) async throws -> StormSetup? {
        guard let spec = workload.watches, !stop.isSet else { return nil }
        let recorder = OperationRecorder()
        collector.add(recorder)
        let watchStorm = WatchStorm(
            spec: spec,
            layout: layout,
            recorder: recorder,
            logger: logger,
            stages: StagePlan(workload.stages),
            follows: follows
        )
        try await watchStorm.connectWatchers(pool)
        opened += watchStorm.watcherSessions
        try await watchStorm.arm()
        let writer: SupervisedSession?
        if follows {
            // Another shard writes: the first watcher reads the ledger.
            writer = watchStorm.watcherSessions.first
        } else if spec.storm.writer == .dedicated {
            let dedicated = try await SupervisedSession.connect(pool: pool)
            opened.append(dedicated)
            writer = dedicated
        } else {
            writer = watchStorm.watcherSessions.first
        }
        return writer.map { StormSetup(storm: watchStorm, writer: $0) }
    }
}
