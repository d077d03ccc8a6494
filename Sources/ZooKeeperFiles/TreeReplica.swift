import NIOCore
import ZooKeeperProtocol

/// The paths and data of a ZooKeeper tree rebuilt from files: a snapshot, then the log entries after
/// it, applied as ZooKeeper applies them on start-up. A snapshot is fuzzy (taken while writes went on),
/// so replaying an entry it already holds must be harmless: creates of existing nodes and deletes of
/// missing ones are ignored, as DataTree does.
public struct TreeReplica: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var data: [UInt8]
        /// The owning session of an ephemeral, 0 otherwise.
        public var ephemeralOwner: Int64
    }

    /// Absolute paths ("/" is not included) to nodes.
    public private(set) var nodes: [String: Node] = [:]

    public init() {}

    public init(snapshot: Snapshot) {
        for node in snapshot.nodes where !node.path.isEmpty {
            let data = node.data.map { Array($0.readableBytesView) } ?? []
            nodes[node.path] = Node(data: data, ephemeralOwner: node.stat.isEphemeral ? node.stat.ephemeralOwner : 0)
        }
    }

    public mutating func apply(_ entry: TxnLogEntry) {
        apply(entry.record, clientId: entry.header.clientId)
    }

    mutating func apply(_ record: TxnRecord, clientId: Int64) {
        switch record {
        case .create(let c):
            if nodes[c.path] == nil {
                let data = c.data.map { Array($0.readableBytesView) } ?? []
                nodes[c.path] = Node(data: data, ephemeralOwner: c.ephemeral ? clientId : 0)
            }
        case .delete(let path):
            nodes[path] = nil
        case .setData(let path, let data, _):
            nodes[path]?.data = data.map { Array($0.readableBytesView) } ?? []
        case .closeSession:
            // DataTree.killSession removes every ephemeral of the session (paths2Delete lists them).
            for (path, node) in nodes where node.ephemeralOwner == clientId { nodes[path] = nil }
        case .multi(let ops):
            if record.isFailedMulti { return }
            for op in ops { apply(op, clientId: clientId) }
        default:
            break
        }
    }
}
