import Foundation
import StormEngine
import ZooKeeperClient
import ZooKeeperProtocol

/// What a probe found for one feature.
struct ProbeResult: Codable, Sendable {
    enum Outcome: String, Codable, Sendable {
        case supported
        /// The target refused the request (the error says how).
        case unsupported
        /// The target answered, but not as ZooKeeper 3.8 does (the detail says what differed).
        case wrong
    }

    var feature: String
    var category: String
    /// Core features must work for `zkstorm check` to pass.
    var core: Bool
    var outcome: Outcome
    var detail: String
}

/// The answer differed from ZooKeeper's; `detail` says what was expected and what came.
struct ProbeMismatch: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Probes a ZooKeeper-compatible target: every operation, watch kind, multi, TTL, containers and the
/// four-letter words. Everything it creates lives under `/zkstorm/check-<random>` and is removed at the end.
final class TargetProbe {
    let connectString: ConnectString
    let eventTimeout: Duration
    let root: String
    private(set) var results: [ProbeResult] = []
    /// TLS, SASL and digest auth for the probe's sessions.
    var security = ClientSecurity()

    init(connectString: ConnectString, eventTimeout: Duration = .seconds(2)) {
        self.connectString = connectString
        self.eventTimeout = eventTimeout
        self.root = "/zkstorm/check-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// Connects two sessions (actor and watcher), runs every probe, cleans up. Throws only when the target
    /// cannot be reached (the error names the hosts).
    func run() async throws -> [ProbeResult] {
        var configuration = ZooKeeperConfiguration(connectString: connectString.description)
        configuration.sessionTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(3)
        security.apply(to: &configuration)
        let client = try await ZooKeeperClient.connect(configuration)
        let watcher = try await ZooKeeperClient.connect(configuration)
        let events = EventLog(watcher)
        let createdParent = await prepareRoot(client)
        if results.contains(where: { $0.core && $0.outcome != .supported }) {
            try? await client.close()
            try? await watcher.close()
            return results
        }
        await probeOperations(client)
        await probeMulti(client)
        await probeExtendedOperations(client)
        await probeWatches(client, watcher: watcher, events: events)
        // While the watcher still holds its persistent watches, so wchc/wchp have something to list.
        // Four-letter words are plaintext; a TLS port would only time out on them.
        if security.tls == nil { await probeFourLetterWords() }
        await cleanUp(client, removeParent: createdParent)
        try? await watcher.close()
        try? await client.close()
        return results
    }

    // MARK: Recording

    private func probe(
        _ feature: String, _ category: String, core: Bool, _ body: () async throws -> String
    ) async {
        do {
            let detail = try await body()
            results.append(
                ProbeResult(feature: feature, category: category, core: core, outcome: .supported, detail: detail))
        } catch let mismatch as ProbeMismatch {
            results.append(
                ProbeResult(
                    feature: feature, category: category, core: core, outcome: .wrong, detail: mismatch.description))
        } catch let error as ZooKeeperError {
            results.append(
                ProbeResult(
                    feature: feature, category: category, core: core, outcome: .unsupported, detail: error.message))
        } catch {
            results.append(
                ProbeResult(feature: feature, category: category, core: core, outcome: .unsupported, detail: "\(error)")
            )
        }
    }

    private func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
        guard actual == expected else { throw ProbeMismatch("\(what): expected \(expected), got \(actual)") }
    }

    /// Expects `body` to fail with `code`.
    private func expectError(_ code: ErrorCode, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ZooKeeperError {
            guard error.code == code else { throw ProbeMismatch("\(what): expected \(code), got \(error.code)") }
            return
        }
        throw ProbeMismatch("\(what): expected \(code), but it succeeded")
    }

    // MARK: Probes

    /// Creates /zkstorm (if missing) and the check root; true when /zkstorm was created here.
    private func prepareRoot(_ client: ZooKeeperClient) async -> Bool {
        var createdParent = false
        let root = self.root
        await probe("create", "operations", core: true) {
            do {
                _ = try await client.create("/zkstorm")
                createdParent = true
            } catch let error as ZooKeeperError where error.code == .nodeExists {
            }
            let created = try await client.create(root, data: Array("zkstorm check".utf8))
            try expect(created, root, "created path")
            return "created \(root)"
        }
        return createdParent
    }

    private func probeOperations(_ client: ZooKeeperClient) async {
        let root = self.root
        let node = root + "/node"
        await probe("create2", "operations", core: false) {
            let (path, stat) = try await client.create2(node, data: [1, 2, 3])
            try expect(path, node, "path")
            try expect(stat.dataLength, 3, "Stat.dataLength")
            return "path and Stat returned"
        }
        await probe("exists", "operations", core: true) {
            guard let stat = try await client.exists(node) else {
                throw ProbeMismatch("existing node reported missing")
            }
            try expect(stat.dataLength, 3, "Stat.dataLength")
            try expect(try await client.exists(root + "/absent") == nil, true, "missing node reported missing")
            return "Stat for a node, nil for a missing one"
        }
        await probe("getData", "operations", core: true) {
            let (data, stat) = try await client.getData(node)
            try expect(data, [1, 2, 3], "data")
            try expect(stat.version, 0, "Stat.version")
            try await expectError(.noNode, "getData of a missing node") {
                _ = try await client.getData(root + "/absent")
            }
            return "data, Stat, NONODE for a missing node"
        }
        await probe("setData", "operations", core: true) {
            let stat = try await client.setData(node, data: [4], version: 0)
            try expect(stat.version, 1, "Stat.version after setData")
            try await expectError(.badVersion, "setData with a stale version") {
                _ = try await client.setData(node, data: [5], version: 0)
            }
            return "version checks, BADVERSION"
        }
        await probe("getChildren", "operations", core: true) {
            _ = try await client.create(node + "/a")
            _ = try await client.create(node + "/b")
            try expect(try await client.getChildren(node).sorted(), ["a", "b"], "children")
            return "children listed"
        }
        await probe("getChildren2", "operations", core: false) {
            let (children, stat) = try await client.getChildren2(node)
            try expect(children.sorted(), ["a", "b"], "children")
            try expect(stat.numChildren, 2, "Stat.numChildren")
            return "children and Stat"
        }
        await probe("delete", "operations", core: true) {
            try await expectError(.notEmpty, "delete of a node with children") { try await client.delete(node) }
            try await client.delete(node + "/a", version: 0)
            try await expectError(.noNode, "delete of a missing node") { try await client.delete(node + "/a") }
            return "NOTEMPTY, NONODE, versioned delete"
        }
        await probe("create errors", "operations", core: true) {
            try await expectError(.nodeExists, "create of an existing node") { _ = try await client.create(node) }
            try await expectError(.noNode, "create under a missing parent") {
                _ = try await client.create(root + "/x/y")
            }
            return "NODEEXISTS, NONODE"
        }
        await probe("sequential", "nodes", core: true) {
            let dir = try await client.create(root + "/seq")
            let first = try await client.create(dir + "/s-", mode: .persistentSequential)
            _ = try await client.create(dir + "/plain")
            let second = try await client.create(dir + "/s-", mode: .persistentSequential)
            try expect(first, dir + "/s-0000000000", "first sequential name")
            try expect(second, dir + "/s-0000000002", "sequential name after a plain child (parent cversion)")
            return "%010d of the parent's cversion"
        }
        await probe("ephemeral", "nodes", core: true) {
            let path = try await client.create(root + "/eph", mode: .ephemeral)
            guard let stat = try await client.exists(path) else {
                throw ProbeMismatch("ephemeral missing after create")
            }
            try expect(stat.ephemeralOwner, client.sessionId, "Stat.ephemeralOwner")
            try await expectError(.noChildrenForEphemerals, "child of an ephemeral") {
                _ = try await client.create(path + "/kid")
            }
            return "owner set, NOCHILDRENFOREPHEMERALS"
        }
        await probe("getACL/setACL", "operations", core: true) {
            let (acl, _) = try await client.getACL(node)
            try expect(acl, ACL.openUnsafe, "default ACL")
            // READ and ADMIN for anyone: writes are refused, and the ACL can be opened again afterwards.
            let readAdmin = [ACL(perms: [.read, .admin], id: .anyone)]
            let stat = try await client.setACL(node, acl: readAdmin, version: 0)
            try expect(stat.aversion, 1, "Stat.aversion")
            try await expectError(.noAuth, "setData on a read-only node") {
                _ = try await client.setData(node, data: [])
            }
            _ = try await client.setACL(node, acl: ACL.openUnsafe)
            return "ACL read and written, NOAUTH enforced"
        }
        await probe("sync", "operations", core: true) {
            try await client.sync(root)
            return "answered"
        }
        await probe("digest auth", "operations", core: false) {
            try await client.addAuth(scheme: "digest", auth: Array("zkstorm:check".utf8))
            let path = try await client.create(root + "/private", acl: ACL.creatorAll)
            let (acl, _) = try await client.getACL(path)
            // auth: expands to every identity of the session: over TLS an x509 one comes first.
            try expect(acl.first { $0.id.scheme == "digest" }?.id.scheme ?? "", "digest", "ACL scheme of auth: ACL")
            return "digest identity applied to auth: ACL"
        }
    }

    private func probeMulti(_ client: ZooKeeperClient) async {
        let root = self.root
        await probe("multi", "multi", core: true) {
            let results = try await client.multi([
                .create(CreateRequest(path: root + "/m", data: [1]), opCode: .create),
                .setData(path: root + "/m", data: [2], version: 0),
                .check(path: root + "/m", version: 1),
                .delete(path: root + "/m", version: 1),
            ])
            guard results.count == 4, results[0] == .create(path: root + "/m"), case .setData = results[1],
                results[2] == .check, results[3] == .delete
            else { throw ProbeMismatch("results: \(results)") }
            return "create, setData, check, delete in one transaction"
        }
        await probe("multi failure", "multi", core: true) {
            let results = try await client.multi([
                .create(CreateRequest(path: root + "/mf", data: nil), opCode: .create),
                .check(path: root + "/absent", version: 0),
                .create(CreateRequest(path: root + "/mf2", data: nil), opCode: .create),
            ])
            try expect(results, [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)], "failure results")
            try expect(try await client.exists(root + "/mf") == nil, true, "nothing applied")
            return "all-or-nothing, per-op codes 0 / NONODE / -2"
        }
        await probe("multiRead", "multi", core: false) {
            let results = try await client.multiRead([
                .getChildren(path: root + "/seq"), .getData(path: root + "/absent"),
            ])
            guard results.count == 2, case .getChildren = results[0] else { throw ProbeMismatch("results: \(results)") }
            try expect(results[1], .error(.noNode), "missing node result")
            return "per-op results"
        }
    }

    private func probeExtendedOperations(_ client: ZooKeeperClient) async {
        let root = self.root
        await probe("TTL nodes", "nodes", core: false) {
            let path = try await client.create(root + "/ttl", mode: .persistentWithTTL, ttl: 60_000)
            try expect(path, root + "/ttl", "path")
            try await expectError(.badArguments, "ttl 0") {
                _ = try await client.create(root + "/ttl0", mode: .persistentWithTTL, ttl: 0)
            }
            return "createTTL accepted, ttl 0 refused"
        }
        await probe("containers", "nodes", core: false) {
            let path = try await client.createContainer(root + "/box")
            guard let stat = try await client.exists(path) else {
                throw ProbeMismatch("container missing after create")
            }
            try expect(stat.ephemeralOwner, 0, "Stat.ephemeralOwner of a container")
            return "createContainer accepted (the server's sweep removes it once emptied)"
        }
        await probe("getEphemerals", "operations", core: false) {
            try expect(try await client.getEphemerals(prefix: root), [root + "/eph"], "ephemerals under the root")
            return "filtered by prefix"
        }
        await probe("getAllChildrenNumber", "operations", core: false) {
            let count = try await client.getAllChildrenNumber(root + "/seq")
            try expect(count, 3, "descendants of \(root)/seq")
            return "counts descendants"
        }
        await probe("whoAmI", "operations", core: false) {
            let infos = try await client.whoAmI()
            guard !infos.isEmpty else { throw ProbeMismatch("no identities") }
            return infos.map { "\($0.authScheme):\($0.user)" }.joined(separator: ", ")
        }
    }

    private func probeWatches(_ client: ZooKeeperClient, watcher: ZooKeeperClient, events: EventLog) async {
        let root = self.root
        let timeout = eventTimeout
        let dir = root + "/w"
        _ = try? await client.create(dir)

        func fired(after action: () async throws -> Void, expecting expected: [String]) async throws -> String {
            events.clear()
            try await action()
            let seen = await events.wait(for: expected.count, timeout: timeout)
            try await Task.sleep(for: .milliseconds(100))
            let all = events.summaries
            guard all.sorted() == expected.sorted() else {
                throw ProbeMismatch(
                    "expected \(expected.isEmpty ? "no event" : expected.joined(separator: ", ")), got \(all.isEmpty ? "nothing" : all.joined(separator: ", "))\(seen ? "" : " within \(timeout)")"
                )
            }
            return expected.isEmpty ? "no event" : expected.joined(separator: ", ")
        }

        await probe("exists watch (missing node)", "watches", core: true) {
            _ = try await watcher.exists(dir + "/a", watch: true)
            return try await fired(
                after: { _ = try await client.create(dir + "/a") }, expecting: ["NodeCreated \(dir)/a"])
        }
        await probe("exists watch (node)", "watches", core: true) {
            _ = try await watcher.exists(dir + "/a", watch: true)
            return try await fired(
                after: { _ = try await client.setData(dir + "/a", data: [1]) }, expecting: ["NodeDataChanged \(dir)/a"])
        }
        await probe("getData watch", "watches", core: true) {
            _ = try await watcher.getData(dir + "/a", watch: true)
            return try await fired(
                after: { _ = try await client.setData(dir + "/a", data: [2]) }, expecting: ["NodeDataChanged \(dir)/a"])
        }
        await probe("one-shot", "watches", core: true) {
            try await fired(after: { _ = try await client.setData(dir + "/a", data: [3]) }, expecting: [])
        }
        await probe("getChildren watch", "watches", core: true) {
            _ = try await watcher.getChildren(dir, watch: true)
            return try await fired(
                after: { _ = try await client.create(dir + "/b") }, expecting: ["NodeChildrenChanged \(dir)"])
        }
        await probe("delete fires data+child watches once", "watches", core: true) {
            _ = try await watcher.getData(dir + "/b", watch: true)
            _ = try await watcher.exists(dir + "/b", watch: true)
            _ = try await watcher.getChildren(dir + "/b", watch: true)
            _ = try await watcher.getChildren(dir, watch: true)
            return try await fired(
                after: { try await client.delete(dir + "/b") },
                expecting: ["NodeDeleted \(dir)/b", "NodeChildrenChanged \(dir)"])
        }
        await probe("setACL fires nothing", "watches", core: false) {
            _ = try await watcher.getData(dir + "/a", watch: true)
            return try await fired(
                after: { _ = try await client.setACL(dir + "/a", acl: ACL.openUnsafe) }, expecting: [])
        }
        await probe("checkWatches/removeWatches", "watches", core: false) {
            try await watcher.checkWatches(dir + "/a", type: .data)
            try await watcher.removeWatches(dir + "/a", type: .data)
            try await expectError(.noWatcher, "checkWatches after removal") {
                try await watcher.checkWatches(dir + "/a", type: .data)
            }
            return "NOWATCHER after removal"
        }
        await probe("persistent watch", "watches", core: false) {
            try await watcher.addWatch(dir + "/a", mode: .persistent)
            return try await fired(
                after: {
                    _ = try await client.setData(dir + "/a", data: [4])
                    _ = try await client.setData(dir + "/a", data: [5])
                },
                expecting: ["NodeDataChanged \(dir)/a", "NodeDataChanged \(dir)/a"])
        }
        await probe("persistent recursive watch", "watches", core: false) {
            try await watcher.addWatch(dir + "/r", mode: .persistentRecursive)
            return try await fired(
                after: {
                    _ = try await client.create(dir + "/r")
                    _ = try await client.create(dir + "/r/x")
                },
                expecting: ["NodeCreated \(dir)/r", "NodeCreated \(dir)/r/x"])
        }
    }

    private func cleanUp(_ client: ZooKeeperClient, removeParent: Bool) async {
        let root = self.root
        await probe("cleanup", "operations", core: false) {
            try await Self.deleteTree(client, root)
            if removeParent, try await client.getChildren("/zkstorm").isEmpty {
                try await client.delete("/zkstorm")
            }
            return "removed \(root)"
        }
    }

    static func deleteTree(_ client: ZooKeeperClient, _ path: String) async throws {
        for child in (try? await client.getChildren(path)) ?? [] {
            try await deleteTree(client, ZooKeeperPath.join(path, child))
        }
        do {
            try await client.delete(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
        }
    }

    private func probeFourLetterWords() async {
        let host = connectString.hosts[0]
        let root = self.root
        let words: [(String, (String) -> Bool, String)] = [
            ("ruok", { $0 == "imok" }, "imok"),
            ("srvr", { $0.contains("Zookeeper version:") && $0.contains("Mode:") }, "Zookeeper version and Mode lines"),
            ("stat", { $0.contains("Clients:") }, "a Clients: section"),
            ("mntr", { $0.contains("zk_version\t") && $0.contains("zk_znode_count\t") }, "tab-separated zk_* lines"),
            ("envi", { $0.contains("zookeeper.version=") }, "zookeeper.version="),
            ("conf", { $0.contains("clientPort=") || $0.contains("dataDir=") }, "configuration lines"),
            ("cons", { $0.contains("queued=") || $0.contains("(") }, "connection lines"),
            ("wchs", { $0.contains("watching") || $0.contains("connections") }, "watch summary"),
            ("wchc", { $0.contains(root + "/w/") }, "watched paths by session, including \(root)/w/…"),
            ("wchp", { $0.contains(root + "/w/") }, "sessions by watched path, including \(root)/w/…"),
            ("isro", { $0 == "rw" || $0 == "ro" }, "rw or ro"),
        ]
        for (word, valid, expected) in words {
            await probe(word, "four-letter words", core: false) {
                let answer = try await FourLetterWordClient.send(
                    word, host: host.host, port: host.port, timeout: .seconds(3))
                let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.contains("not in the whitelist") || trimmed.contains("not executed") {
                    throw ZooKeeperError(code: .unimplemented, path: nil, message: trimmed)
                }
                guard valid(trimmed) else {
                    throw ProbeMismatch("expected \(expected), got \"\(trimmed.prefix(80))\"")
                }
                return String(trimmed.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
            }
        }
    }
}

/// Node events seen by the watcher session, for the watch probes.
final class EventLog: @unchecked Sendable {
    // @unchecked: `events` is guarded by `lock`.
    private let lock = NSLock()
    private var events: [WatchEvent] = []

    init(_ client: ZooKeeperClient) {
        client.setEventHandler { [self] event in
            guard event.type != .none else { return }
            lock.withLock { events.append(event) }
        }
    }

    func clear() { lock.withLock { events.removeAll() } }

    var summaries: [String] { lock.withLock { events.map { "\($0.type) \($0.path)" } } }

    /// Waits until `count` events arrived or `timeout` passed; true when they did.
    func wait(for count: Int, timeout: Duration) async -> Bool {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if lock.withLock({ events.count }) >= count { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
