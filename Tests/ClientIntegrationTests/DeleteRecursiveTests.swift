import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// `deleteRecursive` against both servers: the whole tree goes, nothing beside it does.
@Suite("deleteRecursive over the wire")
struct DeleteRecursiveTests {
    @Test(arguments: TestTarget.allCases)
    func deletesATreeDeepestFirstAndNothingBesideIt(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let tree = root + "/tree"
            let sibling = root + "/tree-sibling"
            _ = try await client.create(tree)
            _ = try await client.create(sibling)
            // 1 + 4 + 4×6 + 4×6×3 = 101 znodes, created pipelined.
            var levels: [[String]] = [[tree]]
            for fanOut in [4, 6, 3] {
                let next = levels.last!.flatMap { parent in (0..<fanOut).map { "\(parent)/n\($0)" } }
                let outcomes = await client.pipeline(
                    next.map { .create(CreateRequest(path: $0, data: [1]), opCode: .create) }
                )
                #expect(outcomes.allSatisfy { if case .success = $0 { true } else { false } })
                levels.append(next)
            }
            let deleted = try await client.deleteRecursive(tree, window: 16)
            #expect(deleted == 101)
            #expect(try await client.exists(tree) == nil)
            #expect(try await client.exists(sibling) != nil)
            #expect(try await client.getChildren(root) == ["tree-sibling"])
        }
    }

    @Test(arguments: TestTarget.allCases)
    func aMissingTreeIsNotAnError(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let deleted = try await client.deleteRecursive(root + "/never-made")
            #expect(deleted == 0)
        }
    }

    @Test func theRootIsRefusedWithoutAnyRequest() async throws {
        let server = try await TestTarget.builtIn.shared()
        let client = try await connectClient(server)
        let error = await #expect(throws: ZooKeeperError.self) { try await client.deleteRecursive("/") }
        #expect(error?.code == .badArguments)
        #expect(try await client.exists("/zookeeper") != nil)
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func aNodeItMayNotDeleteStopsItWithThatNodesPath(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let tree = root + "/locked"
            _ = try await client.create(tree)
            _ = try await client.create(tree + "/child")
            // Anyone may read the parent but no one may delete its children.
            _ = try await client.setACL(tree, acl: [ACL(perms: [.read, .write, .create, .admin], id: .anyone)])
            let error = await #expect(throws: ZooKeeperError.self) { try await client.deleteRecursive(tree) }
            #expect(error?.code == .noAuth)
            #expect(error?.path == tree + "/child")
            _ = try await client.setACL(tree, acl: ACL.openUnsafe)
        }
    }
}
