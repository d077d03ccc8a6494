import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct DataTreeTests {
    private func create(
        _ tree: DataTree,
        _ path: String,
        mode: CreateMode = .persistent,
        opCode: OpCode = .create,
        ttl: Int64 = 0,
        acl: [ACL] = ACL.openUnsafe,
        session: Int64 = 7,
        identities: [Id] = [],
        zxid: Int64 = 1,
        time: Int64 = 1000
    ) throws(OperationError) -> String {
        try tree.create(
            path,
            data: [1, 2, 3],
            acl: acl,
            mode: mode,
            opCode: opCode,
            ttl: ttl,
            session: session,
            identities: identities,
            zxid: zxid,
            time: time
        )
    }

    private func code(_ body: () throws -> Void) -> ErrorCode {
        do {
            try body()
            return .ok
        } catch let error as OperationError {
            return error.code
        } catch {
            return .systemError
        }
    }

    @Test func builtInNodesMatchAFreshZooKeeper() {
        let tree = DataTree()
        #expect(tree.nodeCount == 5)
        #expect(tree.approximateDataSize == 44)
        #expect(tree["/"]!.children == ["zookeeper"])
        #expect(tree["/zookeeper/config"]!.stat.aversion == -1)
        #expect(tree.acl(of: tree["/zookeeper/config"]!) == ACL.readUnsafe)
    }

    @Test func createSetsStatAndBumpsParent() throws {
        let tree = DataTree()
        #expect(try create(tree, "/a", zxid: 5) == "/a")
        let stat = tree["/a"]!.stat
        #expect(stat.czxid == 5 && stat.mzxid == 5 && stat.pzxid == 5 && stat.dataLength == 3 && stat.ctime == 1000)
        #expect(tree["/"]!.stat.pzxid == 5)
        #expect(
            tree.changes == [
                TreeChange(path: "/a", type: .nodeCreated), TreeChange(path: "/", type: .nodeChildrenChanged),
            ]
        )
    }

    @Test func cversionCountsChangesAndSequenceCountsCreates() throws {
        let tree = DataTree()
        _ = try create(tree, "/p")
        _ = try create(tree, "/p/c", zxid: 2)
        try tree.delete("/p/c", version: -1, identities: [], zxid: 3)
        // One create and one delete: two changes seen, one create counted for sequence numbers.
        #expect(tree["/p"]!.stat.cversion == 2)
        #expect(tree["/p"]!.stat.pzxid == 3)
        #expect(try create(tree, "/p/s-", mode: .persistentSequential, zxid: 4) == "/p/s-0000000001")
        #expect(try create(tree, "/p/s-", mode: .ephemeralSequential, zxid: 5) == "/p/s-0000000002")
    }

    @Test func errorCodesFollowZooKeepersOrder() throws {
        let tree = DataTree()
        _ = try create(tree, "/a")
        #expect(code { _ = try create(tree, "/a") } == .nodeExists)
        #expect(code { _ = try create(tree, "/x/y") } == .noNode)
        #expect(code { _ = try create(tree, "/a/") } == .badArguments)
        #expect(code { _ = try create(tree, "rel") } == .badArguments)
        #expect(code { _ = try create(tree, "/b", mode: CreateMode(7)) } == .badArguments)
        #expect(code { _ = try create(tree, "/b", acl: []) } == .invalidACL)
        #expect(code { _ = try create(tree, "/b", acl: [ACL(perms: .all, id: .authIds)]) } == .invalidACL)
        #expect(code { _ = try create(tree, "/b", mode: .persistentWithTTL) } == .badArguments)
        #expect(
            code { _ = try create(tree, "/b", mode: .persistentWithTTL, opCode: .createTTL, ttl: 0) } == .badArguments
        )
        #expect(code { _ = try create(tree, "/b", mode: .persistent, opCode: .createTTL, ttl: 10) } == .badArguments)
        #expect(code { try tree.delete("/", version: -1, identities: [], zxid: 2) } == .badArguments)
        #expect(code { try tree.delete("/zookeeper/quota", version: -1, identities: [], zxid: 2) } == .badArguments)
        #expect(code { try tree.delete("/a/", version: -1, identities: [], zxid: 2) } == .noNode)
        #expect(code { try tree.delete("/a", version: 3, identities: [], zxid: 2) } == .badVersion)
        #expect(
            code { _ = try tree.setData("/a", data: nil, version: 9, identities: [], zxid: 2, time: 0) } == .badVersion
        )
        #expect(code { _ = try tree.setACL("/a", acl: ACL.openUnsafe, version: 1, identities: []) } == .badVersion)
        _ = try create(tree, "/a/b")
        #expect(code { try tree.delete("/a", version: -1, identities: [], zxid: 2) } == .notEmpty)
        _ = try create(tree, "/e", mode: .ephemeral)
        #expect(code { _ = try create(tree, "/e/c") } == .noChildrenForEphemerals)
    }

    @Test func setDataAndSetACLBumpVersions() throws {
        let tree = DataTree()
        _ = try create(tree, "/a")
        let stat = try tree.setData("/a", data: [9, 9], version: 0, identities: [], zxid: 8, time: 2000)
        #expect(stat.version == 1 && stat.mzxid == 8 && stat.mtime == 2000 && stat.dataLength == 2 && stat.czxid == 1)
        let aclStat = try tree.setACL("/a", acl: ACL.readUnsafe, version: 0, identities: [])
        #expect(aclStat.aversion == 1)
        #expect(tree.changes.last == TreeChange(path: "/a", type: .nodeDataChanged))
        #expect(tree.approximateDataSize == 44 + 2 + 2)
    }

    @Test func digestAndIPACLs() throws {
        let tree = DataTree()
        let digest = AccessControl.digestIdentity(credentials: Array("u:p".utf8))
        // What ZooKeeper's DigestAuthenticationProvider.generateDigest("u:p") yields.
        #expect(digest == "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=")
        let user = [Id(scheme: "digest", id: digest), Id(scheme: "ip", id: "127.0.0.1")]
        _ = try create(tree, "/s", acl: ACL.creatorAll, identities: user)
        #expect(tree.acl(of: tree["/s"]!) == [ACL(perms: .all, id: Id(scheme: "digest", id: digest))])
        #expect(throws: OperationError(.noAuth)) {
            try tree.readable("/s", identities: [Id(scheme: "ip", id: "127.0.0.1")])
        }
        #expect(throws: OperationError(.noAuth)) {
            _ = try tree.setData("/s", data: nil, version: -1, identities: [], zxid: 2, time: 0)
        }
        _ = try tree.readable("/s", identities: user)
        _ = try create(tree, "/net", acl: [ACL(perms: .all, id: Id(scheme: "ip", id: "127.0.0.0/8"))])
        _ = try tree.readable("/net", identities: [Id(scheme: "ip", id: "127.0.0.1")])
        #expect(throws: OperationError(.noAuth)) {
            try tree.readable("/net", identities: [Id(scheme: "ip", id: "10.0.0.1")])
        }
        #expect(throws: OperationError(.noAuth)) {
            _ = try create(tree, "/net/child", identities: [Id(scheme: "ip", id: "10.0.0.1")])
        }
        #expect(throws: OperationError(.invalidACL)) {
            _ = try create(tree, "/bad", acl: [ACL(perms: .all, id: Id(scheme: "ip", id: "300.1.1.1"))])
        }
    }

    @Test func ephemeralsContainersAndTTLs() throws {
        let tree = DataTree()
        _ = try create(tree, "/e1", mode: .ephemeral, session: 42)
        _ = try create(tree, "/e2", mode: .ephemeral, session: 42)
        #expect(tree["/e1"]!.stat.ephemeralOwner == 42)
        #expect(Set(tree.ephemerals(of: 42, prefix: "/")) == ["/e1", "/e2"])
        #expect(tree.ephemerals(of: 42, prefix: "/e2") == ["/e2"])
        #expect(tree.ephemeralCount == 2)

        _ = try create(tree, "/c", opCode: .createContainer)
        #expect(tree["/c"]!.stat.ephemeralOwner == 0)
        #expect(tree.sweepCandidates(now: 0).isEmpty)  // never had children
        _ = try create(tree, "/c/x")
        #expect(tree.sweepCandidates(now: 0).isEmpty)
        tree.removeNode("/c/x", zxid: 3)
        #expect(tree.sweepCandidates(now: 0) == ["/c"])
        tree.removeNode("/c", zxid: 4)

        _ = try create(tree, "/t", mode: .persistentWithTTL, opCode: .createTTL, ttl: 500, time: 1000)
        #expect(tree["/t"]!.stat.ephemeralOwner == 0)
        #expect(tree.sweepCandidates(now: 1400).isEmpty)
        #expect(tree.sweepCandidates(now: 1501) == ["/t"])
    }

    @Test func rollbackRestoresEverything() throws {
        let tree = DataTree()
        _ = try create(tree, "/a")
        let before = (tree.nodes, tree.approximateDataSize, tree.ephemerals, tree.changes.count)
        tree.beginTransaction()
        _ = try create(tree, "/a/b", zxid: 2)
        _ = try create(tree, "/a/e", mode: .ephemeral, zxid: 2)
        _ = try tree.setData("/a", data: [7], version: -1, identities: [], zxid: 2, time: 5)
        try tree.delete("/a/b", version: -1, identities: [], zxid: 2)
        tree.rollbackTransaction(changesBefore: before.3)
        #expect(tree.nodes.keys.sorted() == before.0.keys.sorted())
        #expect(tree["/a"]!.stat == before.0["/a"]!.stat)
        #expect(tree.approximateDataSize == before.1)
        #expect(tree.ephemerals == before.2)
        #expect(tree.changes.count == before.3)
    }

    @Test func descendantCountCoversTheSubtree() throws {
        let tree = DataTree()
        _ = try create(tree, "/a")
        _ = try create(tree, "/a/b")
        _ = try create(tree, "/a/b/c")
        #expect(tree.descendantCount(of: "/a") == 2)
        #expect(tree.descendantCount(of: "/") == 6)
    }
}

@Suite struct PathRuleTests {
    @Test func fastValidatorAgreesWithTheProtocolModule() {
        let samples = [
            "/", "/a", "/a/b", "/a/", "//", "/a//b", "a", "", "/.", "/..", "/...", "/a/.", "/a/./b", "/a/../b",
            "/a/...",
            "/.a", "/a.", "/a..b", "/a\u{0}b", "/a\u{1}b", "/a\u{7f}", "/a\u{9f}", "/\u{e000}", "/\u{fff5}", "/é/ü",
            "/a/b/c-0000000001",
        ]
        for path in samples {
            let reference = (try? ZooKeeperPath.validate(path)) != nil
            #expect(DataTree.isValidPath(path) == reference, "\(path.debugDescription)")
        }
    }
}
