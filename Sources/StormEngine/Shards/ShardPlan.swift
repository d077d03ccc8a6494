/// What one shard runs of a workload, so N shards together run what one process would.
///
/// Every count is split by `ShardSplit`: shard I takes `total / N`, and the first `total % N` shards
/// take one more. Each group's sessions are split that way, and an open loop's rate goes with its
/// sessions (shard I runs `rate × its sessions / the group's sessions`), so the rates add up to the
/// group's. The shard's sessions keep the key and operation streams they have in one process (session k
/// of a group draws from the same stream whichever shard runs it), `--requests` is split like a count,
/// stages' rates go with the open-loop rate and their closed-loop sessions are split. The key space and
/// the watched znodes are created once, by shard 0; every shard's operations choose from all of it. In
/// a watch storm the watchers are split and shard 0 alone writes.
public struct ShardPlan: Sendable, Equatable {
    public var shard: ShardSpec
    /// The workload this shard runs: its groups (those it has sessions in), sessions, rates, requests,
    /// stages and watchers.
    public var workload: Workload
    /// Per group of `workload`: the stream number of its first session less one, in the numbering of
    /// the whole run (one process numbers sessions 1, 2, … over the groups in order).
    public var streamBases: [UInt64]
    /// Per group of `workload`: its index in the whole workload (seeds the open loop's arrivals).
    public var groupIndices: [Int]

    /// This shard writes the storm's rounds (shard 0); the others only watch.
    public var writesStorm: Bool { shard.isLeader && workload.watches != nil }
}

/// The remainder rule of every split: shard I of N takes `total / N`, plus one when `I < total % N`.
package enum ShardSplit {
    package static func share(_ total: Int, index: Int, count: Int) -> Int {
        total / count + (index < total % count ? 1 : 0)
    }

    /// Items before shard I's (the sum of the shares of shards 0..<I).
    package static func offset(_ total: Int, index: Int, count: Int) -> Int {
        index * (total / count) + min(index, total % count)
    }
}

extension Workload {
    /// The slice shard `shard.index` of `shard.count` runs (the workload itself for one shard).
    /// Refuses what cannot be divided: fewer sessions (or watchers, or requests) than shards, and the
    /// parts that act on the target as a whole (faults, the reconnect herd, watcher stages).
    public func sliced(for shard: ShardSpec) throws(WorkloadPlanError) -> ShardPlan {
        let plan = try sessionPlan()
        let (i, n) = (shard.index, shard.count)
        var slice = self
        var bases: [UInt64] = []
        var indices: [Int] = []
        if n > 1 {
            if !faults.isEmpty {
                throw WorkloadPlanError(
                    message:
                        "faults act on the target as a whole and would fire once per shard: run them in a single process (leave out --shard) or remove `faults:`"
                )
            }
            if herd != nil {
                throw WorkloadPlanError(
                    message:
                        "the reconnect herd (`herd:`) runs in one process only: leave out --shard or remove `herd:`"
                )
            }
            if stages.contains(where: { $0.watchers != nil }) {
                throw WorkloadPlanError(
                    message:
                        "stages with `watchers` ramp the storm from its writer's process: they do not split over shards; remove `watchers` from the stages or leave out --shard"
                )
            }
            if watches?.kind.isOneShot == true && watches?.storm.rearm == .afterRound {
                throw WorkloadPlanError(
                    message:
                        "`rearm: after-round` waits for the writer's round to end, which only the writing shard sees: use `rearm: immediate` (the default) or leave out --shard"
                )
            }
            let groupSessions = plan.groupSessions.reduce(0, +)
            if !groups.isEmpty && groupSessions < n {
                throw WorkloadPlanError(
                    message:
                        "\(groupSessions) session(s) do not split over \(n) shards: every shard needs at least one; raise sessions to at least \(n) or run fewer shards"
                )
            }
            if groups.isEmpty, let watchers = watches?.watchers, watchers < n {
                throw WorkloadPlanError(
                    message:
                        "\(watchers) watcher(s) do not split over \(n) shards: every shard needs at least one; raise the watchers to at least \(n) or run fewer shards"
                )
            }
            if let requests, requests < n {
                throw WorkloadPlanError(
                    message: "--requests \(requests) does not split over \(n) shards: ask for at least \(n)"
                )
            }
        }
        var groupsOfShard: [OperationGroup] = []
        var before = 0
        for (index, group) in groups.enumerated() {
            let total = plan.groupSessions[index]
            defer { before += total }
            let share = ShardSplit.share(total, index: i, count: n)
            guard share > 0 else { continue }
            var own = group
            if n > 1 {
                own.sessions = share
                if case .open(let rate, let arrivals, let maxInFlight) = group.load {
                    own.load = .open(
                        rate: rate * Double(share) / Double(total),
                        arrivals: arrivals,
                        maxInFlight: maxInFlight
                    )
                }
            }
            groupsOfShard.append(own)
            bases.append(UInt64(before + ShardSplit.offset(total, index: i, count: n)))
            indices.append(index)
        }
        guard n > 1 else {
            return ShardPlan(shard: shard, workload: self, streamBases: bases, groupIndices: indices)
        }
        slice.groups = groupsOfShard
        slice.sessions = groupsOfShard.compactMap(\.sessions).reduce(0, +)
        if let requests { slice.requests = ShardSplit.share(requests, index: i, count: n) }
        let fullOpen = Self.openRate(groups)
        let ownOpen = Self.openRate(groupsOfShard)
        slice.stages = stages.map { stage in
            var own = stage
            if let rate = stage.rate { own.rate = fullOpen > 0 ? rate * ownOpen / fullOpen : 0 }
            if let sessions = stage.sessions { own.sessions = ShardSplit.share(sessions, index: i, count: n) }
            return own
        }
        if var watches {
            watches.watchers = ShardSplit.share(watches.watchers, index: i, count: n)
            slice.watches = watches.watchers > 0 || shard.isLeader ? watches : nil
        }
        _ = try slice.sessionPlan()
        return ShardPlan(shard: shard, workload: slice, streamBases: bases, groupIndices: indices)
    }

    /// The open-loop rate of `groups` together.
    static func openRate(_ groups: [OperationGroup]) -> Double {
        groups.reduce(0.0) { total, group in
            if case .open(let rate, _, _) = group.load { return total + rate }
            return total
        }
    }
}
