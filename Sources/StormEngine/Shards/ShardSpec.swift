/// Which shard of a run this process is: `zkstorm run --shard I/N --run-id ID`, or, when the flags are
/// absent, Kubernetes' `JOB_COMPLETION_INDEX` (I) with `ZKSTORM_SHARDS` (N) and `ZKSTORM_RUN_ID`, so one
/// Indexed Job spec serves every pod.
public struct ShardSpec: Sendable, Equatable {
    /// 0-based index of this shard.
    public var index: Int
    /// How many shards the run has.
    public var count: Int
    /// The run every shard shares: its root on the target is `/zkstorm/<runId>` (or the workload's root).
    public var runId: String

    public init(index: Int, count: Int, runId: String) {
        self.index = index
        self.count = count
        self.runId = runId
    }

    /// Shard 0 sets the run root up, publishes the start time and, in a watch storm, writes.
    public var isLeader: Bool { index == 0 }

    /// The environment variables read when the flags are absent.
    public enum Environment {
        public static let index = "JOB_COMPLETION_INDEX"
        public static let count = "ZKSTORM_SHARDS"
        public static let runId = "ZKSTORM_RUN_ID"
    }

    /// Resolves the shard from the flags (`--shard I/N`, `--run-id ID`) or, for what they leave out, the
    /// environment. Returns nil for an ordinary single-process run (no flag and no variable). Every bad
    /// value names the flag or variable it came from.
    public static func resolve(
        flag: String?,
        runId flagRunId: String?,
        environment: [String: String]
    ) throws(ShardSpecError) -> (shard: ShardSpec?, runId: String?) {
        let runId: String?
        let runIdSource: String
        if let flagRunId {
            runId = flagRunId
            runIdSource = "--run-id"
        } else {
            runId = environment[Environment.runId].flatMap { $0.isEmpty ? nil : $0 }
            runIdSource = Environment.runId
        }
        if let runId { try validate(runId: runId, source: runIdSource) }
        let index: Int
        let count: Int
        if let flag {
            let parts = flag.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
                throw ShardSpecError(
                    "--shard \(flag): expected I/N, the 0-based shard index and the shard count, e.g. 0/3"
                )
            }
            (index, count) = (i, n)
            try check(index: index, count: count, source: "--shard \(flag)")
        } else {
            let countText = environment[Environment.count].flatMap { $0.isEmpty ? nil : $0 }
            let indexText = environment[Environment.index].flatMap { $0.isEmpty ? nil : $0 }
            guard let countText else {
                if let indexText {
                    throw ShardSpecError(
                        "\(Environment.index)=\(indexText) is set but \(Environment.count) is not: set \(Environment.count) to the number of shards (the Job's completions), or unset \(Environment.index)"
                    )
                }
                return (nil, runId)
            }
            guard let n = Int(countText) else {
                throw ShardSpecError("\(Environment.count)=\(countText): expected the number of shards, e.g. 3")
            }
            guard let indexText else {
                throw ShardSpecError(
                    "\(Environment.count)=\(countText) is set but \(Environment.index) is not: run as a Kubernetes Indexed Job or pass --shard I/N"
                )
            }
            guard let i = Int(indexText) else {
                throw ShardSpecError("\(Environment.index)=\(indexText): expected the 0-based shard index, e.g. 0")
            }
            (index, count) = (i, n)
            try check(
                index: index,
                count: count,
                source: "\(Environment.index)=\(indexText) with \(Environment.count)=\(countText)"
            )
        }
        guard let runId else {
            if count == 1 {
                let made = RunIdentifier.make()
                return (ShardSpec(index: index, count: count, runId: made), made)
            }
            throw ShardSpecError(
                "shard \(index)/\(count) needs the run id the shards share: pass --run-id ID (or set \(Environment.runId)), the same for every shard"
            )
        }
        return (ShardSpec(index: index, count: count, runId: runId), runId)
    }

    static func check(index: Int, count: Int, source: String) throws(ShardSpecError) {
        guard count >= 1 else { throw ShardSpecError("\(source): the shard count must be at least 1") }
        guard count <= maximumCount else {
            throw ShardSpecError("\(source): at most \(maximumCount) shards")
        }
        guard index >= 0, index < count else {
            throw ShardSpecError("\(source): the shard index must be from 0 to \(count - 1)")
        }
    }

    /// More shards than this is a typo, not a deployment (each shard holds a session on the target).
    public static let maximumCount = 1000

    /// A run id becomes one znode name of the run root: letters, digits, `-`, `_` and `.`, at most 64.
    static func validate(runId: String, source: String) throws(ShardSpecError) {
        let allowed = runId.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        guard !runId.isEmpty, runId.utf8.count <= 64, allowed, runId != ".", runId != ".." else {
            throw ShardSpecError(
                "\(source) \(runId): expected 1 to 64 letters, digits, '-', '_' or '.' (it names the run root /zkstorm/ID)"
            )
        }
    }
}

/// A bad `--shard`, `--run-id` or shard variable: the message names it (exit 64).
public struct ShardSpecError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(_ message: String) { self.message = message }
}
