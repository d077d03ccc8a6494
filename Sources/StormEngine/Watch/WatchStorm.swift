import Atomics
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperClient
import ZooKeeperProtocol

/// Watch-storm rounds: N watcher sessions watch the `watched` znodes; each round a writer changes every
/// one of them and the storm measures, per watcher, the time from the write's send to the decoded
/// notification (same monotonic clock, same process). One-shot watches are re-armed as their event
/// arrives or when the round is over (`storm.rearm`), timing the re-arm and counting versions written in
/// between.
///
/// The read path does nothing per notification but keep its arrival stamp: notifications go to an
/// inbox of the event loop that read them, and the loop records them (tracker, ledger) and sends the
/// re-arms in one batch once it has drained every socket epoll reported ready, so the next watcher's
/// socket is read before any bookkeeping or re-arm request of this one.
///
/// Stages with `watchers` ramp the storm: every watcher session is connected at setup, the first
/// `watchers` of them hold a watch, and between rounds joining watchers arm and leaving ones remove their
/// watches (removeWatches), so each round is due to exactly the watchers active in it.
final class WatchStorm: Sendable {
    let spec: WatchSpec
    let stagePlan: StagePlan
    let layout: RunLayout
    let recorder: OperationRecorder
    let logger: Logger
    private let znodeIndex: [String: Int]
    private let sessions = NIOLockedValueBox<[SupervisedSession]>([])
    /// Notifications of watched znodes (every one, in a round or not), for the watch ledger.
    private let ledger = NIOLockedValueBox(LedgerCounts())
    /// Storm writes the writer saw succeed.
    private let acknowledgedWrites = ManagedAtomic<UInt64>(0)

    struct LedgerCounts {
        var received: UInt64 = 0
        var collapsed: UInt64 = 0
        var late: UInt64 = 0
    }
    let state: NIOLockedValueBox<State>
    /// A shard that watches another shard's writes: each notification is attributed to its round by
    /// version and timed, once the writer is done, against its wall-clock stamp (WatchStorm+Follower.swift).
    let follows: Bool
    /// One inbox per event loop of the client group, keyed by the loop's identity.
    private let inboxes: [ObjectIdentifier: NIOLoopBoundBox<StormInbox>]
    /// `watches.stall`: the watchers that stop reading mid-storm (StalledWatchers.swift).
    let stall: StalledWatchers?

    struct State {
        /// Watchers holding a watch: the first `active` sessions (all of them without watcher stages).
        var active: Int
        /// Per watched znode, every storm write in send order: the watchers active when it was sent and
        /// whether its reply came back, so a ramped run's ledger knows what each applied write made due.
        var writes: [[WatchLedger.Write]]
        var tracker: StormRoundTracker?
        /// Version (cversion for child watches) each watcher saw when it last armed, per znode.
        var armedVersion: [Int32]
        var strayEvents: UInt64 = 0
        /// One-shot re-arms sent and not yet answered: the next round waits for them, so a missing
        /// notification means a lost one, not a watch that was not set again yet.
        var pendingRearms = 0
        /// `rearm: after-round`: watches that fired in this round, re-armed once it is over.
        var deferredRearms: [StormArrival] = []
        /// Following another shard's writes: a tracker per round (the round is the version the write
        /// made), and per watcher and znode the last version a persistent watch reported.
        var followed: [Int: StormRoundTracker] = [:]
        var seenVersion: [Int32] = []
        /// Writing: the wall-clock stamp of each round's payload (ns since 1970), for the other shards.
        var sentWall: [Int: UInt64] = [:]
        /// Following with data watches: per watched znode, the writer's stamp of each round (round →
        /// wall ns) as read from the payload of a re-arming getData, so the rounds are timed even when
        /// the writer dies before publishing its stamps.
        var payloadStamps: [[Int: UInt64]] = []
    }

    init(
        spec: WatchSpec,
        layout: RunLayout,
        recorder: OperationRecorder,
        logger: Logger,
        stages: StagePlan = StagePlan([]),
        follows: Bool = false
    ) {
        self.follows = follows
        self.spec = spec
        self.stagePlan = stages
        self.layout = layout
        self.recorder = recorder
        self.logger = logger
        var index: [String: Int] = [:]
        for (i, path) in layout.watched.enumerated() { index[path] = i }
        znodeIndex = index
        state = NIOLockedValueBox(
            State(
                active: stages.watchers(at: -1, of: spec.watchers),
                writes: Array(repeating: [], count: layout.watched.count),
                armedVersion: Array(repeating: 0, count: spec.watchers * spec.znodes)
            )
        )
        var inboxes: [ObjectIdentifier: NIOLoopBoundBox<StormInbox>] = [:]
        for loop in WatcherEventLoop.allLoops {
            inboxes[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(StormInbox(), eventLoop: loop)
        }
        self.inboxes = inboxes
        stall = spec.stall.map {
            StalledWatchers(spec: $0, watchers: spec.watchers, layout: layout, logger: logger)
        }
    }

    var watcherSessions: [SupervisedSession] { sessions.withLockedValue { $0 } }

    /// Watchers holding a watch now.
    var activeWatchers: Int { state.withLockedValue { $0.active } }

    /// Connects the watcher sessions, routing their events here. A watcher whose session expires gets
    /// a new session with its watches set again.
    func connectWatchers(_ shared: SessionConnector) async throws {
        var own = shared
        own.eventLoopGroup = WatcherEventLoop.group
        let pool = own
        let connected = try await SupervisedSession.connect(pool: pool, count: spec.watchers) {
            [self] watcher, event in
            handle(watcher: watcher, event: event)
        }
        for (watcher, session) in connected.enumerated() {
            session.setOnReplaced { [self] client in
                // A watcher a stage has let go holds no watch; it arms again if a later stage needs it.
                guard watcher < activeWatchers else { return }
                do {
                    let count = try await arm(watcher: watcher, client: client)
                    pool.counters.failover.watchesRecreated(count)
                } catch {
                    logger.debug(
                        "re-creating watches failed",
                        metadata: ["watcher": "\(watcher)", "error": "\(error)"]
                    )
                }
            }
        }
        sessions.withLockedValue { $0 = connected }
        stall?.setConnectString(pool.connectString)
    }

    /// Sets the watches of every watcher the first stage needs (all of them without stages), before the
    /// rounds start.
    func arm() async throws {
        let active = activeWatchers
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (watcher, session) in watcherSessions.prefix(active).enumerated() {
                let client = session.client
                group.addTask { _ = try await self.arm(watcher: watcher, client: client) }
            }
            try await group.waitForAll()
        }
    }

    /// Sets one watcher's watches on `client` and records the versions it saw; returns how many.
    private func arm(watcher: Int, client: ZooKeeperClient) async throws -> Int {
        if spec.kind == .recursive {
            try await client.addWatch(layout.watchedDirectory, mode: .persistentRecursive)
            return 1
        }
        var versions: [(Int, Int32)] = []
        for (z, path) in layout.watched.enumerated() {
            let index = watcher * spec.znodes + z
            switch spec.kind {
            case .data: versions.append((index, try await client.getData(path, watch: true).stat.version))
            case .exist: versions.append((index, try await client.exists(path, watch: true)?.version ?? 0))
            case .child: versions.append((index, try await client.getChildren2(path, watch: true).stat.cversion))
            case .persistent: try await client.addWatch(path, mode: .persistent)
            case .recursive: break
            }
        }
        state.withLockedValue { state in
            for (index, version) in versions { state.armedVersion[index] = version }
        }
        return layout.watched.count
    }

    private var firingEvent: EventType { spec.kind == .child ? .nodeChildrenChanged : .nodeDataChanged }

    /// On the reading event loop: keep the arrival, and have the loop settle its batch after its reads.
    private func handle(watcher: Int, event: WatchEvent) {
        guard event.type == firingEvent, let z = znodeIndex[event.path] else { return }
        let arrival = StormArrival(
            watcher: Int32(truncatingIfNeeded: watcher),
            znode: Int32(truncatingIfNeeded: z),
            at: event.receivedAt
        )
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop, let bound = inboxes[ObjectIdentifier(loop)]
        else {
            settle(CollectionOfOne(arrival))
            return
        }
        let inbox = bound.value
        inbox.arrivals.append(arrival)
        guard !inbox.scheduled else { return }
        inbox.scheduled = true
        // Tasks run after the loop has handled every I/O event of its epoll batch.
        loop.execute { [self] in
            let inbox = bound.value
            let batch = inbox.arrivals
            inbox.arrivals.removeAll(keepingCapacity: true)
            inbox.scheduled = false
            settle(batch)
        }
    }

    /// Records a batch of arrivals in the round, the ledger, and re-arms (now or after the round).
    private func settle<Batch: Collection>(_ batch: Batch) where Batch.Element == StormArrival {
        // A following shard has no rounds of its own to wait for: its watchers re-arm at once.
        let deferRearm = spec.kind.isOneShot && spec.storm.rearm == .afterRound && !follows
        var rearmNow: [StormArrival] = []
        let late = state.withLockedValue { state -> UInt64 in
            var late: UInt64 = 0
            for arrival in batch {
                if Int(arrival.watcher) >= state.active {
                    // A watcher a stage let go: its watch was removed, nothing was due to it (the ledger
                    // shows it as excess) and it is not set again.
                    state.strayEvents += 1
                    continue
                }
                if follows {
                    followed(&state, arrival)
                    continue
                }
                if state.tracker == nil {
                    state.strayEvents += 1
                    late += 1
                    if deferRearm { rearmNow.append(arrival) }
                } else if Int(arrival.watcher) >= state.tracker!.watchers {
                    // A stalled watcher (`watches.stall`): the round does not wait for it.
                    state.strayEvents += 1
                } else {
                    state.tracker!.notification(
                        watcher: Int(arrival.watcher),
                        znode: Int(arrival.znode),
                        receivedAt: arrival.at
                    )
                    if deferRearm { state.deferredRearms.append(arrival) }
                }
            }
            return late
        }
        ledger.withLockedValue {
            $0.received += UInt64(batch.count)
            $0.late += late
        }
        guard spec.kind.isOneShot else { return }
        if deferRearm {
            for arrival in rearmNow {
                rearm(watcher: Int(arrival.watcher), znode: Int(arrival.znode), eventAt: arrival.at)
            }
        } else {
            for arrival in batch {
                rearm(watcher: Int(arrival.watcher), znode: Int(arrival.znode), eventAt: arrival.at)
            }
        }
    }

    /// Between rounds: arms the watchers joining (`target` above the active count) or removes the
    /// watches of those leaving; re-arms of leaving watchers stop at once.
    private func resize(to target: Int) async {
        let sessions = watcherSessions
        let active = activeWatchers
        if target < active {
            state.withLockedValue { $0.active = target }
            let paths = spec.kind == .recursive ? [layout.watchedDirectory] : layout.watched
            await withTaskGroup(of: Void.self) { group in
                for watcher in target..<min(active, sessions.count) {
                    let client = sessions[watcher].client
                    group.addTask { [logger] in
                        for path in paths {
                            do {
                                try await client.removeWatches(path, type: .any)
                            } catch let error as ZooKeeperError where error.code == .noWatcher {
                                // Nothing armed (a collapsed one-shot watch): nothing to remove.
                            } catch {
                                logger.debug(
                                    "removing a leaving watcher's watch failed",
                                    metadata: ["watcher": "\(watcher)", "error": "\(error)"]
                                )
                            }
                        }
                    }
                }
            }
        } else if target > active {
            await withTaskGroup(of: Void.self) { group in
                for watcher in active..<min(target, sessions.count) {
                    let client = sessions[watcher].client
                    group.addTask { [self] in
                        do {
                            _ = try await arm(watcher: watcher, client: client)
                        } catch {
                            logger.debug(
                                "arming a joining watcher failed",
                                metadata: ["watcher": "\(watcher)", "error": "\(error)"]
                            )
                        }
                    }
                }
            }
            state.withLockedValue { $0.active = target }
        }
    }

    func rearm(watcher: Int, znode z: Int, eventAt: UInt64, attempt: Int = 1) {
        guard watcher < activeWatchers,
            let session = sessions.withLockedValue({ watcher < $0.count ? $0[watcher] : nil })
        else { return }
        let client = session.client
        let path = layout.watched[z]
        let request: ZooKeeperRequest =
            switch spec.kind {
            case .data: .getData(path: path, watch: true)
            case .exist: .exists(path: path, watch: true)
            default: .getChildren2(path: path, watch: true)
            }
        let index = watcher * spec.znodes + z
        state.withLockedValue { $0.pendingRearms += 1 }
        client.send(request) { [self] result, _, receivedAt in
            state.withLockedValue { $0.pendingRearms -= 1 }
            let response: ZooKeeperResponse
            switch result {
            case .success(let reply):
                response = reply
            case .failure(let error):
                // The connection went while re-arming: the client sends it again once it has a server
                // (the watch is not set until a reply says so). An expired session is re-armed whole by
                // its replacement.
                // A re-arm that met an expired client after its session was replaced goes to the
                // replacement (the replacement's own re-creation may have run before this watch fired).
                let replaced = error.code == .sessionExpired && session.client !== client
                if (error.code != .sessionExpired || replaced) && attempt < 50 {
                    client.callbackEventLoop.scheduleTask(in: .milliseconds(100)) {
                        self.rearm(watcher: watcher, znode: z, eventAt: eventAt, attempt: attempt + 1)
                    }
                }
                return
            }
            let version: Int32
            switch response {
            case .data(let data, let stat):
                version = stat.version
                if follows, let data { notePayloadStamp(data, znode: z) }
            case .stat(let stat): version = stat.version
            case .children2(_, let stat): version = stat.cversion
            default: return
            }
            let armed = state.withLockedValue { state in
                defer { state.armedVersion[index] = version }
                return state.armedVersion[index]
            }
            let collapsed = RearmArithmetic.versionsMissed(armedVersion: armed, rearmVersion: version)
            ledger.withLockedValue { $0.collapsed += collapsed }
            recorder.recordRearm(nanoseconds: receivedAt &- eventAt, versionsMissed: collapsed)
        }
    }

    /// Runs rounds until `rounds` are done, `end` passes, or `stop` is set; each round goes to the
    /// watchers the stage running at its start asks for (`measureStart`: where stages count from).
    func runRounds(writer session: SupervisedSession, measureStart: UInt64, end: UInt64, stop: StopFlag) async {
        let storm = spec.storm
        let interval = UInt64(storm.interval.nanoseconds)
        let timeout = UInt64(storm.timeout.nanoseconds)
        let writerId = UInt32(truncatingIfNeeded: ProcessInfo.processInfo.processIdentifier)
        for round in 1...storm.rounds {
            if round > 1 {
                let rearmDeadline = RunClock.now() + timeout
                while state.withLockedValue({ $0.pendingRearms > 0 }) && RunClock.now() < rearmDeadline && !stop.isSet {
                    try? await Task.sleep(nanoseconds: 500_000)
                }
            }
            guard !stop.isSet, RunClock.now() < end else { break }
            if stagePlan.rampsWatchers {
                let offset = Int64(bitPattern: RunClock.now() &- measureStart)
                let target = stagePlan.watchers(at: offset, of: spec.watchers)
                if target != activeWatchers { await resize(to: target) }
            }
            let roundStart = RunClock.now()
            guard !stop.isSet, roundStart < end else { break }
            let atS = Double(Int64(bitPattern: roundStart &- measureStart)) / 1e9
            await stall?.roundStarting(round, sessions: watcherSessions, writer: session.client, atS: atS)
            let active = state.withLockedValue { state in
                let watchers = stall?.roundWatchers(round: round, active: state.active) ?? state.active
                state.tracker = StormRoundTracker(round: round, watchers: watchers, znodes: spec.znodes)
                return state.active
            }
            let writer = session.client
            let wall = UInt64(Date().timeIntervalSince1970 * 1e9)
            state.withLockedValue { $0.sentWall[round] = wall }
            let payload = StormPayload(writer: writerId, sequence: UInt64(round), wallClockNanoseconds: wall).bytes
            for (z, path) in layout.watched.enumerated() {
                let request: ZooKeeperRequest =
                    spec.kind == .child
                    ? .create(CreateRequest(path: "\(path)/c\(round)", data: payload, acl: layout.acl), opCode: .create)
                    : .setData(path: path, data: payload, version: -1)
                writer.send(request) { [self] result, sentAt, _ in
                    switch result {
                    case .success:
                        acknowledgedWrites.wrappingIncrement(ordering: .relaxed)
                        state.withLockedValue {
                            $0.tracker?.writeSent(znode: z, at: sentAt)
                            $0.writes[z].append(WatchLedger.Write(watchers: active, acknowledged: true))
                        }
                    case .failure(let error):
                        state.withLockedValue {
                            $0.tracker?.writeFailed(znode: z)
                            $0.writes[z].append(WatchLedger.Write(watchers: active, acknowledged: false))
                        }
                        logger.debug("storm write failed", metadata: ["path": "\(path)", "error": "\(error)"])
                    }
                }
            }
            let deadline = roundStart + timeout
            while RunClock.now() < deadline && !stop.isSet {
                let done = state.withLockedValue { state in
                    guard let tracker = state.tracker else { return true }
                    return tracker.isSettled
                }
                if done { break }
                try? await Task.sleep(nanoseconds: 500_000)
            }
            guard
                let (tracker, deferred) = state.withLockedValue({ state -> (StormRoundTracker, [StormArrival])? in
                    defer {
                        state.tracker = nil
                        state.deferredRearms.removeAll()
                    }
                    return state.tracker.map { ($0, state.deferredRearms) }
                })
            else { break }
            // `rearm: after-round`: the round is over; every watcher that fired sets its watch again.
            for arrival in deferred {
                rearm(watcher: Int(arrival.watcher), znode: Int(arrival.znode), eventAt: arrival.at)
            }
            for lag in tracker.lags { recorder.recordWatchEvent(spec.kind, lagNanoseconds: lag) }
            var summary = tracker.summary()
            if stagePlan.rampsWatchers { summary.watchers = tracker.watchers }
            summary.atS = atS
            recorder.recordRound(summary)
            stall?.roundDone(round, tracker: tracker, summary: summary)
            let next = roundStart + interval
            let now = RunClock.now()
            if round < storm.rounds && next > now && !stop.isSet {
                try? await Task.sleep(nanoseconds: min(next - now, end > now ? end - now : 0))
            }
        }
        await stall?.end()
    }
}

extension WatchStorm {
    /// After the rounds: waits (bounded) for re-arms still under way, reads each watched znode's final
    /// version with `reader`, and accounts for every notification the writes made due.
    func ledgerSummary(reader: ZooKeeperClient, settle: Duration) async -> WatchLedger.Summary {
        let deadline = RunClock.now() + UInt64(settle.nanoseconds)
        while state.withLockedValue({ $0.pendingRearms > 0 }) && RunClock.now() < deadline {
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        var versions: [Int32] = []
        var read = true
        for path in layout.watched {
            do {
                let stat = try await reader.exists(path)
                versions.append(spec.kind == .child ? stat?.cversion ?? 0 : stat?.version ?? 0)
            } catch {
                read = false
                logger.debug(
                    "could not read a watched znode's version",
                    metadata: ["path": "\(path)", "error": "\(error)"]
                )
            }
        }
        let counts = ledger.withLockedValue { $0 }
        if !read {
            // Without the server's versions, fall back to the writes the storm saw acknowledged.
            versions = Array(repeating: Int32(clamping: acknowledgedWrites.load(ordering: .relaxed)), count: 1)
        }
        var summary = WatchLedger.summarize(
            finalVersions: versions,
            watchers: spec.watchers,
            received: counts.received,
            collapsed: counts.collapsed,
            late: counts.late,
            versionsRead: read
        )
        if stagePlan.rampsWatchers {
            // Each write was due to the watchers active when it was sent, not to every one connected.
            let writes = state.withLockedValue { $0.writes }
            summary.settle(due: WatchLedger.due(finalVersions: read ? versions : nil, writes: writes))
        }
        return summary
    }
}

/// One notification as the read path left it: who, which znode, when it was read.
struct StormArrival: Sendable {
    var watcher: Int32
    var znode: Int32
    var at: UInt64
}

/// Arrivals an event loop has read and not yet settled. Only its own loop touches it (NIOLoopBoundBox).
final class StormInbox {
    var arrivals: [StormArrival] = []
    var scheduled = false

    init() {
        arrivals.reserveCapacity(1024)
    }
}
