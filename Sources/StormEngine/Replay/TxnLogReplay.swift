import Foundation
import Logging
import NIOConcurrencyHelpers
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
    /// Reads every log (in zxid order), noting torn tails; throws `RunError(.data)` for a file that is
    /// not a log or an entry that cannot be decoded.
    public static func plan(_ configuration: ReplayConfiguration) throws -> (ReplayPlan, [String]) {
        var entries: [TxnLogEntry] = []
        var notes: [String] = []
        let files: [String]
        do {
            files = try DataDirectory.files(configuration.files, kind: .log).sorted {
                (ZooKeeperDataFile(path: $0)?.zxid ?? 0) < (ZooKeeperDataFile(path: $1)?.zxid ?? 0)
            }
        } catch {
            throw RunError(.data, error.description)
        }
        for file in files {
            do {
                let reader = try TxnLogReader(path: file)
                while let entry = try reader.next() { entries.append(entry) }
                if case .torn(let offset, let reason, let skipped) = reader.end {
                    notes.append("\(file): torn tail at byte \(offset) (\(reason)); \(skipped) bytes skipped")
                }
            } catch {
                throw RunError(.data, error.description)
            }
        }
        entries.sort { $0.header.zxid < $1.header.zxid }
        let plan = ReplayPlan.build(entries, root: configuration.resolvedRoot, options: configuration.options)
        return (plan, notes)
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
        let state = ReplayState(sessions: plan.clientIds.count)
        let recorder = OperationRecorder()
        let started = Date()
        // Sessions that were already open when the replayed range begins.
        do {
            let opened = try await SessionConnector.openInParallel(
                count: plan.openAtStart.count,
                parallelism: 32,
                open: { _ in try await pool.connect() },
                closeOpened: { await pool.close($0) }
            )
            for (session, client) in zip(plan.openAtStart, opened) { state.setSession(session, .open(client)) }
        }
        // Watchers: one persistent recursive watch on the root per session sees every replayed write.
        let lastSent = NIOLockedValueBox<[String: UInt64]>([:])
        let watching = configuration.watchersPerPath > 0
        var watchers: [ZooKeeperClient] = []
        for _ in 0..<configuration.watchersPerPath {
            let watcher = try await pool.connect(onEvent: { event in
                let sent = lastSent.withLockedValue { $0[event.path] }
                let lag = sent.map { event.receivedAt > $0 ? event.receivedAt - $0 : 0 }
                recorder.recordWatchEvent(.recursive, lagNanoseconds: lag)
            })
            try await watcher.addWatch(root, mode: .persistentRecursive)
            watchers.append(watcher)
        }
        let threshold =
            UInt64(configuration.lateThreshold.components.seconds) * 1_000_000_000
            + UInt64(configuration.lateThreshold.components.attoseconds / 1_000_000_000)
        let origin = RunClock.now() + 20_000_000
        var stepsDone = 0
        // Driver-local: one task runs the schedule, so the lag histogram and the client cache need no lock.
        var lag = LatencyHistogram()
        var lateStarts = 0
        var clients = [ZooKeeperClient?](repeating: nil, count: plan.clientIds.count)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for step in plan.steps {
                if stop.isSet || Task.isCancelled { break }
                let intended = origin + step.offset
                var now = RunClock.now()
                // Sleeping costs more than the gaps at high rates: sleep only when more than 200 µs early;
                // after a wake-up every step that came due goes out at once.
                if intended > now + 200_000 {
                    try? await Task.sleep(nanoseconds: intended - now)
                }
                // Window and cross-session dependencies: wait, keeping the intended time.
                while !state.tryBegin(step, maxInFlight: configuration.maxInFlight) {
                    try? await Task.sleep(nanoseconds: 20_000)
                }
                var client: ZooKeeperClient?
                if step.action != .open {
                    client = clients[step.session]
                    if client == nil {
                        client = try await state.client(for: step.session, stop: stop)
                        clients[step.session] = client
                    }
                    if client == nil {
                        state.finish(step)
                        state.skip("session could not be opened")
                        continue
                    }
                }
                now = RunClock.now()
                // A step sent up to 200 µs early is timed from its send, so latency never runs negative.
                let timedFrom = min(intended, now)
                let late = now > intended ? now - intended : 0
                lag.record(nanoseconds: late)
                if late > threshold { lateStarts += 1 }
                stepsDone += 1
                switch step.action {
                case .open:
                    state.finish(step)
                    state.setSession(step.session, .opening)
                    group.addTask {
                        let began = RunClock.now()
                        do {
                            let client = try await pool.connect()
                            recorder.record(.connect, code: .ok, nanoseconds: RunClock.now() - began)
                            state.setSession(step.session, .open(client))
                        } catch {
                            recorder.record(.connect, code: .connectionLoss, nanoseconds: RunClock.now() - began)
                            state.setSession(step.session, .failed)
                        }
                    }
                case .close:
                    let closing = client!
                    clients[step.session] = nil
                    state.setSession(step.session, .closed)
                    group.addTask {
                        do {
                            try await closing.close()
                            recorder.record(.close, code: .ok, nanoseconds: RunClock.now() - timedFrom)
                        } catch {
                            recorder.record(.close, code: .connectionLoss, nanoseconds: RunClock.now() - timedFrom)
                        }
                        state.finish(step)
                    }
                case .request(let request, let operation):
                    if watching {
                        let paths: [String]
                        if case .multi(let ops) = request {
                            paths = ops.map(\.path)
                        } else {
                            paths = [request.path ?? ""]
                        }
                        lastSent.withLockedValue { table in for path in paths { table[path] = now } }
                    }
                    client!.send(request) { result, sentAt, receivedAt in
                        let code: ErrorCode
                        switch result {
                        case .success(.multi(let results)):
                            code =
                                results.lazy.compactMap { if case .error(let c) = $0, c != .ok { c } else { nil } }
                                .first ?? .ok
                        case .success: code = .ok
                        case .failure(let error): code = error.code
                        }
                        let done = receivedAt > 0 ? receivedAt : RunClock.now()
                        recorder.recordOpenLoop(
                            operation,
                            code: code,
                            intendedNanoseconds: done > timedFrom ? done - timedFrom : 0,
                            serviceNanoseconds: sentAt > 0 ? done &- sentAt : 0
                        )
                        state.finish(step)
                    }
                }
            }
            try await group.waitForAll()
        }
        state.setSchedule(lag: lag, lateStarts: lateStarts)
        while state.inFlight > 0 { try await Task.sleep(for: .milliseconds(1)) }
        let finished = RunClock.now()
        // Sessions the log left open: close them (the server removes their ephemerals, as it would when
        // they expired).
        let leftOpen = state.openClients()
        await pool.close(leftOpen)
        if watching {
            // Let the last notifications arrive before the watchers go.
            try? await Task.sleep(for: .milliseconds(200))
            await pool.close(watchers)
        }
        if !configuration.keep {
            try await RunRootSetup(client: control, layout: layout, logger: logger).removeAll()
        }
        try? await control.close()

        var interval = RecordedInterval()
        recorder.drain(into: &interval)
        return ReplayResult(
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

/// The replay's shared state: sessions, in-flight steps per path, the schedule-lag histogram.
/// Touched by the driver task and by reply callbacks on event loops, always under its lock.
final class ReplayState: Sendable {
    enum Session {
        case notOpened, opening
        case open(ZooKeeperClient)
        case failed, closed
    }

    struct Locked {
        var sessions: [Session]
        /// Dependency key → sessions with steps in flight holding it, and how many each.
        var pending: [String: [Int: Int]] = [:]
        var inFlight = 0
        var lag = LatencyHistogram()
        var lateStarts = 0
        var skipped: [String: Int] = [:]
    }

    let locked: NIOLockedValueBox<Locked>

    init(sessions: Int) {
        locked = NIOLockedValueBox(Locked(sessions: Array(repeating: .notOpened, count: sessions)))
    }

    var inFlight: Int { locked.withLockedValue { $0.inFlight } }

    func setSession(_ index: Int, _ session: Session) {
        locked.withLockedValue { $0.sessions[index] = session }
    }

    func skip(_ reason: String) { locked.withLockedValue { $0.skipped[reason, default: 0] += 1 } }

    /// The session's client, waiting while it is being opened; nil when it failed or was closed.
    func client(for index: Int, stop: StopFlag) async throws -> ZooKeeperClient? {
        while true {
            let session = locked.withLockedValue { $0.sessions[index] }
            switch session {
            case .open(let client): return client
            case .opening: try await Task.sleep(nanoseconds: 50_000)
            case .notOpened, .failed, .closed: return nil
            }
            if stop.isSet { return nil }
        }
    }

    /// Starts `step` when the window has room and no other session holds a key it waits on.
    func tryBegin(_ step: ReplayStep, maxInFlight: Int) -> Bool {
        locked.withLockedValue { state in
            if state.inFlight >= maxInFlight { return false }
            for key in step.waitsOn {
                if let holders = state.pending[key], holders.keys.contains(where: { $0 != step.session }) {
                    return false
                }
            }
            state.inFlight += 1
            for key in step.holds { state.pending[key, default: [:]][step.session, default: 0] += 1 }
            return true
        }
    }

    func setSchedule(lag: LatencyHistogram, lateStarts: Int) {
        locked.withLockedValue {
            $0.lag = lag
            $0.lateStarts = lateStarts
        }
    }

    func finish(_ step: ReplayStep) {
        locked.withLockedValue { state in
            state.inFlight -= 1
            for key in step.holds {
                guard var holders = state.pending[key], let count = holders[step.session] else { continue }
                holders[step.session] = count <= 1 ? nil : count - 1
                state.pending[key] = holders.isEmpty ? nil : holders
            }
        }
    }

    func openClients() -> [ZooKeeperClient] {
        locked.withLockedValue { state in
            state.sessions.compactMap { if case .open(let c) = $0 { c } else { nil } }
        }
    }
}
