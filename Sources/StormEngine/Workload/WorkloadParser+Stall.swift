import Yams

/// A slow-consumer storm: `watches.stall` makes some watcher sessions stop reading their socket.
public struct StallSpec: Sendable, Equatable {
    /// How many of the storm's watcher sessions stall (the last ones); the others are the healthy ones
    /// whose lag the report compares before and after.
    public var watchers: Int
    /// The first round they no longer read; the rounds before it are the baseline.
    public var fromRound: Int
    /// Requests each stalled watcher sends per round once stalled (getData of the ballast znode): their
    /// replies pile up for it, as a cache that keeps refreshing while its reader is stuck.
    public var reads: Int
    /// The ballast znode's value size (`<root>/stall-ballast`), so the unread replies fill the server's
    /// buffers within a few rounds.
    public var value: Int

    public init(watchers: Int = 1, fromRound: Int = 2, reads: Int = 16, value: Int = 256 * 1024) {
        self.watchers = watchers
        self.fromRound = fromRound
        self.reads = reads
        self.value = value
    }

    /// The workload YAML of it (`zkstorm run --dry-run`).
    var yaml: String {
        "  stall: {watchers: \(watchers), from_round: \(fromRound), reads: \(reads), value: \(value)}\n"
    }
}

extension WorkloadParser {
    static let stallFields = ["watchers", "from_round", "reads", "value"]

    /// `watches.stall: {watchers: 4, from_round: 3, reads: 16, value: 512KiB}`, checked against the storm
    /// it belongs to (at least one healthy watcher, at least one baseline round).
    static func parseStall(_ reader: YAMLFieldReader, watches spec: WatchSpec) throws(WorkloadError) -> StallSpec {
        var stall = StallSpec()
        guard spec.watchers >= 2 else {
            throw reader.error(
                "watchers",
                "a stall needs at least 2 watchers (one stalled, one healthy to compare); raise `watches.watchers`"
            )
        }
        stall.watchers = try reader.int("watchers", default: 1, range: 1...(spec.watchers - 1))
        guard spec.storm.rounds >= 2 else {
            throw reader.error(
                "from_round",
                "a stall needs at least 2 storm rounds (a baseline before it); raise `watches.storm.rounds`"
            )
        }
        stall.fromRound = try reader.int("from_round", default: 2, range: 2...spec.storm.rounds)
        stall.reads = try reader.int("reads", default: stall.reads, range: 0...10_000)
        stall.value = try reader.bytes("value", default: stall.value, maximum: Workload.maximumValueSize)
        return stall
    }

    /// Stalled watchers are a fixed set (the last `stall.watchers`), which stages that ramp watchers would
    /// change under them.
    static func checkStallStages(_ workload: Workload, top: YAMLFieldReader) throws(WorkloadError) {
        guard workload.watches?.stall != nil, workload.stages.contains(where: { $0.watchers != nil }) else { return }
        throw top.error(
            "stages",
            "stages that ramp `watchers` cannot be combined with `watches.stall`; drop one of them"
        )
    }
}
