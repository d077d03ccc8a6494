import NIOConcurrencyHelpers

/// What a `StormRun` that is one shard of a run needs, and what it learns on the way: its slice, how
/// long it waits for the others, its clock against the writer's, when it began measuring and which
/// shards it saw die.
public final class ShardContext: Sendable {
    public let plan: ShardPlan
    /// The workload of the whole run (the result's `effective_workload`, so a merge shows what ran).
    public let fullWorkload: Workload
    /// `--shard-wait`: how long a shard waits for the others at each barrier step.
    public let wait: Duration
    private let state = NIOLockedValueBox(State())

    struct State {
        var toWriter: ClockOffset?
        var startUnixNanoseconds: Int64?
        var lost: [Int] = []
    }

    public init(plan: ShardPlan, fullWorkload: Workload, wait: Duration = ShardContext.defaultWait) {
        self.plan = plan
        self.fullWorkload = fullWorkload
        self.wait = wait
    }

    public static let defaultWait: Duration = .seconds(120)

    public var shard: ShardSpec { plan.shard }

    /// This shard's clock against shard 0's (the writer's), once the shards have met.
    var toWriter: ClockOffset? {
        get { state.withLockedValue { $0.toWriter } }
        set { state.withLockedValue { $0.toWriter = newValue } }
    }

    var lost: [Int] {
        get { state.withLockedValue { $0.lost } }
        set { state.withLockedValue { $0.lost = newValue } }
    }

    var startUnixNanoseconds: Int64? {
        get { state.withLockedValue { $0.startUnixNanoseconds } }
        set { state.withLockedValue { $0.startUnixNanoseconds = newValue } }
    }

    /// The result's `shard` section.
    func identity(startUnixNanoseconds fallback: Int64) -> ShardIdentity {
        var identity = ShardIdentity(
            index: shard.index,
            count: shard.count,
            runId: shard.runId,
            startUnixNs: UInt64(max(0, startUnixNanoseconds ?? fallback))
        )
        if let toWriter {
            identity.clockOffsetNs = toWriter.offsetNanoseconds
            identity.clockErrorNs = toWriter.errorNanoseconds
        }
        let lost = self.lost
        if !lost.isEmpty { identity.lost = lost }
        return identity
    }
}
