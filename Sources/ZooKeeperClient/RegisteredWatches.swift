import NIOCore
import ZooKeeperProtocol

/// The watches this session holds on the server, by server path (chroot included), kept as the Java
/// client keeps them so they can be re-registered with setWatches2 after a reconnect.
struct RegisteredWatches {
    /// Set by getData/exists on an existing node.
    private(set) var dataWatches: Set<String> = []
    /// Set by exists on a missing node.
    private(set) var existWatches: Set<String> = []
    /// Set by getChildren on an existing node.
    private(set) var childWatches: Set<String> = []
    private(set) var persistentWatches: Set<String> = []
    private(set) var persistentRecursiveWatches: Set<String> = []

    /// Which one-shot watch a request sets once answered.
    enum Kind: Sendable, Equatable {
        case none
        /// exists(watch: true): a data watch if the node exists, an exist watch if not.
        case exists
        case data
        case child
        case persistent
        case persistentRecursive
        /// removeWatches: forget the watches of this type once the server removed them.
        case remove(WatcherType)
    }

    var isEmpty: Bool {
        dataWatches.isEmpty && existWatches.isEmpty && childWatches.isEmpty && persistentWatches.isEmpty
            && persistentRecursiveWatches.isEmpty
    }

    var count: Int {
        dataWatches.count + existWatches.count + childWatches.count + persistentWatches.count
            + persistentRecursiveWatches.count
    }

    /// Records the watch a request set, given its reply code.
    mutating func register(_ kind: Kind, path: String, result: ErrorCode) {
        switch kind {
        case .none:
            return
        case .exists:
            if result == .ok {
                dataWatches.insert(path)
            } else if result == .noNode {
                existWatches.insert(path)
            }
        case .data:
            if result == .ok { dataWatches.insert(path) }
        case .child:
            if result == .ok { childWatches.insert(path) }
        case .persistent:
            if result == .ok { persistentWatches.insert(path) }
        case .persistentRecursive:
            if result == .ok { persistentRecursiveWatches.insert(path) }
        case .remove(let type):
            if result == .ok { removed(type, path: path) }
        }
    }

    /// Drops the one-shot watches an event fired (the server forgot them when it sent the event).
    mutating func fired(_ type: EventType, path: String) {
        // A session holding only persistent watches (a storm's) has nothing to drop: skip the hashing.
        guard !(dataWatches.isEmpty && existWatches.isEmpty && childWatches.isEmpty) else { return }
        switch type {
        case .nodeCreated, .nodeDataChanged:
            dataWatches.remove(path)
            existWatches.remove(path)
        case .nodeDeleted:
            dataWatches.remove(path)
            existWatches.remove(path)
            childWatches.remove(path)
        case .nodeChildrenChanged:
            childWatches.remove(path)
        default:
            break
        }
    }

    /// Forgets watches removed on the server by removeWatches.
    mutating func removed(_ type: WatcherType, path: String) {
        switch type {
        case .children:
            childWatches.remove(path)
        case .data:
            dataWatches.remove(path)
            existWatches.remove(path)
        case .any:
            childWatches.remove(path)
            dataWatches.remove(path)
            existWatches.remove(path)
            persistentWatches.remove(path)
            persistentRecursiveWatches.remove(path)
        case .persistent:
            persistentWatches.remove(path)
        case .persistentRecursive:
            persistentRecursiveWatches.remove(path)
        default:
            break
        }
    }

    mutating func removeAll() {
        self = RegisteredWatches()
    }

    /// The length field of a setWatches2 frame with no paths: xid, type, relativeZxid and five vector
    /// counts (4 + 4 + 8 + 5 × 4 bytes).
    static let emptySetWatches2FrameLength = 36

    /// setWatches2 requests carrying every watch, each frame's length field (everything after the 4-byte
    /// length prefix, as the server checks it against `jute.maxbuffer`) at most `maxFrameLength`, so a
    /// session with many watches never trips ZOOKEEPER-706. A path too long to share a frame goes alone.
    func setWatchesBatches(
        relativeZxid: Int64,
        maxFrameLength: Int = zooKeeperMaxFrameLength
    )
        -> [SetWatches2Request]
    {
        var batches: [SetWatches2Request] = []
        var current = SetWatches2Request(relativeZxid: relativeZxid)
        var length = Self.emptySetWatches2FrameLength
        func add(_ path: String, to keyPath: WritableKeyPath<SetWatches2Request, [String]>) {
            // A jute string: 4-byte length and the UTF-8 bytes.
            let cost = 4 + path.utf8.count
            if length + cost > maxFrameLength && !current.isEmpty {
                batches.append(current)
                current = SetWatches2Request(relativeZxid: relativeZxid)
                length = Self.emptySetWatches2FrameLength
            }
            current[keyPath: keyPath].append(path)
            length += cost
        }
        for p in dataWatches.sorted() { add(p, to: \.dataWatches) }
        for p in existWatches.sorted() { add(p, to: \.existWatches) }
        for p in childWatches.sorted() { add(p, to: \.childWatches) }
        for p in persistentWatches.sorted() { add(p, to: \.persistentWatches) }
        for p in persistentRecursiveWatches.sorted() { add(p, to: \.persistentRecursiveWatches) }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}

extension SetWatches2Request {
    /// Watches carried, over all five kinds.
    var watchCount: Int {
        dataWatches.count + existWatches.count + childWatches.count + persistentWatches.count
            + persistentRecursiveWatches.count
    }
}

extension ZooKeeperRequest {
    /// The watch this request asks the server to set.
    var watchKind: RegisteredWatches.Kind {
        switch self {
        case .exists(_, let watch): watch ? .exists : .none
        case .getData(_, let watch): watch ? .data : .none
        case .getChildren(_, let watch), .getChildren2(_, let watch): watch ? .child : .none
        case .addWatch(_, let mode): mode == .persistentRecursive ? .persistentRecursive : .persistent
        case .removeWatches(_, let type): .remove(type)
        default: .none
        }
    }
}
