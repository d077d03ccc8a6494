import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
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
    /// When the run calls its own figures generator-bound.
    public let generatorBounds: GeneratorBounds
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
        /// The generator's own figures for the last interval, and whether any so far were generator-bound.
        public var generator: MetricsSnapshot.GeneratorStatus?
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
        scrapeServers: Bool = false, generatorBounds: GeneratorBounds = GeneratorBounds(),
        onTick: (@Sendable (IntervalCollector.Tick, SessionStatus) -> Void)? = nil
    ) {
        self.scrapeServers = scrapeServers
        self.generatorBounds = generatorBounds
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
        let pool = SessionPool(
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

    private func measure(
        pool: SessionPool, layout: RunLayout, plan: SessionPlan, targetLabel: String, counters: SessionCounters,
        opened: inout [SupervisedSession]
    ) async throws -> Outcome {
        let collector = IntervalCollector()
        let monitorBox = NIOLockedValueBox<GeneratorMonitor?>(nil)
        let distribution = KeyDistribution(count: workload.keyspace.count, spec: workload.keyspace.distribution)
        var closedDrivers: [ClosedLoopDriver] = []
        var openDrivers: [OpenLoopDriver] = []
        var allWorkers: [SessionWorker] = []
        var stream: UInt64 = 0
        let startOrigin = RunClock.now()
        let warmup = UInt64(workload.warmup.nanoseconds)
        let duration = UInt64(workload.duration.nanoseconds)
        // Open loops are scheduled from when every session is ready; their schedule ends with the measurement.
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
            allWorkers += workers
            switch group.load {
            case .closed(let concurrency, let window):
                closedDrivers.append(
                    ClosedLoopDriver(workers: workers, slotsPerSession: concurrency * window, stop: stop))
            case .open(let rate, let arrivals, let maxInFlight):
                openDrivers.append(
                    OpenLoopDriver(
                        workers: workers, rate: rate, arrivals: arrivals, maxInFlight: maxInFlight,
                        seed: workload.seed, streamBase: 1000 * UInt64(index + 1), stop: stop))
            }
        }
        var storm: WatchStorm?
        var writer: SupervisedSession?
        if let spec = workload.watches, !stop.isSet {
            let recorder = OperationRecorder()
            collector.add(recorder)
            let watchStorm = WatchStorm(spec: spec, layout: layout, recorder: recorder, logger: logger)
            try await watchStorm.connectWatchers(pool)
            opened += watchStorm.watcherSessions
            try await watchStorm.arm()
            if spec.storm.writer == .dedicated {
                let dedicated = try await SupervisedSession.connect(pool: pool)
                opened.append(dedicated)
                writer = dedicated
            } else {
                writer = watchStorm.watcherSessions.first
            }
            storm = watchStorm
        }
        logger.debug(
            "sessions ready",
            metadata: [
                "sessions": "\(counters.connectedNow)", "setup_ms": "\((RunClock.now() - startOrigin) / 1_000_000)",
            ])

        let origin = RunClock.now()
        let measureStart = origin + warmup
        let measureEnd = measureStart + duration
        let stop = self.stop
        let live = self.live
        let onTick = self.onTick
        let workersForStatus = allWorkers
        let startedAt = Date().addingTimeInterval(Double(warmup) / 1e9)
        let outcome = await withTaskGroup(of: Void.self) { group -> (Double, Bool) in
            for driver in closedDrivers { driver.start() }
            for driver in openDrivers {
                group.addTask { await driver.run(origin: origin, end: measureEnd) }
            }
            // Warm-up: run, then drop what was recorded.
            await Self.sleep(until: measureStart, stop: stop)
            let measuringFrom = RunClock.now()
            collector.beginMeasurement(at: measuringFrom)
            let monitor = GeneratorMonitor(
                loops: WatcherEventLoop.allLoops, origin: measuringFrom, bounds: generatorBounds)
            monitor.start()
            monitorBox.withLockedValue { $0 = monitor }
            let collectorStop = StopFlag()
            group.addTask {
                await collector.run(stop: collectorStop) { tick in
                    counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
                    var status = SessionStatus(
                        connected: counters.connectedNow, reconnects: counters.failover.reconnects,
                        expirations: counters.expirations,
                        outstandingRequests: workersForStatus.outstanding, servers: self.servers.withLockedValue { $0 })
                    status.generator = monitor.sample()
                    if live { LiveLine.draw(LiveLine.render(tick)) }
                    onTick?(tick, status)
                }
            }
            if scrapeServers {
                group.addTask { [servers] in
                    while !collectorStop.isSet {
                        let scraped = await ServerStatsScraper.scrape(connectString: pool.connectString)
                        servers.withLockedValue { $0 = scraped }
                        await Self.sleep(until: RunClock.now() + 5_000_000_000, stop: collectorStop)
                    }
                }
            }
            if let storm, let writer {
                await withTaskGroup(of: Void.self) { inner in
                    inner.addTask { await storm.runRounds(writer: writer, end: measureEnd, stop: stop) }
                    if !workload.groups.isEmpty {
                        inner.addTask { await Self.sleep(until: measureEnd, stop: stop) }
                    }
                }
            } else {
                await Self.sleep(until: measureEnd, stop: stop)
            }
            let ended = RunClock.now()
            stop.set()
            // Interrupted: the report and cleanup must follow within 2 s of the signal.
            await allWorkers.drain(timeout: interrupted.withLockedValue { $0 } ? .milliseconds(300) : .seconds(5))
            collectorStop.set()
            if live { LiveLine.finish() }
            return (Double(ended &- (collector.measureStart ?? ended)) / 1e9, interrupted.withLockedValue { $0 })
        }
        var ledger: WatchLedger.Summary?
        if let storm, let writer {
            let quick = interrupted.withLockedValue { $0 }
            let reader = await writer.readyClient(timeout: quick ? .milliseconds(100) : .seconds(5))
            ledger = await storm.ledgerSummary(reader: reader, settle: quick ? .milliseconds(100) : .seconds(1))
        }
        let tick = collector.collect(now: RunClock.now())
        let monitor = monitorBox.withLockedValue { $0 }
        let lastStatus = monitor?.sample(now: RunClock.now())
        monitor?.stop()
        let reconnects = counters.failover.reconnects
        if let tick {
            counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
            var status = SessionStatus(
                connected: counters.connectedNow, reconnects: reconnects, expirations: counters.expirations,
                outstandingRequests: 0,
                servers: servers.withLockedValue { $0 })
            status.generator = lastStatus
            onTick?(tick, status)
        }
        var result = RunResult(
            runId: runId, workload: workload.name, target: targetLabel, startedAt: startedAt,
            durationSeconds: outcome.0, seed: workload.seed,
            recorded: collector.cumulative,
            sessions: RunResult.SessionSummary(
                connected: counters.peakConnected, reconnects: reconnects, expired: counters.expirations),
            timeline: collector.timeline)
        result.failover = counters.failover.summary(watch: ledger)
        result.generator = monitor?.summary()
        if let spec = workload.watches, spec.kind.isOneShot { result.rearm = spec.storm.rearm.rawValue }
        result.histograms.merge(counters.failover.histograms) { current, _ in current }
        return Outcome(result: result, interrupted: outcome.1, root: layout.root)
    }

    static func sleep(until deadline: UInt64, stop: StopFlag) async {
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            guard now < deadline else { return }
            try? await Task.sleep(nanoseconds: min(deadline - now, 50_000_000))
        }
    }
}
