import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct DataTreeTests {
    @Test func createSetsStatAndBumpsParent() throws {
        let tree = DataTree()
        let path = try tree.create(
            "/a", data: [1, 2, 3], acl: ACL.openUnsafe, mode: .persistent, opCode: .create, ttl: 0, session: 1,
            identities: [], zxid: 5, time: 1000)
        #expect(path == "/a")
        let stat = tree["/a"]!.stat
        #expect(stat.czxid == 5 && stat.mzxid == 5 && stat.pzxid == 5 && stat.dataLength == 3 && stat.ctime == 1000)
        #expect(tree["/"]!.stat.pzxid == 5)
        #expect(tree.changes == [TreeChange(path: "/a", type: .nodeCreated), TreeChange(path: "/", type: .nodeChildrenChanged)])
    }
}
