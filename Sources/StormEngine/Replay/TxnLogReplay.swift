import Atomics
import DequeModule
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StormMetrics
import ZooKeeperClient
import ZooKeeperFiles
import ZooKeeperProtocol
import ZooKeeperServer

/// What `zkstorm replay` runs.
public struct ReplayConfiguration: Sendable {
    /// Transaction log files or version-2 directories.
    public var files: [String]
    /// Connect string; nil = the built-in server.
    public var target: String?
    public var options = ReplayPlan.Options()
    public var runId: String
    /// Root of everything the replay writes; nil = `/zkstorm/<run-id>`.
    public var root: String?
    /// Leave the rebuilt tree in place.
    public var keep = false
    public var sessionTimeout: Duration = .seconds(30)
    /// A step that goes out later than this after its intended time counts as a late start.
    public var lateThreshold: Duration = .milliseconds(1)
    /// Requests in flight across all sessions; a step waits while the window is full.
    public var maxInFlight = 16384
    /// Event loops the replay sessions (and their pacers) run on.
    public var eventLoops = 1
    /// Writes an HdrHistogram interval log once a second: per op, `schedule_lag` and `watch_lag`.
    public var hlog: HlogRecorder?
    /// Watcher sessions, each holding a persistent recursive watch on the root, so every path the log
    /// writes is watched K times; each event's lag is measured from the send of the write that fired it.
    public var watchersPerPath = 0
    /// TLS, SASL and digest auth for every replay, watcher and control session.
    public var security = ClientSecurity()
    /// Secures the built-in server (`--secure`); the sessions then connect to its TLS port.
    public var embeddedServerSecurity: ServerSecurityConfiguration?
    public var logger: Logger

    public init(files: [String], runId: String, logger: Logger) {
        self.files = files
        self.runId = runId
        self.logger = logger
    }

    public var resolvedRoot: String { root ?? "/zkstorm/\(runId)" }
}

/// Replays logged writes against a target, open loop, under the run root. See `ReplayPlan` for what is
/// replayed and how; this type reads the files, opens and closes sessions, paces the steps on the
/// run clock and records latency from each step's intended time.
public enum TxnLogReplay {
    /// Reads every log once (in zxid order, one file at a time), noting torn tails, and returns the
    /// plan's sessions and counts; the steps themselves are streamed from the files during the replay
    /// (`steps(of:)`). Throws `RunError(.data)` for a file that is not a log or an entry that cannot be
    /// decoded.
    public static func plan(_ configuration: ReplayConfiguration) throws -> (ReplayPlan, [String]) {
        let files: TxnLogFiles
        do {
            files = TxnLogFiles(
                paths: try DataDirectory.files(configuration.files, kind: .log).sorted {
                    (ZooKeeperDataFile(path: $0)?.zxid ?? 0) < (ZooKeeperDataFile(path: $1)?.zxid ?? 0)
                }
            )
        } catch {
            throw RunError(.data, error.description)
        }
        var plan = ReplayPlan(root: configuration.resolvedRoot)
        plan.options = configuration.options
        do {
            while let entry = try files.next() {
                plan.add(entry)
                plan.steps.removeAll(keepingCapacity: true)
            }
        } catch {
            throw RunError(.data, error.description)
        }
        if files.outOfOrder > 0 {
            plan.skipped["zxid not above the previous entry (overlapping logs)"] = files.outOfOrder
        }
        plan.logFiles = files.paths
        plan.scannedThroughZxid = files.lastZxid
        return (plan, files.notes)
    }

    /// A plan's steps in order: those it holds, or else those streamed from its log files.
    public static func steps(of plan: ReplayPlan) -> AnySequence<ReplayStep> {
        plan.logFiles.isEmpty ? AnySequence(plan.steps) : AnySequence(ReplayStepStream(plan))
    }

    public static func run(
        _ configuration: ReplayConfiguration,
        stop: StopFlag = StopFlag()
    ) async throws -> ReplayResult {
        let (plan, notes) = try plan(configuration)
        var server: ZooKeeperServer?
        let connectString: String
        let targetLabel: String
        if let target = configuration.target {
            connectString = target
            targetLabel = target
        } else {
            guard configuration.security.isEmpty || configuration.embeddedServerSecurity != nil else {
                throw RunError(
                    .usage,
                    "TLS, SASL and digest options need --target (or --secure for a secured built-in server)"
                )
            }
            let embedded = try await EmbeddedServer.start(security: configuration.embeddedServerSecurity)
            server = embedded.server
            connectString = embedded.connectString
            targetLabel = embedded.label
        }
        do {
            var result = try await run(plan, configuration, connectString: connectString, stop: stop)
            result.target = targetLabel
            if !configuration.security.isEmpty { result.security = configuration.security.summary }
            result.notes = notes + result.notes
            if let server { try? await server.shutdown() }
            return result
        } catch {
            if let server { try? await server.shutdown() }
            throw error
        }
    }

    /// Replays a plan against `connectString` (the caller owns the server).
    public static func run(
        _ plan: ReplayPlan,
        _ configuration: ReplayConfiguration,
        connectString: String,
        stop: StopFlag = StopFlag()
    ) async throws -> ReplayResult {
        let logger = configuration.logger
        var connector = SessionConnector(
            connectString: connectString,
            counters: SessionCounters(),
            logger: logger,
            sessionTimeout: configuration.sessionTimeout
        )
        connector.security = configuration.security
        let pool = connector
        let control = try await pool.connect()
        let root = plan.root
        try await createRoot(root, client: control)
        let layout = RunLayout(root: root, workload: Workload(name: "replay", keyspace: KeySpace(count: 0)))
        let state = ReplayState()
        let recorder = OperationRecorder()
        // Everything recorded so far (drained from `recorder` once a second when an hlog is written).
        let cumulative = NIOLockedValueBox(RecordedInterval())
        let started = Date()
        // The replay sessions get loops of their own, so pacing never waits behind the built-in server's
        // or the watchers' work; each session lives on loop (index mod loops) with its pacer.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoops)
        let pacerLoops = Array(loops.makeIterator())
        // Watchers: one persistent recursive watch on the root per session sees every replayed write.
        let lastSent = NIOLockedValueBox<[String: UInt64]>([:])
        let watching = configuration.watchersPerPath > 0
        var watchers: [ZooKeeperClient] = []
        var pacers: [ReplayPacer] = []
        var origin = RunClock.now()
        var notes: [String] = []
        // Writes the hlog's intervals while the replay runs; stopped before the loops shut down.
        var hlogTicker: Task<Void, Never>?
        do {
            for _ in 0..<configuration.watchersPerPath {
                let watcher = try await pool.connect(onEvent: { event in
                    let sent = lastSent.withLockedValue { $0[event.path] }
                    let lag = sent.map { event.receivedAt > $0 ? event.receivedAt - $0 : 0 }
                    recorder.recordWatchEvent(.recursive, lagNanoseconds: lag)
                })
                try await watcher.addWatch(root, mode: .persistentRecursive)
                watchers.append(watcher)
            }
            // Sessions that were already open when the replayed range begins, each on its pacer's loop.
            let opened = try await SessionConnector.openInParallel(
                count: plan.openAtStart.count,
                parallelism: 32,
                open: { index in
                    var connector = pool
                    connector.eventLoopGroup = pacerLoops[plan.openAtStart[index] % pacerLoops.count]
                    return try await connector.connect()
                },
                closeOpened: { await pool.close($0) }
            )
            let threshold =
                UInt64(configuration.lateThreshold.components.seconds) * 1_000_000_000
                + UInt64(configuration.lateThreshold.components.attoseconds / 1_000_000_000)
            origin = RunClock.now() + 20_000_000
            let context = ReplayPacer.Context(
                state: state,
                recorder: recorder,
                origin: origin,
                lateThreshold: threshold,
                maxInFlight: configuration.maxInFlight,
                stop: stop,
                lastSent: watching ? lastSent : nil
            )
            pacers = pacerLoops.map { ReplayPacer(eventLoop: $0, connector: pool, context: context) }
            for (session, client) in zip(plan.openAtStart, opened) {
                pacers[session % pacers.count].adopt(session, client: client)
            }
            let running = pacers
            let start = origin
            hlogTicker = configuration.hlog.map { hlog in
                Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        if Task.isCancelled { break }
                        let (lag, _, _) = await Self.schedule(of: running)
                        Self.recordInterval(hlog, recorder, into: cumulative, scheduleLag: lag, origin: start)
                    }
                }
            }
            if let problem = try await feed(plan, to: pacers, state: state, origin: origin, stop: stop) {
                notes.append(problem)
            }
            for pacer in pacers { try await pacer.finishedFuture.get() }
            while state.inFlight > 0 { try await Task.sleep(for: .milliseconds(1)) }
        } catch {
            hlogTicker?.cancel()
            await hlogTicker?.value
            await shutDown(pacers, watchers: watchers, pool: pool, loops: loops)
            try? await control.close()
            throw error
        }
        let finished = RunClock.now()
        hlogTicker?.cancel()
        await hlogTicker?.value
        let (lag, lateStarts, stepsDone) = await Self.schedule(of: pacers)
        state.setSchedule(lag: lag, lateStarts: lateStarts)
        if watching {
            // Let the last notifications arrive before the watchers go.
            try? await Task.sleep(for: .milliseconds(200))
        }
        // Sessions the log left open: close them (the server removes their ephemerals, as it would when
        // they expired).
        await shutDown(pacers, watchers: watchers, pool: pool, loops: loops)
        if !configuration.keep {
            try await RunRootSetup(client: control, layout: layout, logger: logger).removeAll()
        }
        try? await control.close()

        if let hlog = configuration.hlog {
            Self.recordInterval(hlog, recorder, into: cumulative, scheduleLag: lag, origin: origin)
        }
        let interval = cumulative.withLockedValue { total in
            recorder.drain(into: &total)
            return total
        }
        var result = ReplayResult(
            plan: plan,
            interval: interval,
            state: state,
            runId: configuration.runId,
            kept: configuration.keep,
            startedAt: started,
            stepsDone: stepsDone,
            seconds: Double(finished - origin) / 1e9,
            pacing: configuration.options.pacing
        )
        result.notes = notes
        return result
    }

    /// The pacers' schedule lag, late starts and steps sent so far, merged.
    static func schedule(of pacers: [ReplayPacer]) async -> (LatencyHistogram, Int, Int) {
        var lag = LatencyHistogram()
        var lateStarts = 0
        var steps = 0
        for pacer in pacers {
            guard let (histogram, late, sent) = try? await pacer.schedule().get() else { continue }
            lag.merge(histogram)
            lateStarts += late
            steps += sent
        }
        return (lag, lateStarts, steps)
    }

    /// One hlog interval: what the recorder holds is added to `cumulative`, and every tag's cumulative
    /// histogram goes to the hlog, which writes the difference from the previous interval.
    static func recordInterval(
        _ hlog: HlogRecorder,
        _ recorder: OperationRecorder,
        into cumulative: NIOLockedValueBox<RecordedInterval>,
        scheduleLag lag: LatencyHistogram,
        origin: UInt64
    ) {
        let total = cumulative.withLockedValue { total in
            recorder.drain(into: &total)
            return total
        }
        var tags = total.operations.map { ($0.name, total.latency(of: $0)) }
        tags.append(("schedule_lag", lag))
        if !total.watchLag.isEmpty { tags.append(("watch_lag", total.allWatchLag)) }
        let now = RunClock.now()
        hlog.record(elapsedSeconds: now > origin ? Double(now - origin) / 1e9 : 0, tags)
    }

    /// Feeds the plan's steps (held, or streamed from its log files) to the pacers from a thread of its
    /// own at a lower scheduling priority, and returns why the stream ended early, if it did.
    ///
    /// Reading and planning cost ~10 µs a step in bursts of a chunk, and the feeder is seconds ahead of
    /// the schedule, while a pacer's wake-up is due to the microsecond: on a machine with few cores a
    /// feeder burst on the same footing as the pacers and the built-in server delays a pacer by a
    /// scheduler slice (measured: 3–4 ms). At nice +10 the kernel gives it a tenth of their weight.
    /// Cancelling the caller stops the feed as a stop does.
    static func feed(
        _ plan: ReplayPlan,
        to pacers: [ReplayPacer],
        state: ReplayState,
        origin: UInt64,
        stop: StopFlag
    ) async throws -> String? {
        let cancelled = StopFlag()
        let problem = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let thread = Thread {
                    BackgroundPriority.lowerCurrentThread()
                    if plan.logFiles.isEmpty {
                        feed(plan.steps, to: pacers, state: state, origin: origin, stop: [stop, cancelled])
                        continuation.resume(returning: nil)
                    } else {
                        let stream = ReplayStepStream(plan)
                        feed(stream, to: pacers, state: state, origin: origin, stop: [stop, cancelled])
                        continuation.resume(returning: stream.problem.withLockedValue { $0 })
                    }
                }
                thread.name = "zkstorm-replay-feeder"
                thread.start()
            }
        } onCancel: {
            cancelled.set()
        }
        try Task.checkCancellation()
        return problem
    }

    /// Hands the steps to their sessions' pacers a chunk at a time, keeping each pacer at most
    /// `lookahead` steps and `ahead` ns of schedule ahead of what it has sent (so memory holds a
    /// couple of seconds of steps), then tells the pacers the input is complete. Blocks its thread.
    static func feed(
        _ steps: some Sequence<ReplayStep>,
        to pacers: [ReplayPacer],
        state: ReplayState,
        origin: UInt64,
        stop: [StopFlag],
        chunk: Int = 2048,
        lookahead: Int = 16384,
        ahead: UInt64 = 2_000_000_000
    ) {
        var batches = [[ReplayStep]](repeating: [], count: pacers.count)
        var batched = 0
        func send() {
            for batch in batches where !batch.isEmpty { state.register(batch) }
            for (pacer, batch) in zip(pacers, batches) where !batch.isEmpty { pacer.feed(batch) }
            for index in batches.indices { batches[index].removeAll(keepingCapacity: true) }
            batched = 0
        }
        func stopped() -> Bool { stop.contains { $0.isSet } }
        for step in steps {
            batches[step.session % pacers.count].append(step)
            batched += 1
            if batched < chunk { continue }
            send()
            while !stopped()
                && (pacers.contains { $0.pending.load(ordering: .relaxed) > lookahead }
                    || origin + step.offset > RunClock.now() + ahead)
            {
                usleep(2000)
            }
            if stopped() { break }
        }
        send()
        for pacer in pacers { pacer.finishInput() }
    }

    /// Closes the sessions the pacers still hold and the watchers, then the replay's event loops.
    static func shutDown(
        _ pacers: [ReplayPacer],
        watchers: [ZooKeeperClient],
        pool: SessionConnector,
        loops: MultiThreadedEventLoopGroup
    ) async {
        var clients = watchers
        for pacer in pacers { clients += (try? await pacer.openClients().get()) ?? [] }
        await pool.close(clients)
        try? await loops.shutdownGracefully()
    }

    /// Creates the root's missing ancestors (empty, left in place) and the root, refusing one that exists.
    static func createRoot(_ root: String, client: ZooKeeperClient) async throws {
        var ancestors: [String] = []
        var parent = ZooKeeperPath.parent(of: root)
        while parent != "/" {
            ancestors.insert(parent, at: 0)
            parent = ZooKeeperPath.parent(of: parent)
        }
        for ancestor in ancestors {
            do {
                _ = try await client.create(ancestor)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                continue
            } catch let error as ZooKeeperError {
                throw RunError(.unavailable, "cannot create \(ancestor) on the target: \(error.message)")
            }
        }
        do {
            _ = try await client.create(root, data: Array("zkstorm replay root".utf8))
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            throw RunError(
                .usage,
                "the run root \(root) already exists (another run, or a kept replay); choose another --run-id"
            )
        } catch let error as ZooKeeperError {
            throw RunError(.unavailable, "cannot create the run root \(root): \(error.message)")
        }
    }
}

/// The replay's shared state: the dependency keys of steps not yet finished, the window, skips and the
/// merged schedule figures. Touched by the feeder, every pacer's loop and reply callbacks, always under
/// its lock.
///
/// A step's keys are registered when it is fed (in zxid order, before any pacer sees it) and released
/// when it finishes or is skipped, so a step never overtakes an earlier step of another session that
/// holds a key it waits on, even while that step is still queued behind its session.
final class ReplayState: Sendable {
    struct Holder: Equatable {
        var session: Int
        var zxid: Int64
    }

    struct Locked {
        /// Dependency key → steps not yet finished that hold it, in zxid order. A busy directory's
        /// "c" key holds every create and delete under it a couple of seconds ahead (tens of thousands at
        /// 20,000 writes/s), so these are deques changed in place: a release near the front costs O(1),
        /// never a copy of the whole list under the lock the pacers share.
        var pending: [String: Deque<Holder>] = [:]
        var inFlight = 0
        var lag = LatencyHistogram()
        var lateStarts = 0
        var skipped: [String: Int] = [:]
    }

    let locked = NIOLockedValueBox(Locked())

    var inFlight: Int { locked.withLockedValue { $0.inFlight } }

    func skip(_ reason: String) { locked.withLockedValue { $0.skipped[reason, default: 0] += 1 } }

    /// Registers the keys the steps hold; called in step order before they are fed.
    func register(_ steps: [ReplayStep]) {
        locked.withLockedValue { state in
            for step in steps {
                for key in step.holds {
                    state.pending[key, default: []].append(Holder(session: step.session, zxid: step.zxid))
                }
            }
        }
    }

    /// Starts `step` when the window has room and no earlier step of another session holds a key it
    /// waits on.
    func tryBegin(_ step: ReplayStep, maxInFlight: Int) -> Bool {
        locked.withLockedValue { state in
            if state.inFlight >= maxInFlight { return false }
            for key in step.waitsOn {
                guard let holders = state.pending[key] else { continue }
                // Holders are in zxid order: only those before this step can block it.
                for holder in holders {
                    if holder.zxid >= step.zxid { break }
                    if holder.session != step.session { return false }
                }
            }
            state.inFlight += 1
            return true
        }
    }

    func setSchedule(lag: LatencyHistogram, lateStarts: Int) {
        locked.withLockedValue {
            $0.lag = lag
            $0.lateStarts = lateStarts
        }
    }

    /// A started step completed: its window slot and keys are released.
    func finish(_ step: ReplayStep) {
        locked.withLockedValue { state in
            state.inFlight -= 1
            Self.release(step, in: &state)
        }
    }

    /// A step that was fed but never started (skipped, or dropped by a stop) releases its keys.
    func release(_ step: ReplayStep) {
        locked.withLockedValue { Self.release(step, in: &$0) }
    }

    private static func release(_ step: ReplayStep, in state: inout Locked) {
        let holder = Holder(session: step.session, zxid: step.zxid)
        for key in step.holds {
            // Mutated through the dictionary's own storage (no copy); steps mostly finish in order, so
            // the holder is found near the front.
            guard let emptied = state.pending[key]?.remove(holder) else { continue }
            if emptied { state.pending[key] = nil }
        }
    }
}

extension Deque<ReplayState.Holder> {
    /// Removes `holder` if present; true when that left the deque empty, nil when it was not there.
    fileprivate mutating func remove(_ holder: ReplayState.Holder) -> Bool? {
        guard let index = firstIndex(of: holder) else { return nil }
        remove(at: index)
        return isEmpty
    }
}
