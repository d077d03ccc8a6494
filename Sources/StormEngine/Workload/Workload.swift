import ZooKeeperClient

/// A complete workload: what to run, how hard, for how long, and which watches to storm.
///
/// Built by `WorkloadParser` from YAML (workloads/README.md documents every field) and adjusted by
/// `WorkloadOverrides` from the command line. Every value is validated when parsed, so a `Workload`
/// that exists is one the engine can run.
public struct Workload: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Connect string `h1:2181,h2:2181/chroot`; nil = the built-in server.
    public var target: String?
    /// Sessions that run the operation groups (watchers and the storm writer are extra sessions).
    public var sessions: Int
    public var duration: Duration
    public var warmup: Duration
    public var seed: UInt64
    /// Root of every znode the run creates; nil = `/zkstorm/<run-id>`.
    public var root: String?
    public var keyspace: KeySpace
    public var groups: [OperationGroup]
    public var watches: WatchSpec?
    /// Session timeout every session asks for. A session whose server dies moves to another one
    /// within it; past it, ZooKeeper expires the session and the run opens a new one.
    public var sessionTimeout: Duration = Defaults.sessionTimeout
    /// Pass/fail criteria evaluated at the end (and, with `abort_on_fail`, during the run).
    public var thresholds: [Threshold] = []
    /// Operations the measurement sends before it ends (`duration` stays the upper bound); nil = by time.
    public var requests: Int?
    /// TLS, SASL and digest settings from the file's `target:` mapping (flags and environment override them).
    public var security = TargetSecurity()
    /// Stages (open-loop rate and closed-loop sessions over time); their durations replace `duration`.
    public var stages: [Stage] = []
    /// How every session of the run waits before reconnecting after a connection loss
    /// (`reconnect: {policy, base, max}`).
    public var reconnect: ReconnectPolicy = .immediate
    /// Tree-cache clients that re-read on reconnect (`herd:`); nil without.
    public var herd: HerdSpec?
    /// Timed faults against the target (`faults:`), in firing order.
    public var faults: [FaultSpec] = []

    public init(
        name: String,
        description: String = "",
        target: String? = nil,
        sessions: Int = Defaults.sessions,
        duration: Duration = Defaults.duration,
        warmup: Duration = Defaults.warmup,
        seed: UInt64 = Defaults.seed,
        root: String? = nil,
        keyspace: KeySpace = KeySpace(),
        groups: [OperationGroup] = [],
        watches: WatchSpec? = nil
    ) {
        self.name = name
        self.description = description
        self.target = target
        self.sessions = sessions
        self.duration = duration
        self.warmup = warmup
        self.seed = seed
        self.root = root
        self.keyspace = keyspace
        self.groups = groups
        self.watches = watches
    }

    public enum Defaults {
        public static let sessions = 8
        public static let duration: Duration = .seconds(30)
        public static let warmup: Duration = .seconds(2)
        public static let seed: UInt64 = 1
        /// `session_timeout` (and `--session-timeout`) when not given.
        public static let sessionTimeout: Duration = .seconds(30)
    }

    /// ZooKeeper's default `jute.maxbuffer`: no znode value may exceed it.
    public static let maximumValueSize = 1_048_576
    /// The fastest one session can issue requests from one event loop; open-loop rates above
    /// `sessions × this` are refused before the run starts rather than silently not met.
    public static let maximumRatePerSession = 50_000.0
}

/// The znodes `get`/`set`/`exists`/... choose from: `<root>/keys/k<index>`.
public struct KeySpace: Sendable, Equatable {
    public var count: Int
    public var valueSize: Int
    public var distribution: KeyDistributionSpec

    public init(count: Int = 1000, valueSize: Int = 128, distribution: KeyDistributionSpec = .uniform) {
        self.count = count
        self.valueSize = valueSize
        self.distribution = distribution
    }
}

public enum KeyDistributionSpec: Sendable, Equatable {
    case uniform
    /// YCSB-style zipfian over key ranks; theta in (0, 1), 0.99 is YCSB's default.
    case zipfian(theta: Double)
    /// Keys in order, wrapping around.
    case sequential
    /// `hotFraction` of the keys receive `hotProbability` of the accesses.
    case hotspot(hotFraction: Double, hotProbability: Double)

    public var name: String {
        switch self {
        case .uniform: "uniform"
        case .zipfian: "zipfian"
        case .sequential: "sequential"
        case .hotspot: "hotspot"
        }
    }
}

/// A set of sessions issuing a weighted mix of operations under one load model.
public struct OperationGroup: Sendable, Equatable {
    public var name: String
    /// Sessions running this group; nil = an equal share of the sessions not claimed by other groups.
    public var sessions: Int?
    public var operations: [OperationSpec]
    public var load: LoadModel

    public init(
        name: String,
        sessions: Int? = nil,
        operations: [OperationSpec],
        load: LoadModel = .closed(concurrency: 1, window: 1)
    ) {
        self.name = name
        self.sessions = sessions
        self.operations = operations
        self.load = load
    }
}

public enum OperationKind: String, Sendable, CaseIterable, Equatable {
    case get, exists, children, set, create, delete, multi, sync
    /// Opens a new session and closes it again (session churn); records `connect` and `close`.
    case session
}

public enum CreateModeSpec: String, Sendable, CaseIterable, Equatable {
    case persistent, ephemeral
    case persistentSequential = "persistent_sequential"
    case ephemeralSequential = "ephemeral_sequential"

    public var isSequential: Bool { self == .persistentSequential || self == .ephemeralSequential }
}

/// Which znode a `delete` removes.
public enum DeleteTarget: String, Sendable, CaseIterable, Equatable {
    /// A key chosen by the key distribution (NONODE when it is already gone).
    case key
    /// The oldest znode this session created and has not deleted (lock release, ephemeral churn).
    case own
    /// A child seen by this session's last `children` listing (task-queue consumers).
    case child
}

public struct OperationSpec: Sendable, Equatable {
    public var kind: OperationKind
    public var weight: Int
    /// Directory under the run root this op works in; nil = the key space (`keys`).
    public var under: String?
    /// create: the node mode.
    public var mode: CreateModeSpec
    /// get/exists/children: leave a one-shot watch (fires are counted, not timed).
    public var watch: Bool
    /// delete: which node.
    public var target: DeleteTarget
    /// multi: number of setData ops in each transaction.
    public var size: Int

    public init(
        kind: OperationKind,
        weight: Int = 1,
        under: String? = nil,
        mode: CreateModeSpec = .persistent,
        watch: Bool = false,
        target: DeleteTarget = .key,
        size: Int = 2
    ) {
        self.kind = kind
        self.weight = weight
        self.under = under
        self.mode = mode
        self.watch = watch
        self.target = target
        self.size = size
    }
}

public enum ArrivalProcess: String, Sendable, CaseIterable, Equatable {
    case constant, poisson
}

public enum LoadModel: Sendable, Equatable {
    /// Each session keeps `concurrency × window` requests in flight, issuing a new one per reply.
    case closed(concurrency: Int, window: Int)
    /// `rate` operations per second for the whole group at intended start times; at most
    /// `maxInFlight` requests outstanding per session (later ones wait and count as late).
    case open(rate: Double, arrivals: ArrivalProcess, maxInFlight: Int)

    public static let defaultMaxInFlight = 64
}

public enum WatchKind: String, Sendable, CaseIterable, Equatable {
    /// getData watch (one-shot), fired by setData.
    case data
    /// exists watch (one-shot), fired by setData.
    case exist
    /// getChildren watch (one-shot), fired by creating a child.
    case child
    /// addWatch PERSISTENT on the watched znode, fired by setData.
    case persistent
    /// addWatch PERSISTENT_RECURSIVE on the watched znode, fired by setData on a child below it.
    case recursive

    public var isOneShot: Bool { self == .data || self == .exist || self == .child }
}

/// Which session writes the watched znode in each storm round.
public enum StormWriter: String, Sendable, CaseIterable, Equatable {
    /// A session of its own that watches nothing.
    case dedicated
    /// The first watcher: it also receives its own notification.
    case watcher
}

/// When a one-shot watcher sets its watch again after it fired.
public enum StormRearm: String, Sendable, CaseIterable, Equatable {
    /// As soon as its notification arrives (a re-arm herd while the round's notifications still arrive).
    case immediate
    /// Once the round is over (every watcher notified or the round timed out): the round's lags are
    /// measured without re-arm requests in the way.
    case afterRound = "after-round"
}

public struct StormSpec: Sendable, Equatable {
    public var rounds: Int
    public var interval: Duration
    public var writer: StormWriter
    /// How long a round waits for every watcher before counting the rest as missing.
    public var timeout: Duration
    /// One-shot watches only.
    public var rearm: StormRearm

    public init(
        rounds: Int = 10,
        interval: Duration = .milliseconds(500),
        writer: StormWriter = .dedicated,
        timeout: Duration = .seconds(5),
        rearm: StormRearm = .immediate
    ) {
        self.rounds = rounds
        self.interval = interval
        self.writer = writer
        self.timeout = timeout
        self.rearm = rearm
    }
}

public struct WatchSpec: Sendable, Equatable {
    public var kind: WatchKind
    /// Sessions that watch (each watches every watched znode).
    public var watchers: Int
    /// Watched znodes: `<root>/watched/w<index>`; each round writes all of them.
    public var znodes: Int
    public var storm: StormSpec
    /// Slow consumers: watchers that stop reading their socket mid-storm (WorkloadParser+Stall.swift).
    public var stall: StallSpec?

    public init(kind: WatchKind = .data, watchers: Int = 100, znodes: Int = 1, storm: StormSpec = StormSpec()) {
        self.kind = kind
        self.watchers = watchers
        self.znodes = znodes
        self.storm = storm
    }
}
