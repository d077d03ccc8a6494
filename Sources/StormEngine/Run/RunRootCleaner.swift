import Foundation
import Logging
import ZooKeeperClient
import ZooKeeperProtocol

/// `zkstorm clean`: finds the roots of dead runs under `/zkstorm` and removes them. A root is live while
/// its `owner` ephemeral exists (its run's control session is alive) or, for a sharded run, while any
/// shard holds its `ready` ephemeral (`isLive`); roots of check probes and of
/// other tools are never touched, only those whose data is a zkstorm owner record.
public struct RunRootCleaner: Sendable {
    public struct Root: Sendable, Equatable {
        public var path: String
        public var owner: RunRootOwner?
        /// Creation time of the root znode (ZooKeeper's ctime).
        public var created: Date
        public var live: Bool
        /// Znodes below the root, the root included.
        public var znodes: Int
    }

    public let client: ZooKeeperClient
    public let logger: Logger
    public let parent: String

    public init(client: ZooKeeperClient, logger: Logger, parent: String = "/zkstorm") {
        self.client = client
        self.logger = logger
        self.parent = parent
    }

    /// Every zkstorm run root under `parent`, live or not, oldest first.
    public func list() async throws -> [Root] {
        let names: [String]
        do {
            names = try await client.getChildren(parent)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return []
        }
        var roots: [Root] = []
        for name in names.sorted() {
            let path = parent + "/" + name
            guard let (data, stat) = try? await client.getData(path), let owner = RunRootOwner.decode(data) else {
                continue
            }
            let live = await isLive(path)
            let znodes = (try? await RunRootSetup.subtree(client, of: path).count) ?? 1
            roots.append(
                Root(
                    path: path,
                    owner: owner,
                    created: Date(timeIntervalSince1970: Double(stat.ctime) / 1000),
                    live: live,
                    znodes: znodes
                )
            )
        }
        return roots.sorted { $0.created < $1.created }
    }

    /// A root is live while its `owner` ephemeral exists (the control session of the run, or of a
    /// sharded run's shard 0, is alive) or, in a sharded run, while any shard's `ready` ephemeral under
    /// `<root>/shards` does (shard 0 may be gone while the others still run).
    func isLive(_ root: String) async -> Bool {
        if (try? await client.exists(root + "/" + RunRootOwner.liveNode)) != nil { return true }
        return await ShardBarrier.isHeld(client, root: root)
    }

    /// Removes one dead root (everything below it first).
    public func remove(_ root: Root) async throws {
        let layout = RunLayout(root: root.path, workload: Workload(name: "clean"))
        try await RunRootSetup(client: client, layout: layout, logger: logger).removeAll()
    }
}
