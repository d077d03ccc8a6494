import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@Suite("Node kinds, multi and session queries")
struct NodeKindTests {
    @Test(arguments: TestTarget.allCases)
    func sequentialNamesUseParentCversionWithGaps(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            #expect(try await client.create(root + "/s-", mode: .persistentSequential) == root + "/s-0000000000")
            #expect(try await client.create(root + "/s-", mode: .persistentSequential) == root + "/s-0000000001")
            _ = try await client.create(root + "/plain")
            #expect(try await client.create(root + "/s-", mode: .ephemeralSequential) == root + "/s-0000000003")
            try await client.delete(root + "/plain")
            // A trailing "/" is allowed for sequential nodes: the name is just the counter.
            _ = try await client.create(root + "/dir")
            #expect(try await client.create(root + "/dir/", mode: .persistentSequential) == root + "/dir/0000000000")
        }
    }

    @Test(arguments: TestTarget.allCases)
    func ephemeralVanishesWhenSessionCloses(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let owner = try await connectClient(try await target.shared())
            let recorder = EventRecorder(client)
            let path = root + "/eph"
            _ = try await owner.create(path, mode: .ephemeral)
            let stat = try #require(try await client.exists(path, watch: true))
            #expect(stat.ephemeralOwner == owner.sessionId)
            #expect(try await owner.getEphemerals(prefix: root) == [path])
            try await owner.close()
            try await recorder.wait { $0.contains { $0.type == .nodeDeleted } }
            #expect(try await client.exists(path) == nil)
            #expect(recorder.nodeEvents.map(\.summary) == ["NodeDeleted \(path)"])
        }
    }

    @Test(arguments: TestTarget.allCases)
    func getEphemeralsFiltersByPrefix(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/a", mode: .ephemeral)
            _ = try await client.create(root + "/b", mode: .ephemeral)
            _ = try await client.create(root + "/p")
            #expect(try await client.getEphemerals(prefix: root).sorted() == [root + "/a", root + "/b"])
            #expect(try await client.getEphemerals(prefix: root + "/a") == [root + "/a"])
            #expect(try await client.getEphemerals(prefix: root + "/p").isEmpty)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func getAllChildrenNumberCountsDescendants(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/a")
            _ = try await client.create(root + "/a/b")
            _ = try await client.create(root + "/a/b/c")
            _ = try await client.create(root + "/d")
            #expect(try await client.getAllChildrenNumber(root) == 4)
            #expect(try await client.getAllChildrenNumber(root + "/a") == 2)
            await expectZooKeeperError(.noNode) { _ = try await client.getAllChildrenNumber(root + "/zz") }
        }
    }

    @Test(arguments: TestTarget.allCases)
    func ttlNodeIsCreatedAndValidated(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let (path, stat) = try await client.create2(root + "/ttl", mode: .persistentWithTTL, ttl: 60_000)
            #expect(path == root + "/ttl")
            #expect(stat.ephemeralOwner == 0)
            let seq = try await client.create(root + "/ttl-", mode: .persistentSequentialWithTTL, ttl: 60_000)
            #expect(seq == root + "/ttl-0000000001")
            // ttl <= 0 is refused by the server.
            await expectZooKeeperError(.badArguments) {
                _ = try await client.create(root + "/bad", mode: .persistentWithTTL, ttl: 0)
            }
            // A ttl with a non-TTL mode is refused before sending.
            await expectZooKeeperError(.badArguments) { _ = try await client.create(root + "/bad", ttl: 1000) }
        }
    }

    @Test(arguments: TestTarget.allCases)
    func ttlNodeIsRemovedAfterItExpires(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = try await client.create(root + "/short", mode: .persistentWithTTL, ttl: 200)
            let start = ContinuousClock.now
            while try await client.exists(path) != nil, ContinuousClock.now - start < .seconds(8) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await client.exists(path) == nil)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func containerIsRemovedOnceEmptied(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let container = try await client.createContainer(root + "/box")
            #expect(container == root + "/box")
            let viaMode = try await client.create(root + "/box2", mode: .container)
            #expect(viaMode == root + "/box2")
            _ = try await client.create(container + "/item")
            try await client.delete(container + "/item")
            let start = ContinuousClock.now
            while try await client.exists(container) != nil, ContinuousClock.now - start < .seconds(8) {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await client.exists(container) == nil)
            // A container that never had children stays.
            #expect(try await client.exists(viaMode) != nil)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func multiSucceedsWithEveryResultKind(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/old", data: [1])
            let results = try await client.multi([
                .create(CreateRequest(path: root + "/m1", data: [1]), opCode: .create),
                .create(CreateRequest(path: root + "/m2", data: [2]), opCode: .create2),
                .setData(path: root + "/old", data: [3], version: 0),
                .check(path: root + "/old", version: 1),
                .delete(path: root + "/m1", version: 0),
            ])
            #expect(results.count == 5)
            #expect(results[0] == .create(path: root + "/m1"))
            // Seen on ZooKeeper 3.8.0: a create2 inside multi answers as a plain create (type 1, path, no Stat).
            #expect(results[1] == .create(path: root + "/m2"))
            guard case .setData(let setStat) = results[2] else {
                Issue.record("expected setData, got \(results[2])")
                return
            }
            #expect(setStat.version == 1)
            #expect(results[3] == .check)
            #expect(results[4] == .delete)
            #expect(try await client.exists(root + "/m1") == nil)
            #expect(try await client.multi([]) == [])
        }
    }

    @Test(arguments: TestTarget.allCases)
    func multiFailureReportsEveryOpAndChangesNothing(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let results = try await client.multi([
                .create(CreateRequest(path: root + "/f1", data: nil), opCode: .create),
                .check(path: root + "/missing", version: 0),
                .create(CreateRequest(path: root + "/f2", data: nil), opCode: .create),
            ])
            #expect(results == [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)])
            #expect(try await client.exists(root + "/f1") == nil)
            let versionResults = try await client.multi([.check(path: root, version: 99)])
            #expect(versionResults == [.error(.badVersion)])
        }
    }

    @Test(arguments: TestTarget.allCases)
    func multiReadReturnsPerOpResults(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/r", data: [7])
            _ = try await client.create(root + "/r/k")
            let results = try await client.multiRead([
                .getData(path: root + "/r"),
                .getChildren(path: root + "/r"),
                .getData(path: root + "/missing"),
            ])
            #expect(results.count == 3)
            guard case .getData(let data, let stat) = results[0] else {
                Issue.record("expected getData, got \(results[0])")
                return
            }
            #expect(data == [7])
            #expect(stat.numChildren == 1)
            #expect(results[1] == .getChildren(children: ["k"]))
            #expect(results[2] == .error(.noNode))
        }
    }

    @Test(arguments: TestTarget.allCases)
    func whoAmIAndDigestAuthWithACL(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let anonymous = try await client.whoAmI()
            #expect(anonymous.contains { $0.authScheme == "ip" && $0.user == "127.0.0.1" })
            let owner = try await connectClient(try await target.shared())
            try await owner.addAuth(scheme: "digest", auth: Array("alice:secret".utf8))
            #expect(try await owner.whoAmI().contains(ClientInfo(authScheme: "digest", user: "alice")))
            let path = try await owner.create(root + "/private", data: [1], acl: ACL.creatorAll)
            let (acl, _) = try await owner.getACL(path)
            #expect(acl.count == 1)
            #expect(acl.first?.id.scheme == "digest")
            #expect(acl.first?.id.id.hasPrefix("alice:") == true)
            #expect(try await owner.getData(path).data == [1])
            let denied = await expectZooKeeperError(.noAuth) { _ = try await client.getData(path) }
            #expect(denied?.message.contains("addAuth") == true)
            await expectZooKeeperError(.noAuth) { _ = try await client.setData(path, data: [2]) }
            // setACL back to open, then anyone may read.
            _ = try await owner.setACL(path, acl: ACL.openUnsafe, version: 0)
            #expect(try await client.getData(path).data == [1])
            await expectZooKeeperError(.badVersion) {
                _ = try await owner.setACL(path, acl: ACL.openUnsafe, version: 0)
            }
            try await owner.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func unknownAuthSchemeFailsAndSessionReconnects(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let victim = try await connectClient(try await target.shared())
            await expectZooKeeperError(.authFailed) { try await victim.addAuth(scheme: "nosuchscheme", auth: [1]) }
            // The server closed the connection; the session reconnects and keeps working.
            let start = ContinuousClock.now
            var stat: Stat?
            while stat == nil, ContinuousClock.now - start < .seconds(5) {
                stat = try? await victim.exists(root)
                if stat == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(stat != nil)
            try await victim.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func invalidInputIsRefusedBeforeSending(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            for bad in ["relative", root + "/", root + "//x", root + "/./x", root + "/..", ""] {
                let error = await expectZooKeeperError(.badArguments) { _ = try await client.exists(bad) }
                #expect(error?.message.contains("not sent") == true)
            }
            let big = [UInt8](repeating: 1, count: 1_048_576)
            let error = await expectZooKeeperError(.badArguments) {
                _ = try await client.create(root + "/big", data: big)
            }
            #expect(error?.message.contains("1 MiB") == true)
            // The connection is still healthy.
            let stillThere = try await client.exists(root)
            #expect(stillThere != nil)
            #expect(client.stats.connectionLosses == 0)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func largeValueJustUnderTheLimitRoundTrips(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let value = [UInt8](repeating: 0xAB, count: 1_000_000)
            _ = try await client.create(root + "/large", data: value)
            #expect(try await client.getData(root + "/large").data == value)
        }
    }
}
