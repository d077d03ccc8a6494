import ZooKeeperClient
import ZooKeeperProtocol

/// The watch checks: the watcher session sets a watch, the acting session changes the tree, and the
/// events the watcher receives within the event timeout must be exactly the expected ones.
extension FeatureChecks {
    /// Clears the event log, runs `action`, waits for as many events as expected (then 100 ms more for
    /// any extra ones) and compares, ignoring order.
    func fired(after action: () async throws -> Void, expecting expected: [String]) async throws -> String {
        events.clear()
        try await action()
        let seen = await events.wait(for: expected.count, timeout: eventTimeout)
        try await Task.sleep(for: .milliseconds(100))
        let all = events.summaries
        guard all.sorted() == expected.sorted() else {
            let wanted = expected.isEmpty ? "no event" : expected.joined(separator: ", ")
            let got = all.isEmpty ? "nothing" : all.joined(separator: ", ")
            throw ProbeMismatch("expected \(wanted), got \(got)\(seen ? "" : " within \(eventTimeout)")")
        }
        return expected.isEmpty ? "no event" : expected.joined(separator: ", ")
    }

    func existsWatchOnMissingNode() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.exists(dir + "/a", watch: true)
        return try await fired(after: { _ = try await client.create(dir + "/a") }, expecting: ["NodeCreated \(dir)/a"])
    }

    func existsWatchOnNode() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.exists(dir + "/a", watch: true)
        return try await fired(
            after: { _ = try await client.setData(dir + "/a", data: [1]) },
            expecting: ["NodeDataChanged \(dir)/a"]
        )
    }

    func getDataWatch() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.getData(dir + "/a", watch: true)
        return try await fired(
            after: { _ = try await client.setData(dir + "/a", data: [2]) },
            expecting: ["NodeDataChanged \(dir)/a"]
        )
    }

    func oneShot() async throws -> String {
        let dir = watchDirectory
        return try await fired(after: { _ = try await client.setData(dir + "/a", data: [3]) }, expecting: [])
    }

    func getChildrenWatch() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.getChildren(dir, watch: true)
        return try await fired(
            after: { _ = try await client.create(dir + "/b") },
            expecting: ["NodeChildrenChanged \(dir)"]
        )
    }

    func deleteFiresDataAndChildWatchesOnce() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.getData(dir + "/b", watch: true)
        _ = try await watcher.exists(dir + "/b", watch: true)
        _ = try await watcher.getChildren(dir + "/b", watch: true)
        _ = try await watcher.getChildren(dir, watch: true)
        return try await fired(
            after: { try await client.delete(dir + "/b") },
            expecting: ["NodeDeleted \(dir)/b", "NodeChildrenChanged \(dir)"]
        )
    }

    func setACLFiresNothing() async throws -> String {
        let dir = watchDirectory
        _ = try await watcher.getData(dir + "/a", watch: true)
        return try await fired(after: { _ = try await client.setACL(dir + "/a", acl: ACL.openUnsafe) }, expecting: [])
    }

    func checkAndRemoveWatches() async throws -> String {
        let dir = watchDirectory
        try await watcher.checkWatches(dir + "/a", type: .data)
        try await watcher.removeWatches(dir + "/a", type: .data)
        try await expectError(.noWatcher, "checkWatches after removal") {
            try await watcher.checkWatches(dir + "/a", type: .data)
        }
        return "NOWATCHER after removal"
    }

    func persistentWatch() async throws -> String {
        let dir = watchDirectory
        try await watcher.addWatch(dir + "/a", mode: .persistent)
        return try await fired(
            after: {
                _ = try await client.setData(dir + "/a", data: [4])
                _ = try await client.setData(dir + "/a", data: [5])
            },
            expecting: ["NodeDataChanged \(dir)/a", "NodeDataChanged \(dir)/a"]
        )
    }

    func persistentRecursiveWatch() async throws -> String {
        let dir = watchDirectory
        try await watcher.addWatch(dir + "/r", mode: .persistentRecursive)
        return try await fired(
            after: {
                _ = try await client.create(dir + "/r")
                _ = try await client.create(dir + "/r/x")
            },
            expecting: ["NodeCreated \(dir)/r", "NodeCreated \(dir)/r/x"]
        )
    }
}
