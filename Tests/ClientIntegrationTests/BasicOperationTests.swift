import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@Suite("Basic operations over the wire")
struct BasicOperationTests {
    @Test(arguments: TestTarget.allCases)
    func handshakeNegotiatesTimeoutAndSession(target: TestTarget) async throws {
        let server = try await target.shared()
        let client = try await connectClient(server, sessionTimeout: .seconds(1))
        #expect(client.sessionId != 0)
        // tickTime 2000: the server clamps 1000 ms up to 2 × tickTime.
        #expect(client.negotiatedTimeout == .milliseconds(4000))
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func createGetSetDelete(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = root + "/a"
            let created = try await client.create(path, data: Array("hello".utf8))
            #expect(created == path)
            let (data, stat) = try await client.getData(path)
            #expect(data == Array("hello".utf8))
            #expect(stat.version == 0)
            #expect(stat.dataLength == 5)
            let newStat = try await client.setData(path, data: Array("world".utf8), version: 0)
            #expect(newStat.version == 1)
            await expectZooKeeperError(.badVersion) { _ = try await client.setData(path, data: [], version: 0) }
            await expectZooKeeperError(.badVersion) { try await client.delete(path, version: 0) }
            try await client.delete(path, version: 1)
            #expect(try await client.exists(path) == nil)
            await expectZooKeeperError(.noNode) { _ = try await client.getData(path) }
            await expectZooKeeperError(.noNode) { try await client.delete(path) }
        }
    }

    @Test(arguments: TestTarget.allCases)
    func create2ReturnsStat(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let (path, stat) = try await client.create2(root + "/c2", data: [1, 2, 3])
            #expect(path == root + "/c2")
            #expect(stat.dataLength == 3)
            #expect(stat.czxid == stat.mzxid)
            #expect(stat.czxid > 0)
            let existing = try #require(try await client.exists(path))
            #expect(existing == stat)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func createErrors(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let error = await expectZooKeeperError(.noNode) { _ = try await client.create(root + "/missing/child") }
            #expect(error?.message.contains("create the parent first") == true)
            #expect(error?.path == root + "/missing/child")
            _ = try await client.create(root + "/dup")
            await expectZooKeeperError(.nodeExists) { _ = try await client.create(root + "/dup") }
            _ = try await client.create(root + "/dup/kid")
            await expectZooKeeperError(.notEmpty) { try await client.delete(root + "/dup") }
            _ = try await client.create(root + "/eph", mode: .ephemeral)
            await expectZooKeeperError(.noChildrenForEphemerals) { _ = try await client.create(root + "/eph/kid") }
        }
    }

    @Test(arguments: TestTarget.allCases)
    func childrenAndChildren2(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            for name in ["x", "y", "z"] { _ = try await client.create(root + "/" + name) }
            #expect(try await client.getChildren(root).sorted() == ["x", "y", "z"])
            let (children, stat) = try await client.getChildren2(root)
            #expect(children.sorted() == ["x", "y", "z"])
            #expect(stat.numChildren == 3)
            #expect(stat.cversion == 3)
            await expectZooKeeperError(.noNode) { _ = try await client.getChildren(root + "/nope") }
        }
    }

    @Test(arguments: TestTarget.allCases)
    func pipelinedRequestsAnswerInOrder(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<200 {
                    group.addTask { try await client.create("\(root)/n\(i)", data: Array("\(i)".utf8)) }
                }
                var created = 0
                for try await _ in group { created += 1 }
                #expect(created == 200)
            }
            #expect(try await client.getAllChildrenNumber(root) == 200)
            #expect(client.stats.outstandingRequests == 0)
            #expect(client.stats.lastZxid > 0)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func syncAndExists(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            try await client.sync(root)
            #expect(try await client.exists(root) != nil)
            #expect(try await client.exists(root + "/none") == nil)
        }
    }
}
