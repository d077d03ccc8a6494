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
    /// A snapshot whose tree (or shape) is built under the root before the workload starts.
    public let seed: SnapshotSeed?
    /// When the run calls its own figures generator-bound.
    public let generatorBounds: GeneratorBounds
    private let stop = StopFlag()
    private let servers = NIOLockedValueBox<[ServerStats]>([])
    private let target = NIOLockedValueBox<String?>(nil)
    private let interrupted = NIOLockedValueBox<Bool>(false)
    /// When every session lost its connection (monotonic ns), while none is back.
    private let targetLost = NIOLockedValueBox<UInt64?>(nil)
    /// The measurement ended early because the target was gone past the session timeout.
    private let targetGone = NIOLockedValueBox<Bool>(false)
    /// The `abort_on_fail` threshold that ended the run early.
    private let abortedBy = NIOLockedValueBox<String?>(nil)
    /// The workload's faults, checked against the target before the run (nil without faults).
    private let faultInjector = NIOLockedValueBox<FaultInjector?>(nil)
    /// The reconnect herd and its writer (nil without `herd:`).
    private let herd = NIOLockedValueBox<(herd: ReconnectHerd, writer: SupervisedSession)?>(nil)
    /// TLS, SASL and digest auth for every session; the run's znodes get `security.runACL`.
    public let security: ClientSecurity
    /// `zkstorm run --secure`: the built-in server's TLS listener and SASL users; sessions connect to
    /// its TLS port with `security`.
    public let embeddedServerSecurity: ServerSecurityConfiguration?
    private let connectPhases = ConnectPhaseRecorder()

    /// Session figures at an interval.
    public struct SessionStatus: Sendable {
        public var connected: Int
        public var reconnects: UInt64
        public var expirations: UInt64
        public var outstandingRequests: Int
        /// Latest `mntr`/`srvr` figures of each target host (only when `scrapeServers`).
        public var servers: [ServerStats] = []
        /// Threshold verdicts (the final interval only).
        public var thresholds: [ThresholdResult] = []
        /// Target versus achieved rate per operation group (the final interval only).
        public var groupRates: [RunResult.GroupRate] = []
        /// The generator's own figures for the last interval, and whether any so far were generator-bound.
        public var generator: MetricsSnapshot.GeneratorStatus?
        /// Connect time per phase so far (ConnectPhaseRecorder).
        public var connectPhases: [String: LatencyHistogram] = [:]
    }

    public struct Outcome: Sendable {
        public var result: RunResult
        /// Ended early by `interrupt()`.
        public var interrupted: Bool
        public var root: String
        /// The target went away during the run: seconds since measurement began when it was last seen.
        public var targetLostAt: Double?
        /// Why the root could not be removed (the target is gone); nil when cleanup finished.
        public var rootLeftBehind: String?
    }

    public init(
        workload: Workload,
        runId: String = RunIdentifier.make(),
        logger: Logger = Logger(label: "zkstorm.engine"),
        live: Bool = false,
        scrapeServers: Bool = false,
        generatorBounds: GeneratorBounds = GeneratorBounds(),
        onTick: (@Sendable (IntervalCollector.Tick, SessionStatus) -> Void)? = nil,
        security: ClientSecurity = ClientSecurity(),
        embeddedServerSecurity: ServerSecurityConfiguration? = nil,
        seed: SnapshotSeed? = nil
    ) {
        self.security = security
        self.embeddedServerSecurity = embeddedServerSecurity
        self.seed = seed
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
        try FileDescriptorLimit.ensure(sessions: sockets, perSession: workload.target == nil ? 2 : 1)
        var server: ZooKeeperServer?
        let connectString: String
        let targetLabel: String
        if let target = workload.target {
            connectString = target
            targetLabel = target
        } else {
            guard security.isEmpty || embeddedServerSecurity != nil else {
                throw RunError(
                    .usage,
                    "TLS, SASL and digest options need --target (or --secure for a secured built-in server)"
                )
            }
            let embedded = try await EmbeddedServer.start(security: embeddedServerSecurity)
            server = embedded.server
            connectString = embedded.connectString
            targetLabel = embedded.label
        }
        do {
            let injector = try await FaultInjector.prepare(
                workload.faults,
                server: server,
                connectString: connectString,
                logger: logger
            )
            faultInjector.withLockedValue { $0 = injector }
            let outcome = try await runAgainst(connectString: connectString, targetLabel: targetLabel, plan: plan)
            if let server { try? await server.shutdown() }
            server = nil
            return outcome
        } catch {
            if let server { try? await server.shutdown() }
            server = nil
            // A target that refuses connections from this address at accept is named as such.
            guard workload.target != nil else { throw error }
            throw await ThrottleDetector.diagnose(error, connectString: connectString, upTo: plan.total + 3)
        }
    }

    private func runAgainst(connectString: String, targetLabel: String, plan: SessionPlan) async throws -> Outcome {
        target.withLockedValue { $0 = targetLabel }
        let counters = SessionCounters()
        var configured = SessionConnector(
            connectString: connectString,
            counters: counters,
            logger: logger,
            sessionTimeout: workload.sessionTimeout
        )
        configured.security = security
        configured.reconnectPolicy = workload.reconnect
        let connectPhases = self.connectPhases
        configured.onConnectPhases = { connectPhases.record($0) }
        let pool = configured
        // The control session creates and removes the run tree; if it expires during the run, the
        // cleanup uses its replacement.
        let control = try await SupervisedSession.connect(pool: pool)
        let layout = RunLayout(root: root, workload: workload, acl: await security.runACL(confirmedBy: control.client))
        let setup = RunRootSetup(
            client: control.client,
            layout: layout,
            logger: logger,
            owner: RunRootOwner(run: runId, sessionId: control.client.sessionId)
        )
        let cleanupWait: Duration = .seconds(5)
        let chroot = (try? ConnectString(parsing: connectString))?.chroot
        do {
            try await setup.create(watchedKind: workload.watches?.kind, stop: stop, chroot: chroot)
            if let seed { try await SnapshotSeeder.seed(seed.requests(root: root), client: control.client, stop: stop) }
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
                pool: pool,
                layout: layout,
                plan: plan,
                targetLabel: targetLabel,
                counters: counters,
                opened: &sessions
            )
        } catch {
            await herd.withLockedValue({ $0?.herd })?.close()
            await sessions.close()
            try? await setup.cleaner(await control.readyClient(timeout: cleanupWait)).removeAll()
            await control.close()
            throw error
        }
        await herd.withLockedValue({ $0?.herd })?.close()
        await sessions.close()
        var finished = outcome
        if outcome.targetLostAt != nil {
            // Measured results must survive a dead target: try the cleanup only if the control session
            // is connected again within a moment, and otherwise say what is left and how to remove it.
            let client = await control.readyClient(timeout: .seconds(1))
            let deadline = RunClock.now() + 2_000_000_000
            while !counters.isConnected(client) && RunClock.now() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if counters.isConnected(client) {
                do {
                    try await setup.cleaner(client).removeAll()
                    if !targetGone.withLockedValue({ $0 }) {
                        // Back within the session timeout: an outage the failover figures report, not a loss.
                        finished.targetLostAt = nil
                        finished.result.targetLost = nil
                    }
                } catch {
                    finished.rootLeftBehind = "\(error)"
                }
            } else {
                finished.rootLeftBehind = "the target did not answer"
            }
            if finished.rootLeftBehind != nil { finished.result.targetLost?.rootLeft = layout.root }
        } else {
            do {
                try await setup.cleaner(await control.readyClient(timeout: cleanupWait)).removeAll()
            } catch {
                await control.close()
                throw error
            }
        }
        await control.close()
        return finished
    }

    /// Opens the sessions, warms up, measures, and assembles the result: the steps below, in order.
    private func measure(
        pool: SessionConnector,
        layout: RunLayout,
        plan: SessionPlan,
        targetLabel: String,
        counters: SessionCounters,
        opened: inout [SupervisedSession]
    ) async throws -> Outcome {
        let collector = IntervalCollector()
        let startOrigin = RunClock.now()
        let load = try await openGroups(
            pool: pool,
            layout: layout,
            plan: plan,
            collector: collector,
            opened: &opened
        )
        let storm = try await openStorm(pool: pool, layout: layout, collector: collector, opened: &opened)
        if let spec = workload.herd, !stop.isSet {
            // Step 2b: the herd's writer and caches, each cache's tree read once before measuring.
            let writer = try await SupervisedSession.connect(pool: pool)
            opened.append(writer)
            let reconnectHerd = ReconnectHerd(spec: spec, layout: layout, logger: logger)
            herd.withLockedValue { $0 = (reconnectHerd, writer) }
            try await reconnectHerd.open(pool: pool, stop: stop)
        }
        logger.debug(
            "sessions ready",
            metadata: [
                "sessions": "\(counters.connectedNow)", "setup_ms": "\((RunClock.now() - startOrigin) / 1_000_000)",
            ]
        )
        let startedAt = Date().addingTimeInterval(workload.warmup.seconds)
        let statsBefore = await ServerStatsScraper.scrape(connectString: pool.connectString)
        let measured = await runMeasurement(
            load: load,
            storm: storm,
            collector: collector,
            counters: counters,
            connectString: pool.connectString,
            startedAt: startedAt
        )
        let ledger = await watchLedger(storm, quick: measured.interrupted || measured.lostAt != nil)
        var outcome = finish(
            measured: measured,
            load: load,
            ledger: ledger,
            collector: collector,
            counters: counters,
            targetLabel: targetLabel,
            startedAt: startedAt,
            layout: layout
        )
        outcome.result.slowConsumers = storm?.storm.stall?.summary()
        outcome.result.throttles = ThrottleDetector.findings(
            result: outcome.result,
            stages: workload.stages,
            before: statsBefore,
            after: await ServerStatsScraper.scrape(connectString: pool.connectString)
        )
        return outcome
    }

    /// The operation groups' sessions, workers and load drivers, not yet started, with the request
    /// budget (`requests`) and the stages they share.
    private struct GroupLoad {
        var closedDrivers: [ClosedLoopDriver] = []
        var openDrivers: [OpenLoopDriver] = []
        var workers: [SessionWorker] = []
        var budget: RequestBudget?
        var stagePlan: StagePlan
        /// The total rate of every open loop: a stage's rate is shared in proportion to their own rates.
        var openBaseRate: Double
    }

    /// The watch storm, its watchers connected and armed, and the session that writes.
    private struct StormSetup {
        var storm: WatchStorm
        var writer: SupervisedSession
    }

    /// How long the measurement ran, whether `interrupt()` ended it, when the target was lost, and the
    /// generator's monitor (started with the measurement; nil when the run ended before it began).
    private struct Measured {
        var seconds: Double
        var interrupted: Bool
        /// Seconds since measurement began when the target was last seen (every session disconnected).
        var lostAt: Double?
        var monitor: GeneratorMonitor?
    }

    /// Step 1: connects each group's sessions and builds a worker per session and the group's driver.
    /// Open loops are scheduled from when every session is ready; their schedule ends with the measurement.
    private func openGroups(
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
            let clients = try await SupervisedSession.connect(pool: pool, count: plan.groupSessions[index])
            opened += clients
            let budget = load.budget
            let workers = clients.map { client in
                stream += 1
                let recorder = OperationRecorder()
                collector.add(recorder, group: index)
                return SessionWorker(
                    session: client,
                    recorder: recorder,
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
                    streamBase: 1000 * UInt64(index + 1),
                    stop: stop
                )
                driver.steps = stagePlan.rateSteps(baseRate: openBaseRate)
                driver.stepsOrigin = Double(workload.warmup.nanoseconds)
                load.openDrivers.append(driver)
            }
        }
        return load
    }

    /// Step 2: connects and arms the storm's watchers and picks its writer (nil without a storm).
    private func openStorm(
        pool: SessionConnector,
        layout: RunLayout,
        collector: IntervalCollector,
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
            stages: StagePlan(workload.stages)
        )
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

    /// Step 3: starts the drivers (closed loops with the first stage's sessions, later stages switched
    /// on time), warms up (and drops what was recorded), then starts the generator monitor and the
    /// request budget and measures until the duration or the storm's rounds end, `interrupt()`, the
    /// budget runs out, an `abort_on_fail` threshold fails, or the target is lost; collects an interval
    /// each second; drains the requests still in flight.
    private func runMeasurement(
        load: GroupLoad,
        storm: StormSetup?,
        collector: IntervalCollector,
        counters: SessionCounters,
        connectString: String,
        startedAt: Date
    ) async -> Measured {
        let stagePlan = load.stagePlan
        // Closed-loop sessions of each stage, shared among closed groups in proportion to their size.
        let closedTotal = load.closedDrivers.reduce(0) { $0 + $1.workers.count }
        let stageShares: [[Int?]] = stagePlan.steps.map { step in
            load.closedDrivers.map { driver in
                guard let sessions = step.stage.sessions, closedTotal > 0 else { return nil }
                return Int((Double(sessions) * Double(driver.workers.count) / Double(closedTotal)).rounded())
            }
        }
        let closedLoops = load.closedDrivers
        let origin = RunClock.now()
        let measureStart = origin + UInt64(workload.warmup.nanoseconds)
        let measureEnd = measureStart + UInt64(workload.duration.nanoseconds)
        let stop = self.stop
        let live = self.live
        let onTick = self.onTick
        let workers = load.workers
        let budget = load.budget
        let hasGroups = !workload.groups.isEmpty
        let abortThresholds = workload.thresholds.filter(\.abortOnFail)
        let abortedBy = self.abortedBy
        let generatorBounds = self.generatorBounds
        let monitorBox = NIOLockedValueBox<GeneratorMonitor?>(nil)
        let (seconds, wasInterrupted) = await withTaskGroup(of: Void.self) { group -> (Double, Bool) in
            let firstShares = stageShares.first ?? Array(repeating: nil, count: closedLoops.count)
            for (driver, share) in zip(closedLoops, firstShares) { driver.start(sessions: share) }
            if stagePlan.steps.count > 1 {
                group.addTask {
                    for (step, shares) in zip(stagePlan.steps, stageShares).dropFirst() {
                        await Self.sleep(until: measureStart + step.start, stop: stop)
                        if stop.isSet { return }
                        for (driver, share) in zip(closedLoops, shares) {
                            if let share { driver.activate(share) }
                        }
                    }
                }
            }
            for driver in load.openDrivers {
                group.addTask { await driver.run(origin: origin, end: measureEnd) }
            }
            // Warm-up: run, then drop what was recorded.
            await Self.sleep(until: measureStart, stop: stop)
            let measuringFrom = RunClock.now()
            // The budget opens with the measurement: warm-up replies stop being recorded, the warm-up
            // is dropped, then every send is one of the N.
            budget?.measurementBegins()
            collector.beginMeasurement(at: measuringFrom)
            budget?.begin()
            let monitor = GeneratorMonitor(
                loops: WatcherEventLoop.allLoops,
                origin: measuringFrom,
                bounds: generatorBounds
            )
            monitor.start()
            monitorBox.withLockedValue { $0 = monitor }
            if let (reconnectHerd, writer) = herd.withLockedValue({ $0 }) {
                group.addTask { await reconnectHerd.run(writer: writer, measureStart: measuringFrom, stop: stop) }
            }
            if let injector = faultInjector.withLockedValue({ $0 }) {
                group.addTask {
                    await injector.run(measureStart: measuringFrom, stop: stop, failover: counters.failover)
                }
            }
            let collectorStop = StopFlag()
            group.addTask {
                await collector.run(stop: collectorStop) { tick in
                    counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
                    var status = self.status(counters: counters, outstandingRequests: workers.outstanding)
                    status.generator = monitor.sample()
                    if live { LiveLine.draw(LiveLine.render(tick)) }
                    onTick?(tick, status)
                    if !abortThresholds.isEmpty,
                        let failed = self.failedAbortThreshold(abortThresholds, tick: tick, startedAt: startedAt)
                    {
                        abortedBy.withLockedValue { $0 = failed }
                        stop.set()
                    }
                }
            }
            group.addTask {
                await self.watchTarget(counters: counters, connectString: connectString, until: collectorStop)
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
                    inner.addTask {
                        await storm.storm.runRounds(
                            writer: storm.writer,
                            measureStart: measureStart,
                            end: measureEnd,
                            stop: stop
                        )
                    }
                    if hasGroups {
                        inner.addTask { await Self.sleep(until: measureEnd, stop: stop) }
                    }
                }
            } else {
                await Self.sleep(until: measureEnd, stop: stop)
            }
            let ended = RunClock.now()
            stop.set()
            for driver in closedLoops { driver.stopAll() }
            // Interrupted or target gone: the report and cleanup must follow at once (within 2 s of a signal).
            let quick = interrupted.withLockedValue { $0 } || counters.allDisconnected
            await workers.drain(timeout: quick ? .milliseconds(300) : .seconds(5))
            collectorStop.set()
            if live { LiveLine.finish() }
            return (Double(ended &- (collector.measureStart ?? ended)) / 1e9, interrupted.withLockedValue { $0 })
        }
        let lostAt: Double? = targetLost.withLockedValue { $0 }.map { at in
            max(0, Double(Int64(bitPattern: at &- (collector.measureStart ?? at))) / 1e9)
        }
        return Measured(
            seconds: seconds,
            interrupted: wasInterrupted,
            lostAt: lostAt,
            monitor: monitorBox.withLockedValue { $0 }
        )
    }

    /// The target-lost watchdog of step 3: every session without a connection for longer than the
    /// session timeout means the target is gone, and so is every session on it. Ends the measurement;
    /// the result keeps what ran. Polls every 25 ms until `until` is set.
    private func watchTarget(counters: SessionCounters, connectString: String, until collectorStop: StopFlag) async {
        let sessionTimeout = UInt64(workload.sessionTimeout.nanoseconds)
        var since: UInt64?
        while !collectorStop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            if counters.allDisconnected {
                let start = since ?? now
                since = start
                targetLost.withLockedValue { $0 = start }
                if now - start > sessionTimeout {
                    // A frozen or electing ensemble still accepts connections: wait for it.
                    if await TargetReachability.anyAccepts(connectString) {
                        since = RunClock.now()
                    } else {
                        targetGone.withLockedValue { $0 = true }
                        stop.set()
                        return
                    }
                }
            } else {
                since = nil
                targetLost.withLockedValue { $0 = nil }
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Step 4: the storm's watch ledger, read through the writer's session (quickly when interrupted or
    /// the target is lost).
    private func watchLedger(_ storm: StormSetup?, quick: Bool) async -> WatchLedger.Summary? {
        guard let storm else { return nil }
        let reader = await storm.writer.readyClient(timeout: quick ? .milliseconds(100) : .seconds(5))
        return await storm.storm.ledgerSummary(reader: reader, settle: quick ? .milliseconds(100) : .seconds(1))
    }

    /// Step 5: the result (failover, watch ledger, generator, connect phases, security, group rates,
    /// stages, thresholds, target lost), then the last interval with the verdicts (also pushed).
    private func finish(
        measured: Measured,
        load: GroupLoad,
        ledger: WatchLedger.Summary?,
        collector: IntervalCollector,
        counters: SessionCounters,
        targetLabel: String,
        startedAt: Date,
        layout: RunLayout
    ) -> Outcome {
        let tick = collector.collect(now: RunClock.now())
        let monitor = measured.monitor
        let lastGenerator = monitor?.sample(now: RunClock.now())
        monitor?.stop()
        let reconnects = counters.failover.reconnects
        if let tick { counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative) }
        var result = RunResult(
            runId: runId,
            workload: workload.name,
            target: targetLabel,
            startedAt: startedAt,
            durationSeconds: measured.seconds,
            seed: workload.seed,
            recorded: collector.cumulative,
            sessions: RunResult.SessionSummary(
                connected: counters.peakConnected,
                reconnects: reconnects,
                expired: counters.expirations
            ),
            timeline: collector.timeline
        )
        result.failover = counters.failover.summary(watch: ledger)
        result.generator = monitor?.summary()
        if let spec = workload.watches, spec.kind.isOneShot { result.rearm = spec.storm.rearm.rawValue }
        result.reconnect = WorkloadYAML.reconnectText(workload.reconnect)
        result.histograms.merge(counters.failover.histograms) { current, _ in current }
        result.addConnectPhases(connectPhases.snapshot)
        if !security.isEmpty { result.security = security.summary }
        result.zkstormVersion = PrometheusExposition.zkstormVersion
        result.interrupted = measured.interrupted ? true : nil
        result.effectiveWorkload = WorkloadYAML.render(workload)
        if let lostAt = measured.lostAt { result.targetLost = RunResult.TargetLost(atSeconds: lostAt) }
        if let fired = faultInjector.withLockedValue({ $0?.fired }), !fired.isEmpty {
            result.faults = fired.map(\.mark)
            result.attributeFaultCosts(windows: fired.map(\.window))
        }
        if let reconnectHerd = herd.withLockedValue({ $0?.herd }) {
            result.herd = reconnectHerd.summary(faultAt: result.faults?.first?.atS, durationSeconds: measured.seconds)
        }
        let rates = groupRates(load: load, collector: collector, seconds: measured.seconds)
        if !rates.isEmpty { result.groupRates = rates }
        let stagePlan = load.stagePlan
        if !stagePlan.steps.isEmpty {
            result.stages = stagePlan.steps.map { step in
                var parts: [String] = []
                if let rate = step.stage.rate { parts.append("\(ReportFormat.rate(rate)) ops/s") }
                if let sessions = step.stage.sessions { parts.append("\(sessions) sessions") }
                if let watchers = step.stage.watchers { parts.append("\(watchers) watchers") }
                return RunResult.StageMark(
                    startS: Double(step.start) / 1e9,
                    label: parts.isEmpty ? "stage" : parts.joined(separator: ", ")
                )
            }
        }
        if !workload.thresholds.isEmpty {
            var verdicts = workload.thresholds.evaluate(result)
            if let aborted = abortedBy.withLockedValue({ $0 }) {
                for index in verdicts.indices where verdicts[index].threshold == aborted {
                    verdicts[index].aborted = true
                    verdicts[index].passed = false
                }
            }
            result.thresholds = verdicts
        }
        if let tick {
            var last = status(counters: counters, outstandingRequests: 0)
            last.thresholds = result.thresholds ?? []
            last.groupRates = rates
            last.generator = lastGenerator
            onTick?(tick, last)
        }
        return Outcome(
            result: result,
            interrupted: measured.interrupted,
            root: layout.root,
            targetLostAt: measured.lostAt
        )
    }

    /// Target versus achieved rate per operation group; with staged rates the target is the mean rate
    /// the stages asked of the group.
    private func groupRates(load: GroupLoad, collector: IntervalCollector, seconds: Double) -> [RunResult.GroupRate] {
        let stagePlan = load.stagePlan
        let openBaseRate = load.openBaseRate
        let groupCumulative = collector.groupCumulative
        return workload.groups.enumerated().map { index, group in
            var rate = RunResult.GroupRate(
                group: group,
                recorded: groupCumulative[index] ?? RecordedInterval(),
                durationSeconds: seconds
            )
            if let target = rate.target, stagePlan.steps.contains(where: { $0.stage.rate != nil }),
                stagePlan.totalDuration > .zero, openBaseRate > 0
            {
                let asked = stagePlan.steps.reduce(0.0) { total, step in
                    total + step.stage.duration.seconds * (step.stage.rate ?? openBaseRate) * target / openBaseRate
                }
                rate.target = asked / stagePlan.totalDuration.seconds
            }
            return rate
        }
    }

    /// Step 6 (each interval and the last): session figures now, with the latest server statistics, for
    /// the live line and the metrics push.
    private func status(counters: SessionCounters, outstandingRequests: Int) -> SessionStatus {
        SessionStatus(
            connected: counters.connectedNow,
            reconnects: counters.failover.reconnects,
            expirations: counters.expirations,
            outstandingRequests: outstandingRequests,
            servers: servers.withLockedValue { $0 },
            connectPhases: connectPhases.snapshot
        )
    }

    /// The first `abort_on_fail` threshold that fails on what was measured so far. Rates and counts
    /// only grow during a run, so they are judged at the end only.
    func failedAbortThreshold(_ thresholds: [Threshold], tick: IntervalCollector.Tick, startedAt: Date) -> String? {
        let judgeable = thresholds.filter { threshold in
            switch threshold.expression.metric {
            case .rate, .count: false
            default: true
            }
        }
        guard !judgeable.isEmpty else { return nil }
        let partial = RunResult(
            runId: runId,
            workload: workload.name,
            target: "",
            startedAt: startedAt,
            durationSeconds: tick.elapsedSeconds,
            seed: workload.seed,
            recorded: tick.cumulative,
            sessions: RunResult.SessionSummary(connected: 0, reconnects: 0, expired: 0),
            timeline: []
        )
        // No data yet is not a failure during the run: the first requests may still be in flight.
        return judgeable.evaluate(partial).first { !$0.passed && $0.observed != nil }?.threshold
    }

    static func sleep(until deadline: UInt64, stop: StopFlag) async {
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            guard now < deadline else { return }
            try? await Task.sleep(nanoseconds: min(deadline - now, 50_000_000))
        }
    }
}
