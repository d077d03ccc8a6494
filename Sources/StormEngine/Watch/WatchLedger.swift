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
        /// writes × watchers.
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
}
