import Foundation

/// The lines a sharded run adds to its report: which shard, its clock against the writer's (the error
/// bar of its watch lags), and the shards that did not finish.
public enum ShardReport {
    public static func render(_ shard: ShardIdentity) -> String {
        var out = "shard \(shard.index)/\(shard.count) of run \(shard.runId)"
        if let offset = shard.clockOffsetNs, let error = shard.clockErrorNs {
            if shard.index == 0 {
                out += ", the storm's writer (its watch lags on one clock)"
            } else {
                out += String(
                    format:
                        ", clock %+.3f ms ± %.3f ms against the writer's (shard 0): its watch lags carry that error bar",
                    Double(offset) / 1e6,
                    Double(error) / 1e6
                )
            }
        }
        out += "\n"
        if let lost = shard.lost, !lost.isEmpty { out += lostSentence(lost) + "\n" }
        return out
    }

    /// "shard 2 did not finish: …", naming every shard that was gone or still running when this one left.
    public static func lostSentence(_ lost: [Int]) -> String {
        let names = ShardBarrier.names(lost)
        let one = lost.count == 1
        return
            "\(names) did not finish: \(one ? "its" : "their") session ended (\(one ? "it" : "they") died) or \(one ? "it" : "they") still ran after --shard-wait; a merge of the shards lacks \(one ? "its" : "their") figures"
    }
}
