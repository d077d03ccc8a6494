import Atomics
import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Sends the replay steps of the sessions that live on one event loop, on that loop: a scheduled task
/// wakes at the next step's intended time and sends every step due by then (plus `earlySlack`), so a
/// send is a direct write on the session's own connection: no task, no thread hop, no await per step.
///
/// A step that cannot go yet (its session is still connecting, another session holds a path it waits
/// on, or the in-flight window is full) waits in its session's queue; the session's later steps queue
/// behind it so each session keeps its logged order, while the other sessions go on. Queued sessions
/// are retried every `retryInterval` until they drain.
///
/// Schedule lag is the send time minus the intended time, read on the loop just before the write.
/// Loop-confined: every stored property is touched on `eventLoop` only, except `pending` (atomic).
final class ReplayPacer: @unchecked Sendable {
    /// What a pacer needs from the run, shared by all the pacers of a replay.
    struct Context: Sendable {
        var state: ReplayState
        var recorder: OperationRecorder
        /// Monotonic ns of step offset 0.
        var origin: UInt64
        var lateThreshold: UInt64
        var maxInFlight: Int
        var stop: StopFlag
        /// Path → send time of its latest write, for the watchers' lag; nil when nobody watches.
        var lastSent: NIOLockedValueBox<[String: UInt64]>?
    }

    enum Session {
        case notOpened, opening
        case open(ZooKeeperClient)
        case failed, closed
    }

    /// Steps due this close to now go out in the same wake-up (and are timed from their send).
    static let earlySlack: UInt64 = 500_000
    static let retryInterval: UInt64 = 100_000

    let eventLoop: any EventLoop
    private let connector: SessionConnector
    private let context: Context
    /// Steps fed but not yet sent or skipped (read by the feeder for back-pressure).
    let pending = ManagedAtomic<Int>(0)

    private var input = Deque<ReplayStep>()
    private var inputFinished = false
    private var sessions: [Int: Session] = [:]
    private var queues: [Int: Deque<ReplayStep>] = [:]
    private var scheduled: Scheduled<Void>?
    private var scheduledAt: UInt64 = .max
    private let done: EventLoopPromise<Void>
    private var finished = false
    private var connecting = 0

    private(set) var lag = LatencyHistogram()
    private(set) var lateStarts = 0
    private(set) var stepsDone = 0

    init(eventLoop: any EventLoop, connector: SessionConnector, context: Context) {
        self.eventLoop = eventLoop
        var connector = connector
        connector.eventLoopGroup = eventLoop
        self.connector = connector
        self.context = context
        done = eventLoop.makePromise()
    }

    /// Completes once every fed step was sent or skipped after `finishInput()` (or the run was stopped).
    var finishedFuture: EventLoopFuture<Void> { done.futureResult }

    /// Sessions already open when the replayed range begins.
    func adopt(_ session: Int, client: ZooKeeperClient) {
        eventLoop.execute { self.sessions[session] = .open(client) }
    }

    /// Appends steps (in offset order, after everything fed before).
    func feed(_ steps: [ReplayStep]) {
        pending.wrappingIncrement(by: steps.count, ordering: .relaxed)
        eventLoop.execute {
            self.input.append(contentsOf: steps)
            self.tick()
        }
    }

    /// No more steps will be fed.
    func finishInput() {
        eventLoop.execute {
            self.inputFinished = true
            self.tick()
        }
    }

    /// Clients still open (on the loop's own time).
    func openClients() -> EventLoopFuture<[ZooKeeperClient]> {
        eventLoop.submit {
            self.sessions.values.compactMap { if case .open(let client) = $0 { client } else { nil } }
        }
    }

    /// The pacer's schedule figures, read on the loop once it has finished.
    func schedule() -> EventLoopFuture<(LatencyHistogram, Int, Int)> {
        eventLoop.submit { (self.lag, self.lateStarts, self.stepsDone) }
    }

    // MARK: On the loop

    private func tick() {
        if finished { return }
        if context.stop.isSet {
            let dropped = input.count + queues.values.reduce(0) { $0 + $1.count }
            for step in input { context.state.release(step) }
            for queue in queues.values { for step in queue { context.state.release(step) } }
            input.removeAll()
            queues.removeAll()
            pending.wrappingDecrement(by: dropped, ordering: .relaxed)
            // Connects under way finish first, so their sessions are closed with the others.
            if connecting == 0 { finish() }
            return
        }
        if !queues.isEmpty {
            for session in Array(queues.keys) { drain(session) }
        }
        let horizon = RunClock.now() + Self.earlySlack
        while let step = input.first, context.origin + step.offset <= horizon {
            input.removeFirst()
            if queues[step.session] != nil || !issue(step) {
                queues[step.session, default: []].append(step)
            }
        }
        if inputFinished && input.isEmpty && queues.isEmpty && connecting == 0 {
            finish()
            return
        }
        var next = input.first.map { context.origin + $0.offset } ?? .max
        // A session waiting for its connect is woken by `opened`; the others poll.
        let polling = queues.keys.contains { session in
            if case .opening = sessions[session] ?? .notOpened { return false }
            return true
        }
        if polling { next = min(next, RunClock.now() + Self.retryInterval) }
        if next != .max { schedule(at: next) }
    }

    private func schedule(at deadline: UInt64) {
        if scheduled != nil {
            if scheduledAt <= deadline { return }
            scheduled?.cancel()
        }
        scheduledAt = deadline
        scheduled = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadline)) {
            self.scheduled = nil
            self.scheduledAt = .max
            self.tick()
        }
    }

    private func finish() {
        finished = true
        scheduled?.cancel()
        scheduled = nil
        done.succeed(())
    }

    /// Sends the session's queued steps until one cannot go.
    private func drain(_ session: Int) {
        guard var queue = queues[session] else { return }
        while let step = queue.first, issue(step) { queue.removeFirst() }
        queues[session] = queue.isEmpty ? nil : queue
    }

    /// Sends (or skips) `step`; false when it has to wait.
    private func issue(_ step: ReplayStep) -> Bool {
        let status = sessions[step.session] ?? .notOpened
        var client: ZooKeeperClient?
        switch (step.action, status) {
        case (.open, .notOpened): break
        case (.open, _):
            // A second createSession of one client id: the session is already there.
            pending.wrappingDecrement(ordering: .relaxed)
            context.state.release(step)
            context.state.skip("session created twice")
            return true
        case (_, .opening): return false
        case (_, .notOpened), (_, .failed):
            pending.wrappingDecrement(ordering: .relaxed)
            context.state.release(step)
            context.state.skip("session could not be opened")
            return true
        case (_, .closed):
            pending.wrappingDecrement(ordering: .relaxed)
            context.state.release(step)
            context.state.skip("write after its session's close")
            return true
        case (_, .open(let open)): client = open
        }
        guard context.state.tryBegin(step, maxInFlight: context.maxInFlight) else { return false }
        pending.wrappingDecrement(ordering: .relaxed)
        let intended = context.origin + step.offset
        let now = RunClock.now()
        // A step sent early (within `earlySlack`) is timed from its send, so latency never runs negative.
        let timedFrom = min(intended, now)
        let late = now > intended ? now - intended : 0
        lag.record(nanoseconds: late)
        if late > context.lateThreshold { lateStarts += 1 }
        stepsDone += 1
        let state = context.state
        let recorder = context.recorder
        switch step.action {
        case .open:
            state.finish(step)
            sessions[step.session] = .opening
            connecting += 1
            let connector = self.connector
            Task {
                let began = RunClock.now()
                do {
                    let client = try await connector.connect()
                    recorder.record(.connect, code: .ok, nanoseconds: RunClock.now() - began)
                    self.opened(step.session, .open(client))
                } catch {
                    recorder.record(.connect, code: .connectionLoss, nanoseconds: RunClock.now() - began)
                    self.opened(step.session, .failed)
                }
            }
        case .close:
            sessions[step.session] = .closed
            let closing = client!
            Task {
                do {
                    try await closing.close()
                    recorder.record(.close, code: .ok, nanoseconds: RunClock.now() - timedFrom)
                } catch {
                    recorder.record(.close, code: .connectionLoss, nanoseconds: RunClock.now() - timedFrom)
                }
                state.finish(step)
            }
        case .request(let request, let operation):
            if let lastSent = context.lastSent {
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
        return true
    }

    /// A connect finished: record the session and send what queued behind it.
    private func opened(_ session: Int, _ status: Session) {
        eventLoop.execute {
            self.sessions[session] = status
            self.connecting -= 1
            self.tick()
        }
    }
}
