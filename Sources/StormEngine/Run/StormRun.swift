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
    public let onTick: (@Sendable (IntervalCollector.Tick, IntervalStatus) -> Void)?
    /// Scrape `mntr`/`srvr` from the target every 5 s for the metrics push.
    public let scrapeServers: Bool
    /// A snapshot whose tree (or shape) is built under the root before the workload starts.
    public let seed: SnapshotSeed?
    /// When the run calls its own figures generator-bound.
    public let generatorBounds: GeneratorBounds
    let stop = StopFlag()
    let servers = NIOLockedValueBox<[ServerStats]>([])
    let target = NIOLockedValueBox<String?>(nil)
    let interrupted = NIOLockedValueBox<Bool>(false)
    /// When every session lost its connection (monotonic ns), while none is back.
    let targetLost = NIOLockedValueBox<UInt64?>(nil)
    /// The measurement ended early because the target was gone past the session timeout.
    let targetGone = NIOLockedValueBox<Bool>(false)
    /// The `abort_on_fail` threshold that ended the run early.
    let abortedBy = NIOLockedValueBox<String?>(nil)
    /// The workload's faults, checked against the target before the run (nil without faults).
    let faultInjector = NIOLockedValueBox<FaultInjector?>(nil)
    /// The reconnect herd and its writer (nil without `herd:`).
    let herd = NIOLockedValueBox<(herd: ReconnectHerd, writer: SupervisedSession)?>(nil)
    /// TLS, SASL and digest auth for every session; the run's znodes get `security.runACL`.
    public let security: ClientSecurity
    /// `zkstorm run --secure`: the built-in server's TLS listener and SASL users; sessions connect to
    /// its TLS port with `security`.
    public let embeddedServerSecurity: ServerSecurityConfiguration?
    let connectPhases = ConnectPhaseRecorder()
    /// This run is one shard of several (`--shard I/N`): its slice, barrier and clock (nil: one process).
    public let shard: ShardContext?

    /// Session figures at an interval (the live line, the metrics push).
    public struct IntervalStatus: Sendable {
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
        onTick: (@Sendable (IntervalCollector.Tick, IntervalStatus) -> Void)? = nil,
        security: ClientSecurity = ClientSecurity(),
        embeddedServerSecurity: ServerSecurityConfiguration? = nil,
        seed: SnapshotSeed? = nil,
        shard: ShardContext? = nil
    ) {
        self.shard = shard
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

    func runAgainst(connectString: String, targetLabel: String, plan: SessionPlan) async throws -> Outcome {
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
        let barrier = shard.map {
            ShardBarrier(shard: $0.shard, root: layout.root, wait: $0.wait, acl: layout.acl, logger: logger)
        }
        do {
            if let barrier, !barrier.shard.isLeader {
                // Shard 0 sets the tree up; this shard waits for it and learns what to remove if last.
                let ancestors = try await barrier.awaitSetup(control.client, stop: stop)
                setup.createdAncestors.withLockedValue { $0 = ancestors }
            } else {
                try await setup.create(watchedKind: workload.watches?.kind, stop: stop, chroot: chroot)
                if let seed {
                    try await SnapshotSeeder.seed(seed.requests(root: root), client: control.client, stop: stop)
                }
                try await barrier?.publishSetup(
                    control.client,
                    createdAncestors: setup.createdAncestors.withLockedValue { $0 }
                )
            }
        } catch let error as RunError where error.kind == .usage {
            await control.close()
            throw error
        } catch {
            // Part of the tree may exist: remove it before reporting.
            try? await removeTree(setup, barrier: barrier, client: await control.readyClient(timeout: cleanupWait))
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
                control: control,
                barrier: barrier,
                opened: &sessions
            )
        } catch {
            await herd.withLockedValue({ $0?.herd })?.close()
            await sessions.close()
            try? await removeTree(setup, barrier: barrier, client: await control.readyClient(timeout: cleanupWait))
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
                    try await removeTree(setup, barrier: barrier, client: client)
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
                try await removeTreeAtEnd(setup, barrier: barrier, control: control, wait: cleanupWait)
            } catch {
                // The measurement is whole: report it, and say what is left and how to remove it.
                finished.rootLeftBehind = "\(error)"
            }
        }
        await control.close()
        return finished
    }

    /// Removes the run tree at the end of a run with the control session, or with its replacement when
    /// the session expired at the end: a server frozen past the session timeout expires every session
    /// as it resumes, and the client learns it only from its next request or reconnect.
    func removeTreeAtEnd(
        _ setup: RunRootSetup,
        barrier: ShardBarrier?,
        control: SupervisedSession,
        wait: Duration
    ) async throws {
        let deadline = RunClock.now() + UInt64(wait.nanoseconds)
        var client = await control.readyClient(timeout: wait)
        while true {
            do {
                return try await removeTree(setup, barrier: barrier, client: client)
            } catch {
                guard let replacement = await Self.replacement(of: client, in: control, until: deadline) else {
                    throw error
                }
                client = replacement
            }
        }
    }

    /// The session that replaces `client` in `control` once it is open: nil when none starts within a
    /// second (the failure was not an expiry) or it is not open by `deadline`.
    static func replacement(
        of client: ZooKeeperClient,
        in control: SupervisedSession,
        until deadline: UInt64
    ) async -> ZooKeeperClient? {
        let noneAfter = RunClock.now() + 1_000_000_000
        while RunClock.now() < deadline {
            let (current, replacing) = (control.client, control.isReplacing)
            if current !== client && !replacing { return current }
            if !replacing && current === client && RunClock.now() > noneAfter { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Removes the run tree; in a sharded run this shard leaves the barrier first, and only the last
    /// one out removes the tree.
    func removeTree(_ setup: RunRootSetup, barrier: ShardBarrier?, client: ZooKeeperClient) async throws {
        if let barrier, !(await barrier.leave(client)) { return }
        try await setup.cleaner(client).removeAll()
    }

    /// Opens the sessions, warms up, measures, and assembles the result: the steps below, in order.
    func measure(
        pool: SessionConnector,
        layout: RunLayout,
        plan: SessionPlan,
        targetLabel: String,
        counters: SessionCounters,
        control: SupervisedSession,
        barrier: ShardBarrier?,
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
        let storm = try await openStorm(
            pool: pool,
            layout: layout,
            collector: collector,
            follows: barrier != nil && !(shard?.plan.writesStorm ?? false),
            opened: &opened
        )
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
        if let barrier, let shard { try await meet(barrier, shard: shard, layout: layout, control: control) }
        let startedAt = Date().addingTimeInterval(workload.warmup.seconds)
        let statsBefore = await ServerStatsScraper.scrape(connectString: pool.connectString)
        let measured = await runMeasurement(
            load: load,
            storm: storm,
            collector: collector,
            counters: counters,
            connectString: pool.connectString,
            startedAt: startedAt,
            follow: barrier.map { barrier in
                StormFollow(reader: control, toWriter: shard?.toWriter ?? .zero, barrier: barrier)
            }
        )
        if let barrier, let shard {
            // Everyone done (or gone) before the ledger: the writer's last write is in.
            let quick = measured.interrupted || measured.lostAt != nil
            if let storm { await shareStormStamps(storm.storm, barrier: barrier, control: control) }
            shard.lost = await barrier.finish(await control.readyClient(timeout: .seconds(1)), quick: quick)
            if let storm {
                await recordFollowedRounds(
                    storm.storm,
                    barrier: barrier,
                    control: control,
                    toWriter: shard.toWriter ?? .zero,
                    measureStart: collector.measureStart ?? 0
                )
            }
        }
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
    struct GroupLoad {
        var closedDrivers: [ClosedLoopDriver] = []
        var openDrivers: [OpenLoopDriver] = []
        var workers: [SessionWorker] = []
        var budget: RequestBudget?
        var stagePlan: StagePlan
        /// The total rate of every open loop: a stage's rate is shared in proportion to their own rates.
        var openBaseRate: Double
    }

    /// The watch storm, its watchers connected and armed, and the session that writes (in a shard that
    /// follows another's writes: the session that reads the ledger).
    struct StormSetup {
        var storm: WatchStorm
        var writer: SupervisedSession
    }

    /// A shard's storm: who reads the writer's payloads, its clock against the writer's, and where to
    /// see that the writer is done.
    struct StormFollow {
        var reader: SupervisedSession
        var toWriter: ClockOffset
        var barrier: ShardBarrier
    }

    /// How long the measurement ran, whether `interrupt()` ended it, when the target was lost, and the
    /// generator's monitor (started with the measurement; nil when the run ended before it began).
    struct Measured {
        var seconds: Double
        var interrupted: Bool
        /// Seconds since measurement began when the target was last seen (every session disconnected).
        var lostAt: Double?
        var monitor: GeneratorMonitor?
        /// Wall clock when measurement began (ns since 1970).
        var startUnixNanoseconds: Int64?
        /// When the measurement began (RunClock ns).
        var start: UInt64? = nil
    }

}
