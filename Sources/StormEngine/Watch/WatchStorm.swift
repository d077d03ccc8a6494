import Foundation
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient
import ZooKeeperProtocol

/// Watch-storm rounds: N watcher sessions watch the `watched` znodes; each round a writer changes every
/// one of them and the storm measures, per watcher, the time from the write's send to the decoded
/// notification (same monotonic clock, same process). One-shot watches are re-armed from the event
/// callback, timing the re-arm and counting versions written in between.
final class WatchStorm: Sendable {
    let spec: WatchSpec
    let layout: RunLayout
    let recorder: OperationRecorder
    let logger: Logger
    private let znodeIndex: [String: Int]
    private let clients = NIOLockedValueBox<[ZooKeeperClient]>([])
    private let state: NIOLockedValueBox<State>

    struct State {
        var tracker: StormRoundTracker?
        /// Version (cversion for child watches) each watcher saw when it last armed, per znode.
        var armedVersion: [Int32]
        var strayEvents: UInt64 = 0
        /// One-shot re-arms sent and not yet answered: the next round waits for them, so a missing
        /// notification means a lost one, not a watch that was not set again yet.
        var pendingRearms = 0
    }

    init(spec: WatchSpec, layout: RunLayout, recorder: OperationRecorder, logger: Logger) {
        self.spec = spec
        self.layout = layout
        self.recorder = recorder
        self.logger = logger
        var index: [String: Int] = [:]
        for (i, path) in layout.watched.enumerated() { index[path] = i }
        znodeIndex = index
        state = NIOLockedValueBox(State(armedVersion: Array(repeating: 0, count: spec.watchers * spec.znodes)))
    }

    var watchers: [ZooKeeperClient] { clients.withLockedValue { $0 } }

    /// Connects the watcher sessions, routing their events here.
    func connectWatchers(_ pool: SessionPool) async throws {
        let connected = try await pool.connect(count: spec.watchers) { [self] watcher, event in
            handle(watcher: watcher, event: event)
        }
        clients.withLockedValue { $0 = connected }
    }

    /// Sets every watch (before the rounds start).
    func arm() async throws {
        let clients = watchers
        let spec = self.spec
        let layout = self.layout
        try await withThrowingTaskGroup(of: [(Int, Int32)].self) { group in
            for (watcher, client) in clients.enumerated() {
                group.addTask {
                    var versions: [(Int, Int32)] = []
                    if spec.kind == .recursive {
                        try await client.addWatch(layout.watchedDirectory, mode: .persistentRecursive)
                        return versions
                    }
                    for (z, path) in layout.watched.enumerated() {
                        let index = watcher * spec.znodes + z
                        switch spec.kind {
                        case .data: versions.append((index, try await client.getData(path, watch: true).stat.version))
                        case .exist: versions.append((index, try await client.exists(path, watch: true)?.version ?? 0))
                        case .child:
                            versions.append((index, try await client.getChildren2(path, watch: true).stat.cversion))
                        case .persistent: try await client.addWatch(path, mode: .persistent)
                        case .recursive: break
                        }
                    }
                    return versions
                }
            }
            for try await versions in group {
                state.withLockedValue { state in
                    for (index, version) in versions { state.armedVersion[index] = version }
                }
            }
        }
    }

    private var firingEvent: EventType { spec.kind == .child ? .nodeChildrenChanged : .nodeDataChanged }

    private func handle(watcher: Int, event: WatchEvent) {
        guard event.type == firingEvent, let z = znodeIndex[event.path] else { return }
        state.withLockedValue { state in
            if state.tracker == nil {
                state.strayEvents += 1
            } else {
                state.tracker!.notification(watcher: watcher, znode: z, receivedAt: event.receivedAt)
            }
        }
        if spec.kind.isOneShot { rearm(watcher: watcher, znode: z, eventAt: event.receivedAt) }
    }

    private func rearm(watcher: Int, znode z: Int, eventAt: UInt64) {
        guard let client = clients.withLockedValue({ watcher < $0.count ? $0[watcher] : nil }) else { return }
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
            guard case .success(let response) = result else { return }
            let version: Int32
            switch response {
            case .data(_, let stat), .stat(let stat): version = stat.version
            case .children2(_, let stat): version = stat.cversion
            default: return
            }
            let armed = state.withLockedValue { state in
                defer { state.armedVersion[index] = version }
                return state.armedVersion[index]
            }
            recorder.recordRearm(
                nanoseconds: receivedAt &- eventAt,
                versionsMissed: RearmArithmetic.versionsMissed(armedVersion: armed, rearmVersion: version))
        }
    }

    /// Runs rounds until `rounds` are done, `end` passes, or `stop` is set.
    func runRounds(writer: ZooKeeperClient, end: UInt64, stop: StopFlag) async {
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
            let roundStart = RunClock.now()
            guard !stop.isSet, roundStart < end else { break }
            state.withLockedValue {
                $0.tracker = StormRoundTracker(round: round, watchers: spec.watchers, znodes: spec.znodes)
            }
            let wall = UInt64(Date().timeIntervalSince1970 * 1e9)
            let payload = StormPayload(writer: writerId, sequence: UInt64(round), wallClockNanoseconds: wall).bytes
            for (z, path) in layout.watched.enumerated() {
                let request: ZooKeeperRequest =
                    spec.kind == .child
                    ? .create(CreateRequest(path: "\(path)/c\(round)", data: payload), opCode: .create)
                    : .setData(path: path, data: payload, version: -1)
                writer.send(request) { [self] result, sentAt, _ in
                    switch result {
                    case .success:
                        state.withLockedValue { $0.tracker?.writeSent(znode: z, at: sentAt) }
                    case .failure(let error):
                        logger.debug("storm write failed", metadata: ["path": "\(path)", "error": "\(error)"])
                    }
                }
            }
            let deadline = roundStart + timeout
            while RunClock.now() < deadline && !stop.isSet {
                let done = state.withLockedValue { state in
                    guard let tracker = state.tracker else { return true }
                    return tracker.isComplete && !tracker.writeSentAt.contains(nil)
                }
                if done { break }
                try? await Task.sleep(nanoseconds: 500_000)
            }
            guard
                let tracker = state.withLockedValue({ state -> StormRoundTracker? in
                    defer { state.tracker = nil }
                    return state.tracker
                })
            else { break }
            for lag in tracker.lags { recorder.recordWatchEvent(spec.kind, lagNanoseconds: lag) }
            recorder.recordRound(tracker.summary())
            let next = roundStart + interval
            let now = RunClock.now()
            if round < storm.rounds && next > now && !stop.isSet {
                try? await Task.sleep(nanoseconds: min(next - now, end > now ? end - now : 0))
            }
        }
    }
}
