import ZooKeeperProtocol

/// One cached znode: its data and stat as last read.
public struct CachedNode: Sendable, Equatable {
    public var data: [UInt8]
    public var stat: Stat

    public init(data: [UInt8], stat: Stat) {
        self.data = data
        self.stat = stat
    }
}

/// What a cache holds after a change: every node it knows (absolute paths), and how many reads it has
/// sent since it started (the figure a reconnect herd multiplies).
public struct CacheSnapshot: Sendable, Equatable {
    public var nodes: [String: CachedNode]
    /// getData, getChildren and exists requests the cache has sent, in total.
    public var reads: Int
    /// Why this snapshot was taken.
    public var cause: Cause

    public enum Cause: Sendable, Equatable {
        /// The first full read.
        case initialLoad
        /// A watch fired on this path and the cache read it again.
        case event(EventType, path: String)
        /// The session got a connection again and the cache read everything again.
        case reconnected
    }
}

/// Caches of znodes kept up to date by watches, in the manner of Curator's `CuratorCache` and kazoo's
/// `DataWatch`/`TreeCache`: an initial read that leaves a watch on every node, a re-read (and re-watch)
/// of a node whenever its watch fires, and a full re-read after every reconnect. Each is an
/// `AsyncThrowingStream` of snapshots, one per change.
///
/// A cache reads the client's ``ZooKeeperClient/events`` sequence, which has one consumer: give each
/// cache a client of its own. The re-read after a reconnect is what kazoo and Curator do, and what
/// makes a fleet of caches a reconnect herd: every cache reads its whole tree at once when a leader
/// election drops every connection (kazoo #664). The stream ends when the session closes, and throws
/// when it expires.
public enum ZooKeeperCache {
    /// The subtree under `root` (`root` included), one snapshot per change. A root that does not exist
    /// yet is watched with `exists` and read when it appears.
    public static func tree(_ root: String, client: ZooKeeperClient) -> AsyncThrowingStream<CacheSnapshot, any Error> {
        stream(client: client) { state in try await state.load(root, subtree: true) }
    }

    /// One node (Curator's NodeCache, kazoo's DataWatch): its data and stat, or no entry while it does
    /// not exist.
    public static func node(_ path: String, client: ZooKeeperClient) -> AsyncThrowingStream<CacheSnapshot, any Error> {
        stream(client: client) { state in try await state.load(path, subtree: false) }
    }

    private static func stream(
        client: ZooKeeperClient,
        load: @escaping @Sendable (CacheState) async throws -> Void
    ) -> AsyncThrowingStream<CacheSnapshot, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                let state = CacheState(client: client)
                // Attached before the first read, so a watch that fires during the load is queued.
                var events = client.events.makeAsyncIterator()
                do {
                    try await load(state)
                    continuation.yield(state.snapshot(.initialLoad))
                    var lostConnection = false
                    while let event = await events.next() {
                        do {
                            if event.type == .none {
                                switch event.state {
                                case .disconnected:
                                    lostConnection = true
                                case .syncConnected where lostConnection:
                                    lostConnection = false
                                    try await state.reloadAll()
                                    continuation.yield(state.snapshot(.reconnected))
                                case .expired:
                                    throw ZooKeeperError(
                                        code: .sessionExpired,
                                        message: "the cache's session expired; its watches are gone"
                                    )
                                default:
                                    break
                                }
                                continue
                            }
                            try await state.handle(event)
                            continuation.yield(state.snapshot(.event(event.type, path: event.path)))
                        } catch let error as ZooKeeperError where error.code == .connectionLoss {
                            // Read again in full once the session has a server.
                            lostConnection = true
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// The cache's nodes and the roots it loaded, read and written by the one task that runs the cache.
final class CacheState: @unchecked Sendable {
    // @unchecked: only the cache's own task touches it, one step after another.
    let client: ZooKeeperClient
    private(set) var nodes: [String: CachedNode] = [:]
    /// Loaded roots and whether their children are cached too.
    private var roots: [String: Bool] = [:]
    private(set) var reads = 0

    init(client: ZooKeeperClient) {
        self.client = client
    }

    func snapshot(_ cause: CacheSnapshot.Cause) -> CacheSnapshot {
        CacheSnapshot(nodes: nodes, reads: reads, cause: cause)
    }

    /// Reads `path` with a watch (and, for a subtree, every descendant); a node that is gone by the
    /// time it is read leaves an `exists` watch instead.
    func load(_ path: String, subtree: Bool) async throws {
        if roots[path] == nil, !roots.keys.contains(where: { path.hasPrefix($0 == "/" ? "/" : $0 + "/") }) {
            roots[path] = subtree
        }
        do {
            reads += 1
            let (data, stat) = try await client.getData(path, watch: true)
            nodes[path] = CachedNode(data: data, stat: stat)
            guard subtree else { return }
            reads += 1
            let children = try await client.getChildren(path, watch: true)
            let known = Set(nodes.keys.filter { Self.parent(of: $0) == path })
            for gone in known.subtracting(children.map { Self.child(path, $0) }) { remove(gone) }
            for child in children { try await load(Self.child(path, child), subtree: true) }
        } catch let error as ZooKeeperError where error.code == .noNode {
            remove(path)
            // A root is watched until it appears (the exists watch fires NodeCreated); a descendant
            // that went meanwhile is the parent's listing's business.
            guard roots[path] != nil else { return }
            reads += 1
            if try await client.exists(path, watch: true) != nil { try await load(path, subtree: subtree) }
        }
    }

    func reloadAll() async throws {
        for (root, subtree) in roots.sorted(by: { $0.key < $1.key }) { try await load(root, subtree: subtree) }
    }

    func handle(_ event: WatchEvent) async throws {
        let subtree = isSubtree(event.path)
        switch event.type {
        case .nodeDeleted:
            remove(event.path)
            // A root is watched until it comes back; a descendant's parent listing tells of a new one.
            guard roots[event.path] != nil else { return }
            reads += 1
            if try await client.exists(event.path, watch: true) != nil { try await load(event.path, subtree: subtree) }
        case .nodeChildrenChanged where subtree:
            reads += 1
            let children: [String]
            do {
                children = try await client.getChildren(event.path, watch: true)
            } catch let error as ZooKeeperError where error.code == .noNode {
                // Deleted since (its NodeDeleted is on the way, or was handled already).
                remove(event.path)
                return
            }
            let known = Set(nodes.keys.filter { Self.parent(of: $0) == event.path })
            let current = Set(children.map { Self.child(event.path, $0) })
            for gone in known.subtracting(current) { remove(gone) }
            for added in current.subtracting(known).sorted() { try await load(added, subtree: true) }
        default:
            // Data changed or the node was created: read it again (its children too when new).
            try await load(event.path, subtree: subtree && event.type == .nodeCreated)
        }
    }

    /// Whether `path` lies in a subtree cache (its children are cached).
    private func isSubtree(_ path: String) -> Bool {
        roots.contains { root, subtree in subtree && (path == root || path.hasPrefix(root == "/" ? "/" : root + "/")) }
    }

    private func remove(_ path: String) {
        let prefix = path == "/" ? "/" : path + "/"
        for key in nodes.keys where key == path || key.hasPrefix(prefix) { nodes[key] = nil }
    }

    static func child(_ parent: String, _ name: String) -> String { parent == "/" ? "/" + name : parent + "/" + name }

    static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
