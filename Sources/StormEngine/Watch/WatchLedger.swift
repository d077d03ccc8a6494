/// Accounts for every watch notification a storm made due, by znode version: the writer is the only
/// session that changes the watched znodes, so a znode's final version (cversion for child watches) is
/// the number of writes ZooKeeper applied to it — including a write whose reply was lost with its
/// connection. Each write is due to every watcher, and ends up in exactly one bucket:
///
/// - received: the watcher got a notification;
/// - collapsed: a one-shot watch had fired and was not set again yet when the write landed (the
///   re-arming read shows the version jump; ZooKeeper sends nothing for these, by design);
/// - missed: neither — e.g. changes made while a persistent watcher was disconnected (setWatches2 does
///   not replay them), or while an expired session was being replaced, or still in flight at the end.
///
/// `missed` is what is left after the other two, so nothing is lost without being counted; `excess`
/// (more notifications than writes) would mean duplicates and should stay 0.
public enum WatchLedger {
    public struct Summary: Codable, Sendable, Equatable {
        /// Writes applied to the watched znodes (sum of their final versions).
        public var writes: UInt64
        /// writes × watchers (in a ramped storm: each write × the watchers active when it was sent).
        public var due: UInt64
        public var received: UInt64
        public var collapsed: UInt64
        public var missed: UInt64
        /// Notifications that arrived after their round had given up on them (counted in `received`
        /// and, for that round, in `watch.missed`).
        public var late: UInt64
        public var excess: UInt64
        /// False when the final versions could not be read (then `writes` counts acknowledged writes).
        public var versionsRead: Bool

        enum CodingKeys: String, CodingKey {
            case writes, due, received, collapsed, missed, late, excess
            case versionsRead = "versions_read"
        }
    }

    public static func summarize(
        finalVersions: [Int32],
        watchers: Int,
        received: UInt64,
        collapsed: UInt64,
        late: UInt64,
        versionsRead: Bool
    ) -> Summary {
        let writes = finalVersions.reduce(UInt64(0)) { $0 + UInt64(max($1, 0)) }
        let due = writes * UInt64(watchers)
        let accounted = received + collapsed
        return Summary(
            writes: writes,
            due: due,
            received: received,
            collapsed: collapsed,
            missed: due > accounted ? due - accounted : 0,
            late: late,
            excess: accounted > due ? accounted - due : 0,
            versionsRead: versionsRead
        )
    }

    /// One storm write: the watchers holding a watch when it was sent, and whether its reply came back.
    public struct Write: Sendable, Equatable {
        public var watchers: Int
        public var acknowledged: Bool

        public init(watchers: Int, acknowledged: Bool) {
            self.watchers = watchers
            self.acknowledged = acknowledged
        }
    }

    /// Notifications due when the watcher count changed between rounds (stages with `watchers`): per
    /// znode, each acknowledged write is due to the watchers active when it was sent; writes whose reply
    /// was lost count only as far as the znode's final version says they were applied (the earliest
    /// of them first). Without final versions (`nil`), only acknowledged writes count.
    public static func due(finalVersions: [Int32]?, writes: [[Write]]) -> UInt64 {
        var due: UInt64 = 0
        for (z, log) in writes.enumerated() {
            let acknowledged = log.filter(\.acknowledged)
            due += acknowledged.reduce(UInt64(0)) { $0 + UInt64($1.watchers) }
            guard let finalVersions, z < finalVersions.count else { continue }
            let unacknowledgedApplied = Int(max(finalVersions[z], 0)) - acknowledged.count
            guard unacknowledgedApplied > 0 else { continue }
            due += log.lazy.filter { !$0.acknowledged }.prefix(unacknowledgedApplied)
                .reduce(UInt64(0)) { $0 + UInt64($1.watchers) }
        }
        return due
    }
}

extension WatchLedger.Summary {
    /// Replaces `due` (a ramped storm's, from ``WatchLedger/due(finalVersions:writes:)``) and settles
    /// `missed` and `excess` against it.
    public mutating func settle(due: UInt64) {
        self.due = due
        let accounted = received + collapsed
        missed = due > accounted ? due - accounted : 0
        excess = accounted > due ? accounted - due : 0
    }
}
