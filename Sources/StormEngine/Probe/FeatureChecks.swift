import ZooKeeperClient
import ZooKeeperProtocol

/// One check per feature a target may support, each returning what it saw (the detail of a
/// supported feature) or throwing: `ProbeMismatch` when the answer differed from ZooKeeper 3.8's, any
/// other error when the target refused. The checks run in `TargetProbe`'s order: later ones use the
/// nodes earlier ones made under `root`.
struct FeatureChecks {
    /// The session that acts.
    let client: ZooKeeperClient
    /// The session that holds the watches.
    let watcher: ZooKeeperClient
    let events: ProbeEventLog
    let eventTimeout: Duration
    /// Everything the checks create lives below it.
    let root: String
    /// The server the four-letter words go to.
    let fourLetterWordServer: HostPort

    var node: String { root + "/node" }
    var watchDirectory: String { root + "/w" }

    // MARK: Expectations

    func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
        guard actual == expected else { throw ProbeMismatch("\(what): expected \(expected), got \(actual)") }
    }

    /// Expects `body` to fail with `code`.
    func expectError(_ code: ErrorCode, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ZooKeeperError {
            guard error.code == code else { throw ProbeMismatch("\(what): expected \(code), got \(error.code)") }
            return
        }
        throw ProbeMismatch("\(what): expected \(code), but it succeeded")
    }

    // MARK: Operations

    /// Creates `root`; the caller has made its parent.
    func create() async throws -> String {
        let created = try await client.create(root, data: Array("zkstorm check".utf8))
        try expect(created, root, "created path")
        return "created \(root)"
    }

    func create2() async throws -> String {
        let (path, stat) = try await client.create2(node, data: [1, 2, 3])
        try expect(path, node, "path")
        try expect(stat.dataLength, 3, "Stat.dataLength")
        return "path and Stat returned"
    }

    func exists() async throws -> String {
        guard let stat = try await client.exists(node) else {
            throw ProbeMismatch("existing node reported missing")
        }
        try expect(stat.dataLength, 3, "Stat.dataLength")
        try expect(try await client.exists(root + "/absent") == nil, true, "missing node reported missing")
        return "Stat for a node, nil for a missing one"
    }

    func getData() async throws -> String {
        let (data, stat) = try await client.getData(node)
        try expect(data, [1, 2, 3], "data")
        try expect(stat.version, 0, "Stat.version")
        try await expectError(.noNode, "getData of a missing node") {
            _ = try await client.getData(root + "/absent")
        }
        return "data, Stat, NONODE for a missing node"
    }

    func setData() async throws -> String {
        let stat = try await client.setData(node, data: [4], version: 0)
        try expect(stat.version, 1, "Stat.version after setData")
        try await expectError(.badVersion, "setData with a stale version") {
            _ = try await client.setData(node, data: [5], version: 0)
        }
        return "version checks, BADVERSION"
    }

    func getChildren() async throws -> String {
        _ = try await client.create(node + "/a")
        _ = try await client.create(node + "/b")
        try expect(try await client.getChildren(node).sorted(), ["a", "b"], "children")
        return "children listed"
    }

    func getChildren2() async throws -> String {
        let (children, stat) = try await client.getChildren2(node)
        try expect(children.sorted(), ["a", "b"], "children")
        try expect(stat.numChildren, 2, "Stat.numChildren")
        return "children and Stat"
    }

    func delete() async throws -> String {
        try await expectError(.notEmpty, "delete of a node with children") { try await client.delete(node) }
        try await client.delete(node + "/a", version: 0)
        try await expectError(.noNode, "delete of a missing node") { try await client.delete(node + "/a") }
        return "NOTEMPTY, NONODE, versioned delete"
    }

    func createErrors() async throws -> String {
        try await expectError(.nodeExists, "create of an existing node") { _ = try await client.create(node) }
        try await expectError(.noNode, "create under a missing parent") {
            _ = try await client.create(root + "/x/y")
        }
        return "NODEEXISTS, NONODE"
    }

    func acl() async throws -> String {
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

    func sync() async throws -> String {
        try await client.sync(root)
        return "answered"
    }

    func digestAuth() async throws -> String {
        try await client.addAuth(scheme: "digest", auth: Array("zkstorm:check".utf8))
        let path = try await client.create(root + "/private", acl: ACL.creatorAll)
        let (acl, _) = try await client.getACL(path)
        // auth: expands to every identity of the session: over TLS an x509 one comes first.
        try expect(acl.first { $0.id.scheme == "digest" }?.id.scheme ?? "", "digest", "ACL scheme of auth: ACL")
        return "digest identity applied to auth: ACL"
    }

    func getEphemerals() async throws -> String {
        try expect(try await client.getEphemerals(prefix: root), [root + "/eph"], "ephemerals under the root")
        return "filtered by prefix"
    }

    func getAllChildrenNumber() async throws -> String {
        let count = try await client.getAllChildrenNumber(root + "/seq")
        try expect(count, 3, "descendants of \(root)/seq")
        return "counts descendants"
    }

    func whoAmI() async throws -> String {
        let infos = try await client.whoAmI()
        guard !infos.isEmpty else { throw ProbeMismatch("no identities") }
        return infos.map { "\($0.authScheme):\($0.user)" }.joined(separator: ", ")
    }

    // MARK: Node kinds

    func sequential() async throws -> String {
        let dir = try await client.create(root + "/seq")
        let first = try await client.create(dir + "/s-", mode: .persistentSequential)
        _ = try await client.create(dir + "/plain")
        let second = try await client.create(dir + "/s-", mode: .persistentSequential)
        try expect(first, dir + "/s-0000000000", "first sequential name")
        try expect(second, dir + "/s-0000000002", "sequential name after a plain child (parent cversion)")
        return "%010d of the parent's cversion"
    }

    func ephemeral() async throws -> String {
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

    func ttlNodes() async throws -> String {
        let path = try await client.create(root + "/ttl", mode: .persistentWithTTL, ttl: 60_000)
        try expect(path, root + "/ttl", "path")
        try await expectError(.badArguments, "ttl 0") {
            _ = try await client.create(root + "/ttl0", mode: .persistentWithTTL, ttl: 0)
        }
        return "createTTL accepted, ttl 0 refused"
    }

    func containers() async throws -> String {
        let path = try await client.createContainer(root + "/box")
        guard let stat = try await client.exists(path) else {
            throw ProbeMismatch("container missing after create")
        }
        try expect(stat.ephemeralOwner, 0, "Stat.ephemeralOwner of a container")
        return "createContainer accepted (the server's sweep removes it once emptied)"
    }

    // MARK: Multi

    func multi() async throws -> String {
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

    func multiFailure() async throws -> String {
        let results = try await client.multi([
            .create(CreateRequest(path: root + "/mf", data: nil), opCode: .create),
            .check(path: root + "/absent", version: 0),
            .create(CreateRequest(path: root + "/mf2", data: nil), opCode: .create),
        ])
        try expect(results, [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)], "failure results")
        try expect(try await client.exists(root + "/mf") == nil, true, "nothing applied")
        return "all-or-nothing, per-op codes 0 / NONODE / -2"
    }

    func multiRead() async throws -> String {
        let results = try await client.multiRead([
            .getChildren(path: root + "/seq"), .getData(path: root + "/absent"),
        ])
        guard results.count == 2, case .getChildren = results[0] else { throw ProbeMismatch("results: \(results)") }
        try expect(results[1], .error(.noNode), "missing node result")
        return "per-op results"
    }
}
