import Atomics
import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperClient
import ZooKeeperProtocol

/// One session of an operation group: chooses the next operation (weights, key distribution, its own
/// created nodes), sends it on the client's hot path, and records the reply. All state is per session,
/// behind a lock that only this session's callbacks take.
final class SessionWorker: Sendable {
    /// The session, replaced by a new one if ZooKeeper expires it.
    let session: SupervisedSession
    var client: ZooKeeperClient { session.client }
    let recorder: OperationRecorder
    let layout: RunLayout
    let operations: [OperationSpec]
    let pool: SessionConnector
    private let cumulativeWeights: [Int]
    private let state: NIOLockedValueBox<State>
    /// Operations sent and not yet answered.
    let outstanding = ManagedAtomic<Int>(0)
    /// `--requests N`: the run's shared operation budget; nil = bounded by time only.
    let budget: RequestBudget?

    struct State {
        var keys: KeyChooser
        var choices: SeededGenerator
        /// Nodes this session created (oldest first), for `delete target: own`.
        var owned: Deque<String> = []
        /// Children seen by the last listing, by directory, for `delete target: child`.
        var children: [String: [String]] = [:]
    }

    enum Followup: Sendable {
        case none
        case rememberCreated
        case rememberChildren(directory: String)
    }

    enum Planned: Sendable {
        case request(RecordedOperation, ZooKeeperRequest, Followup)
        case churn
    }

    init(
        session: SupervisedSession,
        recorder: OperationRecorder,
        layout: RunLayout,
        group: OperationGroup,
        keys: KeyChooser,
        choiceSeed: UInt64,
        stream: UInt64,
        pool: SessionConnector,
        budget: RequestBudget? = nil
    ) {
        self.budget = budget
        self.session = session
        self.recorder = recorder
        self.layout = layout
        self.operations = group.operations.filter { $0.weight > 0 }
        self.pool = pool
        var running = 0
        cumulativeWeights = operations.map {
            running += $0.weight
            return running
        }
        state = NIOLockedValueBox(State(keys: keys, choices: SeededGenerator(seed: choiceSeed, stream: stream)))
    }

    func plan() -> Planned {
        state.withLockedValue { state in
            let pick = Int(state.choices.next() % UInt64(cumulativeWeights.last!))
            let op = operations[cumulativeWeights.firstIndex { pick < $0 }!]
            return plan(op, &state)
        }
    }

    private func plan(_ op: OperationSpec, _ state: inout State) -> Planned {
        let directory = op.under.map { layout.directory(for: OperationSpec(kind: op.kind, under: $0)) }
        func key() -> String { layout.keys[state.keys.next()] }
        switch op.kind {
        case .get:
            return .request(.get, .getData(path: directory ?? key(), watch: op.watch), .none)
        case .exists:
            return .request(.exists, .exists(path: directory ?? key(), watch: op.watch), .none)
        case .children:
            if let directory {
                return .request(
                    .children,
                    .getChildren(path: directory, watch: op.watch),
                    .rememberChildren(directory: directory)
                )
            }
            return .request(.children, .getChildren(path: key(), watch: op.watch), .none)
        case .set:
            return .request(.set, .setData(path: directory ?? key(), data: layout.value, version: -1), .none)
        case .sync:
            return .request(.sync, .sync(path: directory ?? key()), .none)
        case .create:
            let path: String
            if op.mode.isSequential {
                path = (directory ?? layout.keysDirectory) + "/n-"
            } else if let directory {
                path = directory + "/n\(state.keys.next())"
            } else {
                path = key()
            }
            let request = CreateRequest(
                path: path,
                data: layout.value,
                acl: layout.acl,
                mode: Self.createMode(op.mode)
            )
            return .request(.create, .create(request, opCode: .create), .rememberCreated)
        case .delete:
            switch op.target {
            case .key:
                let path = directory.map { "\($0)/n\(state.keys.next())" } ?? key()
                return .request(.delete, .delete(path: path, version: -1), .none)
            case .own:
                if let path = state.owned.popFirst() {
                    return .request(.delete, .delete(path: path, version: -1), .none)
                }
                // Nothing of ours to delete yet: look at the directory instead of inventing a target.
                return .request(.exists, .exists(path: directory ?? layout.keysDirectory, watch: false), .none)
            case .child:
                let dir = directory ?? layout.keysDirectory
                if var known = state.children[dir], !known.isEmpty {
                    let name = known.removeFirst()
                    state.children[dir] = known
                    return .request(.delete, .delete(path: dir + "/" + name, version: -1), .none)
                }
                return .request(.children, .getChildren(path: dir, watch: false), .rememberChildren(directory: dir))
            }
        case .multi:
            var ops: [MultiOperation] = []
            ops.reserveCapacity(op.size)
            for _ in 0..<op.size {
                ops.append(.setData(path: directory ?? key(), data: layout.value, version: -1))
            }
            return .request(.multi, .multi(ops), .none)
        case .session:
            return .churn
        }
    }

    static func createMode(_ mode: CreateModeSpec) -> CreateMode {
        switch mode {
        case .persistent: .persistent
        case .ephemeral: .ephemeral
        case .persistentSequential: .persistentSequential
        case .ephemeralSequential: .ephemeralSequential
        }
    }

    /// The result code of a reply: a multi that failed reports its failing op's code.
    static func code(of response: ZooKeeperResponse) -> ErrorCode {
        guard case .multi(let results) = response else { return .ok }
        var fallback = ErrorCode.ok
        for case .error(let code) in results where code != .ok {
            if code != .runtimeInconsistency { return code }
            fallback = code
        }
        return fallback
    }

    private func followUp(_ followup: Followup, _ response: ZooKeeperResponse) {
        switch (followup, response) {
        case (.rememberCreated, .create(let path)), (.rememberCreated, .create2(let path, _)):
            state.withLockedValue { $0.owned.append(path) }
        case (.rememberChildren(let directory), .children(let names)),
            (.rememberChildren(let directory), .children2(let names, _)):
            state.withLockedValue { $0.children[directory] = names.sorted() }
        default:
            break
        }
    }

    /// What happens when an operation's reply has been recorded.
    enum Continuation: Sendable {
        /// Closed loop: send the next operation from the reply's callback, unless the run stopped or the
        /// request could not even be written (it would fail the same way at once: the slot ends instead
        /// of spinning; its error is recorded). No closure is made per operation for this.
        case closedLoop(StopFlag)
        /// `done(sent)` runs once; `sent` is false when the request could not be written.
        case callback(@Sendable (_ sent: Bool) -> Void)
    }

    /// Starts one closed-loop slot: an operation in flight at all times until `stop` is set.
    func startClosedLoopSlot(stop: StopFlag) {
        guard !stop.isSet else { return }
        issue(intended: nil, then: .closedLoop(stop))
    }

    /// Sends the next operation. `intended` (open loop) times latency from the intended start and
    /// keeps service time too; otherwise latency runs from the send.
    func issue(intended: UInt64?, then continuation: Continuation) {
        let ticket = budget?.take()
        if ticket == .spent {
            // The budget is spent and the run is stopping: end this slot (or tick) without sending.
            if case .callback(let done) = continuation { done(false) }
            return
        }
        outstanding.wrappingIncrement(ordering: .relaxed)
        switch plan() {
        case .churn:
            let start = intended ?? RunClock.now()
            Task {
                await churn(start: start, openLoop: intended != nil, ticket: ticket)
                outstanding.wrappingDecrement(ordering: .relaxed)
                proceed(continuation, sent: true)
            }
        case .request(let operation, let request, let followup):
            let recorder = self.recorder
            client.send(request) { [self] result, sentAt, receivedAt in
                let code: ErrorCode
                switch result {
                case .success(let response):
                    code = Self.code(of: response)
                    followUp(followup, response)
                case .failure(let error):
                    code = error.code
                }
                let end = receivedAt != 0 ? receivedAt : RunClock.now()
                let sent = sentAt != 0 ? sentAt : end
                if let budget, let ticket, !budget.records(ticket) {
                    // Sent during warm-up, answered after the measurement began: not one of the N.
                } else if let intended {
                    recorder.recordOpenLoop(
                        operation,
                        code: code,
                        intendedNanoseconds: end &- intended,
                        serviceNanoseconds: end &- sent
                    )
                } else {
                    recorder.record(operation, code: code, nanoseconds: end &- sent)
                }
                outstanding.wrappingDecrement(ordering: .relaxed)
                proceed(continuation, sent: sentAt != 0)
            }
        }
    }

    private func proceed(_ continuation: Continuation, sent: Bool) {
        switch continuation {
        case .closedLoop(let stop):
            guard !stop.isSet else { return }
            if sent {
                issue(intended: nil, then: continuation)
            } else {
                // Not even written (session expired and not replaced yet, or no server within the
                // request timeout): its error is recorded; try again a little later rather than spin,
                // so the slot comes back once failover has found a server or a new session.
                client.callbackEventLoop.scheduleTask(in: .milliseconds(100)) { [self] in
                    if !stop.isSet { issue(intended: nil, then: continuation) }
                }
            }
        case .callback(let done):
            done(sent)
        }
    }

    /// Session churn: open a new session and close it, timing both.
    private func churn(start: UInt64, openLoop: Bool, ticket: RequestBudget.Ticket?) async {
        let begin = RunClock.now()
        do {
            let extra = try await pool.connect()
            let connected = RunClock.now()
            recordChurn(.connect, code: .ok, from: openLoop ? start : begin, sent: begin, to: connected)
            await pool.close(extra)
            let closed = RunClock.now()
            recordChurn(.close, code: .ok, from: connected, sent: connected, to: closed)
        } catch {
            let code = (error as? ZooKeeperError)?.code ?? .connectionLoss
            recordChurn(.connect, code: code, from: openLoop ? start : begin, sent: begin, to: RunClock.now())
        }
        func recordChurn(_ op: RecordedOperation, code: ErrorCode, from: UInt64, sent: UInt64, to: UInt64) {
            if let budget, let ticket, !budget.records(ticket) { return }
            if openLoop {
                recorder.recordOpenLoop(op, code: code, intendedNanoseconds: to &- from, serviceNanoseconds: to &- sent)
            } else {
                recorder.record(op, code: code, nanoseconds: to &- from)
            }
        }
    }
}
