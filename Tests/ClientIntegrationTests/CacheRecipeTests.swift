import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The node and tree caches (Curator's CuratorCache, kazoo's DataWatch/TreeCache) on both servers:
/// the initial read, a re-read on every watch, and a full re-read after a reconnect.
@Suite("Cache recipes")
struct CacheRecipeTests {
    /// Reads snapshots until one satisfies `condition` (10 s at most).
    static func next(
        _ iterator: inout AsyncThrowingStream<CacheSnapshot, any Error>.Iterator,
        until condition: (CacheSnapshot) -> Bool
    ) async throws -> CacheSnapshot {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard let snapshot = try await iterator.next() else { break }
            if condition(snapshot) { return snapshot }
        }
        throw TestServerError("no snapshot matched within 10 s")
    }

    static func text(_ snapshot: CacheSnapshot, _ path: String) -> String? {
        snapshot.nodes[path].map { String(decoding: $0.data, as: UTF8.self) }
    }

    @Test(arguments: TestTarget.allCases)
    func treeCacheFollowsDataChildrenAndDeletes(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let tree = root + "/tree"
            _ = try await client.create(tree, data: Array("t".utf8))
            _ = try await client.create(tree + "/a", data: Array("a0".utf8))
            _ = try await client.create(tree + "/b")
            _ = try await client.create(tree + "/b/c", data: Array("c0".utf8))
            let cacheClient = try await connectClient(try await target.shared())
            var snapshots = ZooKeeperCache.tree(tree, client: cacheClient).makeAsyncIterator()
            let first = try await Self.next(&snapshots) { $0.cause == .initialLoad }
            #expect(Set(first.nodes.keys) == [tree, tree + "/a", tree + "/b", tree + "/b/c"])
            #expect(Self.text(first, tree + "/b/c") == "c0")
            // One getData and one getChildren per node.
            #expect(first.reads == 8)

            _ = try await client.setData(tree + "/a", data: Array("a1".utf8))
            _ = try await Self.next(&snapshots) { Self.text($0, tree + "/a") == "a1" }
            _ = try await client.create(tree + "/b/d", data: Array("d0".utf8))
            _ = try await Self.next(&snapshots) { Self.text($0, tree + "/b/d") == "d0" }
            _ = try await client.setData(tree + "/b/d", data: Array("d1".utf8))
            _ = try await Self.next(&snapshots) { Self.text($0, tree + "/b/d") == "d1" }
            _ = try await client.deleteRecursive(tree + "/b")
            let pruned = try await Self.next(&snapshots) {
                $0.nodes[tree + "/b"] == nil && $0.nodes[tree + "/b/d"] == nil
            }
            #expect(Set(pruned.nodes.keys) == [tree, tree + "/a"])
            try await cacheClient.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func nodeCacheWaitsForTheNodeAndFollowsIt(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = root + "/config"
            let cacheClient = try await connectClient(try await target.shared())
            var snapshots = ZooKeeperCache.node(path, client: cacheClient).makeAsyncIterator()
            let absent = try await Self.next(&snapshots) { $0.cause == .initialLoad }
            #expect(absent.nodes.isEmpty)
            _ = try await client.create(path, data: Array("v1".utf8))
            _ = try await Self.next(&snapshots) { Self.text($0, path) == "v1" }
            _ = try await client.setData(path, data: Array("v2".utf8))
            let changed = try await Self.next(&snapshots) { Self.text($0, path) == "v2" }
            #expect(changed.nodes[path]?.stat.version == 1)
            _ = try await client.delete(path)
            _ = try await Self.next(&snapshots) { $0.nodes.isEmpty }
            _ = try await client.create(path, data: Array("v3".utf8))
            _ = try await Self.next(&snapshots) { Self.text($0, path) == "v3" }
            try await cacheClient.close()
        }
    }

    /// What makes a herd: after the server comes back, the cache reads its whole tree again (and the
    /// change made while it was away is in that read).
    @Test(arguments: TestTarget.allCases)
    func treeCacheReadsEverythingAgainAfterAReconnect(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 2000)
        defer { Task { try await server.destroy() } }
        let writer = try await connectClient(server, sessionTimeout: .seconds(10))
        _ = try await writer.create("/herd", data: [0])
        for i in 0..<5 { _ = try await writer.create("/herd/n\(i)", data: [UInt8(i)]) }
        let cacheClient = try await connectClient(server, sessionTimeout: .seconds(10))
        var snapshots = ZooKeeperCache.tree("/herd", client: cacheClient).makeAsyncIterator()
        let first = try await Self.next(&snapshots) { $0.cause == .initialLoad }
        #expect(first.nodes.count == 6 && first.reads == 12)
        try await server.stop()
        try await server.restart()
        let again = try await Self.next(&snapshots) { $0.cause == .reconnected }
        #expect(again.reads >= first.reads + 12, "the whole tree was read again: \(again.reads) reads")
        #expect(again.nodes.count == 6)
        _ = try await writer.setData("/herd/n3", data: [42])
        _ = try await Self.next(&snapshots) { $0.nodes["/herd/n3"]?.data == [42] }
        try await cacheClient.close()
        try await writer.close()
    }
}
