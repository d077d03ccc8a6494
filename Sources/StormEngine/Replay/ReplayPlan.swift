import NIOCore
import ZooKeeperFiles
import ZooKeeperProtocol

/// One thing a replay does at its intended time.
public struct ReplayStep: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// The logged session was created: open its replay session.
        case open
        /// The logged session closed: close the replay session; the server removes its ephemerals
        /// (`paths`, already under the root, so later steps on them wait for the close).
        case close(paths: [String])
        /// A write, already moved under the run root.
        case request(ZooKeeperRequest, RecordedOperation)
    }

    /// Nanoseconds from the start of the replay.
    public var offset: UInt64
    public var zxid: Int64
    /// Index of the replay session (one per logged client id).
    public var session: Int
    public var action: Action
    /// Keys this step must not overtake when another session holds them (see `ReplayPlan.dependencies`).
    public var waitsOn: [String]
    /// Keys this step holds while it is in flight.
    public var holds: [String]
}

/// Turns logged transactions into replay steps under a run root (pure: no I/O, no clock).
///
/// - Each logged client id becomes one replay session; a session that writes before (or without) a
///   logged createSession is opened before the replay starts.
/// - Sequential creates carry their final name in the log: they are created as plain nodes with that
///   name. Ephemerals stay ephemeral (owned by their replay session), containers stay containers.
/// - Creates use the open ACL, and setACL is not replayed: a logged ACL (digest, ip, x509) would lock
///   the replay's own sessions out of the rest of the log.
/// - setData and delete go with version -1, unless `checkVersions` (then setData expects the logged
///   new version minus one).
/// - Error txns (requests that failed in production) and failed multis are skipped and counted.
/// - A logged path /a/b becomes <root>/a/b. A path that could leave the root (".", "..", empty
///   segments) is skipped; every request path is checked to lie under the root.
public struct ReplayPlan: Sendable {
    public var root: String
    /// The steps, when the plan was built in memory (`build`); empty for a plan read from log files
    /// (`TxnLogReplay.plan`), whose steps are streamed from `logFiles` during the replay.
    public var steps: [ReplayStep] = []
    /// Log files the steps are streamed from (in order), when `steps` is empty.
    public var logFiles: [String] = []
    /// The highest zxid read when the plan was made: a streamed replay stops there, so writes appended
    /// to a live log in the meantime are not replayed.
    public var scannedThroughZxid: Int64?
    public var options = Options()
    /// Steps and writes in the plan (counted as they are made, kept or streamed).
    public private(set) var stepCount = 0
    public private(set) var writeSteps = 0
    /// Logged client ids in order of first appearance; the index is the replay session.
    public var clientIds: [Int64] = []
    /// Sessions to open before the first step (no createSession in the replayed range).
    public var openAtStart: [Int] = []
    /// Skipped transactions by reason.
    public var skipped: [String: Int] = [:]
    public var firstZxid: Int64?
    public var lastZxid: Int64?
    /// Span of the logged (leader) time replayed, ms.
    public var loggedMilliseconds: Int64 = 0

    public enum Pacing: Sendable, Equatable {
        /// Logged leader time divided by the speed factor.
        case speed(Double)
        /// Evenly spaced at this many steps per second, ignoring logged times.
        case rate(Double)
    }

    public struct Options: Sendable {
        public var pacing: Pacing = .speed(1)
        public var fromZxid: Int64?
        public var toZxid: Int64?
        public var checkVersions = false
        public init() {}
    }

    private var sessionIndex: [Int64: Int] = [:]
    private var opened: Set<Int> = []
    private var firstTime: Int64?

    public init(root: String) {
        self.root = root
    }

    /// Builds a plan from entries in zxid order.
    public static func build(
        _ entries: some Sequence<TxnLogEntry>,
        root: String,
        options: Options
    ) -> ReplayPlan {
        var plan = ReplayPlan(root: root)
        plan.options = options
        for entry in entries { plan.add(entry) }
        return plan
    }

    /// Adds one entry's steps (at the end of `steps`) when it lies in the zxid range.
    mutating func add(_ entry: TxnLogEntry) {
        if let from = options.fromZxid, entry.header.zxid < from { return }
        if let to = options.toZxid, entry.header.zxid > to { return }
        add(entry, options: options)
    }

    func contains(_ path: String) -> Bool { path == root || path.hasPrefix(root + "/") }

    /// `<root>/a/b` for a logged `/a/b`; nil for a path that is not a plain absolute ZooKeeper path.
    public func mapped(_ logged: String) -> String? {
        guard logged.hasPrefix("/"), logged != "/" else { return nil }
        for segment in logged.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." { return nil }
        }
        return root + logged
    }

    mutating func session(for clientId: Int64) -> Int {
        if let index = sessionIndex[clientId] { return index }
        let index = clientIds.count
        clientIds.append(clientId)
        sessionIndex[clientId] = index
        return index
    }

    mutating func skip(_ reason: String) { skipped[reason, default: 0] += 1 }

    private mutating func add(_ entry: TxnLogEntry, options: Options) {
        let header = entry.header
        if firstZxid == nil { firstZxid = header.zxid }
        lastZxid = header.zxid
        if firstTime == nil { firstTime = header.time }
        let logged = max(0, header.time - firstTime!)
        loggedMilliseconds = max(loggedMilliseconds, logged)
        let offset: UInt64
        switch options.pacing {
        case .speed(let speed): offset = UInt64(Double(logged) * 1e6 / speed)
        case .rate(let rate): offset = UInt64(Double(stepCount) * 1e9 / rate)
        }
        let session = session(for: header.clientId)
        func append(_ action: ReplayStep.Action, _ dependencies: (waitsOn: [String], holds: [String])) {
            stepCount += 1
            if case .request = action { writeSteps += 1 }
            steps.append(
                ReplayStep(
                    offset: offset,
                    zxid: header.zxid,
                    session: session,
                    action: action,
                    waitsOn: dependencies.waitsOn,
                    holds: dependencies.holds
                )
            )
        }
        switch entry.record {
        case .createSession:
            opened.insert(session)
            append(.open, ([], []))
            return
        case .closeSession(let paths):
            let mappedPaths = (paths ?? []).compactMap(mapped)
            append(.close(paths: mappedPaths), Self.dependencies(mappedPaths.map { (.delete, $0) }))
            return
        case .error:
            skip("failed request (error txn)")
            return
        case .multi where entry.record.isFailedMulti:
            skip("failed multi")
            return
        case .setACL:
            skip("setACL (ACLs are not replayed)")
            return
        case .reconfig:
            skip("reconfig")
            return
        case .unknown(let type):
            skip("unknown txn type \(type.rawValue)")
            return
        default:
            break
        }
        guard let (request, operation, paths) = translate(entry.record, options: options) else {
            skip("path outside a plain absolute form")
            return
        }
        precondition(paths.allSatisfy { contains($0.1) }, "replay must never write outside the run root")
        if !opened.contains(session) {
            opened.insert(session)
            openAtStart.append(session)
        }
        append(.request(request, operation), Self.dependencies(paths))
    }

    enum Touch { case create, delete, write }

    /// Sessions are independent connections, so a step of one session could overtake a step of another
    /// it depends on. Keys: "n<path>" (the node itself is being created, deleted or written) and
    /// "c<path>" (the node's children are being created or deleted).
    /// - a create waits on its node and its parent's node (the parent's own create or delete);
    /// - a delete waits on its node and on its children ("c" of itself);
    /// - a write waits on its node.
    /// Every step holds its node; creates and deletes also hold their parent's "c". Siblings never wait
    /// on each other, so a busy directory does not serialise its sessions.
    static func dependencies(_ touches: [(Touch, String)]) -> (waitsOn: [String], holds: [String]) {
        var waits: [String] = []
        var holds: [String] = []
        for (touch, path) in touches {
            let parent = ZooKeeperPath.parent(of: path)
            waits.append("n" + path)
            holds.append("n" + path)
            switch touch {
            case .create:
                waits.append("n" + parent)
                holds.append("c" + parent)
            case .delete:
                waits.append("c" + path)
                holds.append("c" + parent)
            case .write:
                break
            }
        }
        return (waits, holds)
    }

    func translate(
        _ record: TxnRecord,
        options: Options
    ) -> (ZooKeeperRequest, RecordedOperation, [(Touch, String)])? {
        func touch(_ op: MultiOperation) -> Touch {
            switch op {
            case .create: .create
            case .delete: .delete
            default: .write
            }
        }
        if case .multi(let ops) = record {
            var translated: [MultiOperation] = []
            var paths: [(Touch, String)] = []
            for op in ops {
                guard let (one, path) = multiOperation(op, options: options) else { return nil }
                translated.append(one)
                paths.append((touch(one), path))
            }
            return (.multi(translated), .multi, paths)
        }
        guard let (op, path) = multiOperation(record, options: options) else { return nil }
        switch op {
        case .create(let request, let code): return (.create(request, opCode: code), .create, [(.create, path)])
        case .delete(let p, let v): return (.delete(path: p, version: v), .delete, [(.delete, path)])
        case .setData(let p, let d, let v):
            return (.setData(path: p, data: d ?? [], version: v), .set, [(.write, path)])
        case .check, .getData, .getChildren: return nil
        }
    }

    func multiOperation(_ record: TxnRecord, options: Options) -> (MultiOperation, String)? {
        switch record {
        case .create(let c):
            guard let path = mapped(c.path) else { return nil }
            let data = c.data.map { Array($0.readableBytesView) } ?? []
            switch c.kind {
            case .persistentOrEphemeral:
                let request = CreateRequest(
                    path: path,
                    data: data,
                    acl: ACL.openUnsafe,
                    mode: c.ephemeral ? .ephemeral : .persistent
                )
                return (.create(request, opCode: .create), path)
            case .container:
                let request = CreateRequest(path: path, data: data, acl: ACL.openUnsafe, mode: .container)
                return (.create(request, opCode: .createContainer), path)
            case .ttl(let ttl):
                let request = CreateRequest(
                    path: path,
                    data: data,
                    acl: ACL.openUnsafe,
                    mode: .persistentWithTTL,
                    ttl: ttl
                )
                return (.create(request, opCode: .createTTL), path)
            }
        case .delete(let logged):
            guard let path = mapped(logged) else { return nil }
            return (.delete(path: path, version: -1), path)
        case .setData(let logged, let data, let version):
            guard let path = mapped(logged) else { return nil }
            let expected = options.checkVersions ? version - 1 : -1
            return (.setData(path: path, data: data.map { Array($0.readableBytesView) } ?? [], version: expected), path)
        case .check(let logged, let version):
            guard let path = mapped(logged) else { return nil }
            return (.check(path: path, version: options.checkVersions ? version : -1), path)
        default:
            return nil
        }
    }
}
