import ZooKeeperProtocol

/// A workload that parses but cannot be run as asked (exit 64: the request itself is impossible).
public struct WorkloadPlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public struct WorkloadRootError: Error, Sendable {
    public var message: String
}

/// Rules for the run root: the only subtree the run ever writes or deletes.
public enum WorkloadRoot {
    public static let safePrefix = "/zkstorm/"
    /// ZooKeeper's own subtree (`/zookeeper/quota`, `/zookeeper/config`): never written by a run.
    public static let reservedTree = "/zookeeper"

    /// `explicit` is true only for `--root` on the command line: a person who typed a root outside
    /// /zkstorm/ meant it; a file copied from elsewhere must not redirect writes silently.
    public static func validate(_ path: String, explicit: Bool) throws(WorkloadRootError) {
        do {
            try ZooKeeperPath.validate(path)
        } catch {
            throw WorkloadRootError(message: "\(error.rule); expected an absolute znode path such as /zkstorm/my-run")
        }
        guard path != "/" else {
            throw WorkloadRootError(message: "the run root cannot be \"/\": cleanup deletes the root recursively")
        }
        if path == reservedTree || path.hasPrefix(reservedTree + "/") {
            throw WorkloadRootError(
                message:
                    "\"\(path)\" is inside \(reservedTree), ZooKeeper's own reserved tree (quotas, config); choose a root such as /zkstorm/my-run"
            )
        }
        if !explicit && !path.hasPrefix(safePrefix) {
            throw WorkloadRootError(
                message:
                    "\"\(path)\" is outside \(safePrefix); allowed: a path under \(safePrefix) (or pass --root explicitly on the command line)"
            )
        }
    }

    public static func defaultRoot(runId: String) -> String { safePrefix + runId }
}

/// How the workload's sessions are split among groups.
public struct SessionPlan: Sendable, Equatable {
    /// Sessions per group, in group order.
    public var groupSessions: [Int]
    public var watcherSessions: Int
    /// 1 when the storm has a dedicated writer session.
    public var writerSessions: Int
    /// The herd's cache sessions and its writer.
    public var herdSessions: Int = 0

    public var total: Int { groupSessions.reduce(0, +) + watcherSessions + writerSessions + herdSessions }
}

extension Workload {
    /// Splits `sessions` among groups (explicit counts first, the rest evenly) and checks that every
    /// open-loop rate can be issued by its sessions.
    public func sessionPlan() throws(WorkloadPlanError) -> SessionPlan {
        let explicit = groups.compactMap(\.sessions).reduce(0, +)
        let implicitGroups = groups.filter { $0.sessions == nil }.count
        if explicit > sessions {
            throw WorkloadPlanError(
                message:
                    "the groups ask for \(explicit) sessions but `sessions` is \(sessions); raise sessions to at least \(explicit)"
            )
        }
        let remaining = sessions - explicit
        if implicitGroups > 0 && remaining < implicitGroups {
            throw WorkloadPlanError(
                message:
                    "\(implicitGroups) group(s) without their own `sessions` share \(remaining) remaining session(s); each needs at least 1, so raise sessions to at least \(explicit + implicitGroups)"
            )
        }
        var counts: [Int] = []
        var implicitIndex = 0
        for group in groups {
            if let n = group.sessions {
                counts.append(n)
            } else {
                // Spread the remainder over the first groups so the counts add up exactly.
                let share = remaining / implicitGroups + (implicitIndex < remaining % implicitGroups ? 1 : 0)
                counts.append(share)
                implicitIndex += 1
            }
        }
        for (group, count) in zip(groups, counts) {
            if case .open(let rate, _, _) = group.load {
                let ceiling = Double(count) * Self.maximumRatePerSession
                if rate > ceiling {
                    throw WorkloadPlanError(
                        message:
                            "group \"\(group.name)\" asks for \(Int(rate)) ops/s from \(count) session(s), more than they can issue (\(Int(Self.maximumRatePerSession)) ops/s per session); lower the rate or give the group at least \(Int((rate / Self.maximumRatePerSession).rounded(.up))) sessions"
                    )
                }
            }
        }
        if let problem = valueSizeProblem { throw WorkloadPlanError(message: problem) }
        let writer = (watches?.storm.writer == .dedicated) ? 1 : 0
        return SessionPlan(
            groupSessions: counts,
            watcherSessions: watches?.watchers ?? 0,
            writerSessions: watches == nil ? 0 : writer,
            herdSessions: herd.map { $0.sessions + 1 } ?? 0
        )
    }

    /// ZooKeeper's `jute.maxbuffer` default (0xfffff): the largest request body a server accepts.
    public static let maximumFrameLength = 0xfffff

    /// Room for the longest znode path a write carries: the root, `/keys/k<index>` or an `under`
    /// directory with a sequential name. The default root `/zkstorm/<run-id>` is 29 characters.
    var longestWritePath: Int { (root?.utf8.count ?? 29) + 64 }

    /// How many values the largest write carries: a multi writes `size` of them in one request.
    var valuesPerWrite: Int {
        groups.flatMap(\.operations).filter { $0.kind == .multi }.map(\.size).max() ?? 1
    }

    var largestWriteDescription: String {
        valuesPerWrite > 1 ? "a multi of \(valuesPerWrite) setData" : "a create with its path and ACL"
    }

    /// Why `value_size` cannot be sent, naming the largest value that can; nil when it fits.
    public var valueSizeProblem: String? {
        let largest = largestValueSize
        guard keyspace.valueSize > largest else { return nil }
        return
            "value_size \(keyspace.valueSize) does not fit in one request: ZooKeeper's jute.maxbuffer is \(Self.maximumFrameLength) bytes per request, less the framing of this workload's largest write (\(largestWriteDescription)); the largest value that fits is \(largest) bytes (value_size: \(largest))"
    }

    /// The largest `value_size` whose every write fits in one request: `jute.maxbuffer` less the request
    /// header, path, ACL and flags of a create, or for a multi its headers and `size` setData bodies.
    public var largestValueSize: Int {
        let path = longestWritePath
        let values = valuesPerWrite
        if values > 1 {
            // header 8 + per op (MultiHeader 9 + path 4+len + data length 4 + version 4) + end marker 9
            return max(0, (Self.maximumFrameLength - 8 - 9 - values * (9 + 4 + path + 4 + 4)) / values)
        }
        // header 8 + path 4+len + data length 4 + ACL vector (4 + perms 4 + "world" 4+5 + "anyone" 4+6) + flags 4
        return max(0, Self.maximumFrameLength - (8 + 4 + path + 4 + 31 + 4))
    }

    /// The longest the run can take: warm-up plus measurement (the storm stops with the measurement).
    public var plannedLength: Duration { warmup + duration }
}

/// Command-line values that replace the file's (`zkstorm run --duration 10s --sessions 4 ...`).
public struct WorkloadOverrides: Sendable, Equatable {
    public var target: String?
    public var duration: Duration?
    public var warmup: Duration?
    public var sessions: Int?
    public var rate: Double?
    public var seed: UInt64?
    public var root: String?
    /// `--threshold` expressions, added to the workload's own.
    public var thresholds: [Threshold] = []
    /// `--requests N`.
    public var requests: Int?

    public init(
        target: String? = nil,
        duration: Duration? = nil,
        warmup: Duration? = nil,
        sessions: Int? = nil,
        rate: Double? = nil,
        seed: UInt64? = nil,
        root: String? = nil
    ) {
        self.target = target
        self.duration = duration
        self.warmup = warmup
        self.sessions = sessions
        self.rate = rate
        self.seed = seed
        self.root = root
    }
}

extension Workload {
    /// Applies command-line values. `--sessions` sets the group sessions (explicit group counts scale
    /// in proportion) or, for a pure watch storm, the number of watchers. `--rate` turns every group
    /// into an open loop sharing that total rate in proportion to its sessions.
    public func applying(_ overrides: WorkloadOverrides) throws(WorkloadPlanError) -> Workload {
        var result = self
        if let target = overrides.target { result.target = target }
        if let duration = overrides.duration {
            guard stages.isEmpty else {
                throw WorkloadPlanError(
                    message: "--duration: this workload has stages, whose durations make the run's length"
                )
            }
            result.duration = duration
        }
        if let warmup = overrides.warmup { result.warmup = warmup }
        if let seed = overrides.seed { result.seed = seed }
        result.thresholds += overrides.thresholds
        if let requests = overrides.requests {
            guard requests >= 1 else { throw WorkloadPlanError(message: "--requests must be at least 1") }
            result.requests = requests
        }
        if result.requests != nil && result.groups.isEmpty {
            throw WorkloadPlanError(
                message: "--requests counts the operations of groups, and this workload has none (a pure watch storm)"
            )
        }
        if let root = overrides.root {
            do throws(WorkloadRootError) {
                try WorkloadRoot.validate(root, explicit: true)
            } catch {
                throw WorkloadPlanError(message: "--root: \(error.message)")
            }
            result.root = root
        }
        if let sessions = overrides.sessions {
            guard sessions >= 1 else { throw WorkloadPlanError(message: "--sessions must be at least 1") }
            if groups.isEmpty, var watches = result.watches {
                watches.watchers = sessions
                result.watches = watches
            } else {
                let old = max(self.sessions, 1)
                result.sessions = sessions
                for index in result.groups.indices {
                    if let n = result.groups[index].sessions {
                        result.groups[index].sessions = max(
                            1,
                            Int((Double(n) * Double(sessions) / Double(old)).rounded(.down))
                        )
                    }
                }
            }
        }
        if let rate = overrides.rate {
            guard rate > 0, rate.isFinite else {
                throw WorkloadPlanError(message: "--rate must be a positive number of operations per second")
            }
            guard !result.groups.isEmpty else {
                throw WorkloadPlanError(message: "--rate applies to operation groups, and this workload has none")
            }
            let plan = try result.sessionPlan()
            let totalSessions = Double(plan.groupSessions.reduce(0, +))
            for index in result.groups.indices {
                let share = rate * Double(plan.groupSessions[index]) / totalSessions
                switch result.groups[index].load {
                case .open(_, let arrivals, let maxInFlight):
                    result.groups[index].load = .open(rate: share, arrivals: arrivals, maxInFlight: maxInFlight)
                case .closed:
                    result.groups[index].load = .open(
                        rate: share,
                        arrivals: .poisson,
                        maxInFlight: LoadModel.defaultMaxInFlight
                    )
                }
            }
        }
        _ = try result.sessionPlan()
        return result
    }
}
