import Foundation
import Logging
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer

/// One `zkstorm run`: target (the built-in server when none is given), sessions, the run tree, warm-up,
/// measurement, cleanup, result. Cleanup runs on every path out once the root exists, including
/// `interrupt()` (Ctrl-C), which ends the measurement early and still produces the result.
public final class StormRun: Sendable {
    public let workload: Workload
    public let runId: String
    public let logger: Logger
    /// Print the live line each second.
    public let live: Bool
    /// Each measured interval (for the metrics push).
    public let onTick: (@Sendable (IntervalCollector.Tick, SessionStatus) -> Void)?
    /// Scrape `mntr`/`srvr` from the target every 5 s for the metrics push.
    public let scrapeServers: Bool
    private let stop = StopFlag()
    private let servers = NIOLockedValueBox<[ServerStats]>([])
    private let target = NIOLockedValueBox<String?>(nil)
    private let interrupted = NIOLockedValueBox<Bool>(false)

    /// Session figures at an interval.
    public struct SessionStatus: Sendable {
        public var connected: Int
        public var reconnects: UInt64
        public var expirations: UInt64
        public var outstandingRequests: Int
        /// Latest `mntr`/`srvr` figures of each target host (only when `scrapeServers`).
        public var servers: [ServerStats] = []
    }

    public struct Outcome: Sendable {
        public var result: RunResult
        /// Ended early by `interrupt()`.
        public var interrupted: Bool
        public var root: String
    }

    public init(
        workload: Workload, runId: String = RunIdentifier.make(), logger: Logger = Logger(label: "zkstorm.engine"),
        live: Bool = false,
        scrapeServers: Bool = false, onTick: (@Sendable (IntervalCollector.Tick, SessionStatus) -> Void)? = nil
    ) {
        self.scrapeServers = scrapeServers
        self.workload = workload
        self.runId = runId
        self.logger = logger
        self.live = live
        self.onTick = onTick
    }

    /// Ends the run early (signal handler): measurement stops, cleanup and the report still happen.
    public func interrupt() {
        interrupted.withLockedValue { $0 = true }
        stop.set()
    }

    public var root: String { workload.root ?? WorkloadRoot.defaultRoot(runId: runId) }

    /// The target as the report names it (known once the run has started its server, if any).
    public var targetLabel: String? { target.withLockedValue { $0 } }

    public func run() async throws -> Outcome {
        let plan: SessionPlan
        do {
            plan = try workload.sessionPlan()
        } catch {
            throw RunError(.usage, error.message)
        }
        // Sessions (plus the control session and churned ones), and their server side when it is built in.
        let sockets = plan.total + 1
        try FileDescriptorLimit.ensure((workload.target == nil ? 2 * sockets : sockets) + FileDescriptorLimit.reserve)
        var server: ZooKeeperServer?
        let connectString: String
        let targetLabel: String
        if let target = workload.target {
            connectString = target
            targetLabel = target
        } else {
            let builtIn = ZooKeeperServer(configuration: ZooKeeperServerConfiguration(host: "127.0.0.1", port: 0))
            do {
                try await builtIn.start()
            } catch {
                throw RunError(.internal, "the built-in server did not start on 127.0.0.1: \(error)")
            }
            server = builtIn
            connectString = builtIn.connectString
            targetLabel = "\(connectString) (built-in)"
        }
        do {
            let outcome = try await runAgainst(connectString: connectString, targetLabel: targetLabel, plan: plan)
            if let server { try? await server.shutdown() }
            server = nil
            return outcome
        } catch {
            if let server { try? await server.shutdown() }
            server = nil
            throw error
        }
    }

    private func runAgainst(connectString: String, targetLabel: String, plan: SessionPlan) async throws -> Outcome {
        target.withLockedValue { $0 = targetLabel }
        let counters = SessionCounters()
        let pool = SessionConnector(
            connectString: connectString, counters: counters, logger: logger, sessionTimeout: workload.sessionTimeout)
        // The control session creates and removes the run tree; if it expires during the run, the
        // cleanup uses its replacement.
        let control = try await SupervisedSession.connect(pool: pool)
        let layout = RunLayout(root: root, workload: workload)
        let setup = RunRootSetup(client: control.client, layout: layout, logger: logger)
        let cleanupWait: Duration = .seconds(5)
        do {
            try await setup.create(watchedKind: workload.watches?.kind, stop: stop)
        } catch let error as RunError where error.kind == .usage {
            await control.close()
            throw error
        } catch {
            // Part of the tree may exist: remove it before reporting.
            try? await setup.cleaner(await control.readyClient(timeout: cleanupWait)).removeAll()
            await control.close()
            throw error
        }
        var sessions: [SupervisedSession] = []
        let outcome: Outcome
        do {
            outcome = try await measure(
                pool: pool, layout: layout, plan: plan, targetLabel: targetLabel, counters: counters, opened: &sessions)
        } catch {
            await sessions.close()
            try? await setup.cleaner(await control.readyClient(timeout: cleanupWait)).removeAll()
            await control.close()
            throw error
        }
        await sessions.close()
        do {
            try await setup.cleaner(await control.readyClient(timeout: cleanupWait)).removeAll()
        } catch {
            await control.close()
            throw error
        }
        await control.close()
        return outcome
    }

    /// Opens the sessions, warms up, measures, and assembles the result: the steps below, in order.
    private func measure(
        pool: SessionConnector, layout: RunLayout, plan: SessionPlan, targetLabel: String, counters: SessionCounters,
        opened: inout [SupervisedSession]
    ) async throws -> Outcome {
        let collector = IntervalCollector()
        let startOrigin = RunClock.now()
        let load = try await openGroups(
            pool: pool, layout: layout, plan: plan, collector: collector, opened: &opened)
        let storm = try await openStorm(pool: pool, layout: layout, collector: collector, opened: &opened)
        logger.debug(
            "sessions ready",
            metadata: [
                "sessions": "\(counters.connectedNow)", "setup_ms": "\((RunClock.now() - startOrigin) / 1_000_000)",
            ])
        let startedAt = Date().addingTimeInterval(workload.warmup.seconds)
        let measured = await runMeasurement(
            load: load, storm: storm, collector: collector, counters: counters, connectString: pool.connectString)
        let ledger = await watchLedger(storm)
        return finish(
            measured: measured, ledger: ledger, collector: collector, counters: counters, targetLabel: targetLabel,
            startedAt: startedAt, layout: layout)
    }

    /// The operation groups' sessions, workers and load drivers, not yet started.
    private struct GroupLoad {
        var closedDrivers: [ClosedLoopDriver] = []
        var openDrivers: [OpenLoopDriver] = []
        var workers: [SessionWorker] = []
    }

    /// The watch storm, its watchers connected and armed, and the session that writes.
    private struct StormSetup {
        var storm: WatchStorm
        var writer: SupervisedSession
    }

    /// How long the measurement ran and whether `interrupt()` ended it.
    private struct Measured {
        var seconds: Double
        var interrupted: Bool
    }

    /// Step 1: connects each group's sessions and builds a worker per session and the group's driver.
    /// Open loops are scheduled from when every session is ready; their schedule ends with the measurement.
    private func openGroups(
        pool: SessionConnector, layout: RunLayout, plan: SessionPlan, collector: IntervalCollector,
        opened: inout [SupervisedSession]
    ) async throws -> GroupLoad {
        let distribution = KeyDistribution(count: workload.keyspace.count, spec: workload.keyspace.distribution)
        var load = GroupLoad()
        var stream: UInt64 = 0
        for (index, group) in workload.groups.enumerated() {
            guard !stop.isSet else { break }
            let clients = try await SupervisedSession.connect(pool: pool, count: plan.groupSessions[index])
            opened += clients
            let workers = clients.map { client in
                stream += 1
                let recorder = OperationRecorder()
                collector.add(recorder)
                return SessionWorker(
                    session: client, recorder: recorder, layout: layout, group: group,
                    keys: distribution.chooser(seed: workload.seed, stream: stream),
                    choiceSeed: workload.seed &+ 0x5EED, stream: stream, pool: pool)
            }
            load.workers += workers
            switch group.load {
            case .closed(let concurrency, let window):
                load.closedDrivers.append(
                    ClosedLoopDriver(workers: workers, slotsPerSession: concurrency * window, stop: stop))
            case .open(let rate, let arrivals, let maxInFlight):
                load.openDrivers.append(
                    OpenLoopDriver(
                        workers: workers, rate: rate, arrivals: arrivals, maxInFlight: maxInFlight,
                        seed: workload.seed, streamBase: 1000 * UInt64(index + 1), stop: stop))
            }
        }
        return load
    }

    /// Step 2: connects and arms the storm's watchers and picks its writer (nil without a storm).
    private func openStorm(
        pool: SessionConnector, layout: RunLayout, collector: IntervalCollector, opened: inout [SupervisedSession]
    ) async throws -> StormSetup? {
        guard let spec = workload.watches, !stop.isSet else { return nil }
        let recorder = OperationRecorder()
        collector.add(recorder)
        let watchStorm = WatchStorm(spec: spec, layout: layout, recorder: recorder, logger: logger)
        try await watchStorm.connectWatchers(pool)
        opened += watchStorm.watcherSessions
        try await watchStorm.arm()
        let writer: SupervisedSession?
        if spec.storm.writer == .dedicated {
            let dedicated = try await SupervisedSession.connect(pool: pool)
            opened.append(dedicated)
            writer = dedicated
        } else {
            writer = watchStorm.watcherSessions.first
        }
        return writer.map { StormSetup(storm: watchStorm, writer: $0) }
    }

    /// Step 3: starts the drivers, warms up (and drops what was recorded), then measures until the
    /// duration or the storm's rounds end or `interrupt()`, collecting an interval each second; drains
    /// the requests still in flight.
    private func runMeasurement(
        load: GroupLoad, storm: StormSetup?, collector: IntervalCollector, counters: SessionCounters,
        connectString: String
    ) async -> Measured {
        let origin = RunClock.now()
        let measureStart = origin + UInt64(workload.warmup.nanoseconds)
        let measureEnd = measureStart + UInt64(workload.duration.nanoseconds)
        let stop = self.stop
        let live = self.live
        let onTick = self.onTick
        let workers = load.workers
        let hasGroups = !workload.groups.isEmpty
        return await withTaskGroup(of: Void.self) { group -> Measured in
            for driver in load.closedDrivers { driver.start() }
            for driver in load.openDrivers {
                group.addTask { await driver.run(origin: origin, end: measureEnd) }
            }
            // Warm-up: run, then drop what was recorded.
            await Self.sleep(until: measureStart, stop: stop)
            collector.beginMeasurement(at: RunClock.now())
            let collectorStop = StopFlag()
            group.addTask {
                await collector.run(stop: collectorStop) { tick in
                    counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
                    let status = self.status(counters: counters, outstandingRequests: workers.outstanding)
                    if live { LiveLine.draw(LiveLine.render(tick)) }
                    onTick?(tick, status)
                }
            }
            if scrapeServers {
                group.addTask { [servers] in
                    while !collectorStop.isSet {
                        let scraped = await ServerStatsScraper.scrape(connectString: connectString)
                        servers.withLockedValue { $0 = scraped }
                        await Self.sleep(until: RunClock.now() + 5_000_000_000, stop: collectorStop)
                    }
                }
            }
            if let storm {
                await withTaskGroup(of: Void.self) { inner in
                    inner.addTask { await storm.storm.runRounds(writer: storm.writer, end: measureEnd, stop: stop) }
                    if hasGroups {
                        inner.addTask { await Self.sleep(until: measureEnd, stop: stop) }
                    }
                }
            } else {
                await Self.sleep(until: measureEnd, stop: stop)
            }
            let ended = RunClock.now()
            stop.set()
            // Interrupted: the report and cleanup must follow within 2 s of the signal.
            await workers.drain(timeout: interrupted.withLockedValue { $0 } ? .milliseconds(300) : .seconds(5))
            collectorStop.set()
            if live { LiveLine.finish() }
            return Measured(
                seconds: Double(ended &- (collector.measureStart ?? ended)) / 1e9,
                interrupted: interrupted.withLockedValue { $0 })
        }
    }

    /// Step 4: the storm's watch ledger, read through the writer's session (quickly when interrupted).
    private func watchLedger(_ storm: StormSetup?) async -> WatchLedger.Summary? {
        guard let storm else { return nil }
        let quick = interrupted.withLockedValue { $0 }
        let reader = await storm.writer.readyClient(timeout: quick ? .milliseconds(100) : .seconds(5))
        return await storm.storm.ledgerSummary(reader: reader, settle: quick ? .milliseconds(100) : .seconds(1))
    }

    /// Step 5: the last interval (also pushed), then the result with failover and the watch ledger.
    private func finish(
        measured: Measured, ledger: WatchLedger.Summary?, collector: IntervalCollector, counters: SessionCounters,
        targetLabel: String, startedAt: Date, layout: RunLayout
    ) -> Outcome {
        let tick = collector.collect(now: RunClock.now())
        let reconnects = counters.failover.reconnects
        if let tick {
            counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
            onTick?(tick, status(counters: counters, outstandingRequests: 0))
        }
        var result = RunResult(
            runId: runId, workload: workload.name, target: targetLabel, startedAt: startedAt,
            durationSeconds: measured.seconds, seed: workload.seed,
            recorded: collector.cumulative,
            sessions: RunResult.SessionSummary(
                connected: counters.peakConnected, reconnects: reconnects, expired: counters.expirations),
            timeline: collector.timeline)
        result.failover = counters.failover.summary(watch: ledger)
        result.histograms.merge(counters.failover.histograms) { current, _ in current }
        return Outcome(result: result, interrupted: measured.interrupted, root: layout.root)
    }

    /// Session figures now, with the latest server statistics, for the metrics push.
    private func status(counters: SessionCounters, outstandingRequests: Int) -> SessionStatus {
        SessionStatus(
            connected: counters.connectedNow, reconnects: counters.failover.reconnects,
            expirations: counters.expirations, outstandingRequests: outstandingRequests,
            servers: servers.withLockedValue { $0 })
    }

    static func sleep(until deadline: UInt64, stop: StopFlag) async {
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            guard now < deadline else { return }
            try? await Task.sleep(nanoseconds: min(deadline - now, 50_000_000))
        }
    }
}
