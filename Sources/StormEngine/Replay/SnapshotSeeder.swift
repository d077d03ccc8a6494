import NIOCore
import ZooKeeperClient
import ZooKeeperFiles
import ZooKeeperProtocol

/// Builds a snapshot's tree (or a tree of its shape) under a run root before a workload starts.
///
/// Every node is created persistent with the open ACL: the snapshot's ephemeral owners are sessions
/// of another cluster, and its ACLs could lock the run out. ZooKeeper's own `/zookeeper` subtree
/// (quotas, config) is not copied.
package enum SnapshotSeeder {
    /// Create requests under `root`, parents first. With `shapeOnly`, names become `n<i>` (the node's
    /// index among its siblings) and data a filler of the same length, so nothing of the original
    /// names or values is written.
    package static func requests(_ snapshot: Snapshot, root: String, shapeOnly: Bool) -> [CreateRequest] {
        var out: [CreateRequest] = []
        out.reserveCapacity(snapshot.nodes.count)
        // Original path → path under the root (for shape-only: the generated path).
        var renamed: [String: String] = ["": root]
        var childCount: [String: Int] = [:]
        let filler = Array("zkstorm-".utf8)
        for node in snapshot.nodes where !node.path.isEmpty {
            if node.path == "/zookeeper" || node.path.hasPrefix("/zookeeper/") { continue }
            let cut = node.path.lastIndex(of: "/")!
            let parent = String(node.path[..<cut])
            guard let parentTarget = renamed[parent] else { continue }
            let target: String
            if shapeOnly {
                let index = childCount[parent, default: 0]
                childCount[parent] = index + 1
                target = parentTarget + "/n\(index)"
            } else {
                target = parentTarget + node.path[cut...]
            }
            renamed[node.path] = target
            let data: [UInt8] =
                shapeOnly
                ? (0..<node.dataLength).map { filler[$0 % filler.count] }
                : node.data.map { Array($0.readableBytesView) } ?? []
            out.append(CreateRequest(path: target, data: data, acl: ACL.openUnsafe, mode: .persistent))
        }
        return out
    }

    /// Creates the requests through `client`, pipelined in order (a parent's create is answered before
    /// its child's, on one session). Throws `RunError(.unavailable)` naming the first znode refused.
    package static func seed(_ requests: [CreateRequest], client: ZooKeeperClient, stop: StopFlag? = nil) async throws {
        for chunk in stride(from: 0, to: requests.count, by: 1024) {
            if stop?.isSet == true { return }
            let slice = requests[chunk..<min(chunk + 1024, requests.count)]
            let codes = await PipelinedRequests.codes(client, slice.map { .create($0, opCode: .create) })
            for (request, code) in zip(slice, codes) where code != .ok {
                throw RunError(.unavailable, "seeding from the snapshot: create \(request.path) failed: \(code.name)")
            }
        }
    }
}

/// `--seed-snapshot FILE [--shape-only]`: a snapshot to build under the run root before the workload.
public struct SnapshotSeed: Sendable {
    public var snapshot: Snapshot
    public var shapeOnly: Bool

    public init(snapshot: Snapshot, shapeOnly: Bool) {
        self.snapshot = snapshot
        self.shapeOnly = shapeOnly
    }

    /// Reads the snapshot; an unreadable or damaged file is `RunError(.data)` naming file and offset.
    public init(path: String, shapeOnly: Bool) throws {
        do {
            snapshot = try SnapshotReader.read(path: path)
        } catch {
            throw RunError(.data, "--seed-snapshot: \(error.description)")
        }
        self.shapeOnly = shapeOnly
    }

    public func requests(root: String) -> [CreateRequest] {
        SnapshotSeeder.requests(snapshot, root: root, shapeOnly: shapeOnly)
    }
}
