import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The watch rows of PROTOCOL.md: which call sets which watch and which events fire.
@Suite("Watches over the wire")
struct WatchTests {
    @Test(arguments: TestTarget.allCases)
    func existsOnMissingNodeFiresNodeCreated(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            let path = root + "/later"
            #expect(try await watcher.exists(path, watch: true) == nil)
            _ = try await client.create(path)
            let events = try await recorder.wait { $0.contains { $0.type == .nodeCreated } }
            #expect(events.filter { $0.type != .none }.map(\.summary) == ["NodeCreated \(path)"])
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func existsOnNodeFiresDataChangedOnce(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            let path = root + "/n"
            _ = try await client.create(path)
            #expect(try await watcher.exists(path, watch: true) != nil)
            _ = try await client.setData(path, data: [1])
            _ = try await client.setData(path, data: [2])
            try await recorder.wait { $0.contains { $0.type == .nodeDataChanged } }
            let events = try await recorder.settle()
            // One-shot: the second setData fires nothing.
            #expect(events.filter { $0.type != .none }.map(\.summary) == ["NodeDataChanged \(path)"])
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func getDataWatchFiresNodeDeleted(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            let path = root + "/d"
            _ = try await client.create(path)
            _ = try await watcher.getData(path, watch: true)
            try await client.delete(path)
            let events = try await recorder.wait { $0.contains { $0.type == .nodeDeleted } }
            #expect(events.filter { $0.type != .none }.map(\.summary) == ["NodeDeleted \(path)"])
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func getDataOnMissingNodeSetsNoWatch(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            let path = root + "/absent"
            await expectZooKeeperError(.noNode) { _ = try await watcher.getData(path, watch: true) }
            await expectZooKeeperError(.noNode) { _ = try await watcher.getChildren(path, watch: true) }
            _ = try await client.create(path)
            let events = try await recorder.settle()
            #expect(events.filter { $0.type != .none }.isEmpty)
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func childWatchFiresOnCreateAndDeleteOfChild(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            _ = try await watcher.getChildren(root, watch: true)
            _ = try await client.create(root + "/kid")
            try await recorder.wait { $0.contains { $0.type == .nodeChildrenChanged } }
            _ = try await watcher.getChildren2(root, watch: true)
            try await client.delete(root + "/kid")
            let events = try await recorder.wait { $0.filter { $0.type == .nodeChildrenChanged }.count == 2 }
            #expect(
                events.filter { $0.type != .none }.map(\.summary) == [
                    "NodeChildrenChanged \(root)", "NodeChildrenChanged \(root)",
                ]
            )
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func setDataOnChildDoesNotFireChildWatch(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/kid")
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            _ = try await watcher.getChildren(root, watch: true)
            _ = try await client.setData(root + "/kid", data: [1])
            _ = try await client.setACL(root, acl: ACL.openUnsafe)
            let events = try await recorder.settle()
            #expect(events.filter { $0.type != .none }.isEmpty)
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func deleteFiresDataAndChildWatchesOncePerPath(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = root + "/both"
            _ = try await client.create(path)
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            _ = try await watcher.getData(path, watch: true)
            _ = try await watcher.exists(path, watch: true)
            _ = try await watcher.getChildren(path, watch: true)
            _ = try await watcher.getChildren(root, watch: true)
            try await client.delete(path)
            try await recorder.wait { $0.filter { $0.type != .none }.count >= 2 }
            let events = try await recorder.settle()
            // One NodeDeleted for the path although three watches matched; one NodeChildrenChanged for the parent.
            #expect(
                events.filter { $0.type != .none }.map(\.summary).sorted()
                    == ["NodeChildrenChanged \(root)", "NodeDeleted \(path)"]
            )
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func createFiresNodeCreatedAndParentChildrenChanged(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = root + "/fresh"
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            _ = try await watcher.exists(path, watch: true)
            _ = try await watcher.getChildren(root, watch: true)
            _ = try await client.create(path)
            try await recorder.wait { $0.filter { $0.type != .none }.count >= 2 }
            let events = try await recorder.settle()
            #expect(
                events.filter { $0.type != .none }.map(\.summary).sorted()
                    == ["NodeChildrenChanged \(root)", "NodeCreated \(path)"]
            )
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func eventArrivesBeforeTheReplyThatReflectsIt(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let path = root + "/order"
            _ = try await client.create(path)
            let recorder = EventRecorder(client)
            _ = try await client.getData(path, watch: true)
            let stat = try await client.setData(path, data: [9])
            // Same connection: the notification was decoded before the setData reply.
            #expect(recorder.nodeEvents.map(\.summary) == ["NodeDataChanged \(path)"])
            #expect(stat.version == 1)
            #expect(recorder.nodeEvents.first!.receivedAt > 0)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func persistentWatchFiresRepeatedlyWithChildrenChanged(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            try await watcher.addWatch(root, mode: .persistent)
            _ = try await client.setData(root, data: [1])
            _ = try await client.setData(root, data: [2])
            _ = try await client.create(root + "/c")
            _ = try await client.setData(root + "/c", data: [1])
            try await recorder.wait { $0.filter { $0.type != .none }.count >= 3 }
            let events = try await recorder.settle()
            #expect(
                events.filter { $0.type != .none }.map(\.summary)
                    == ["NodeDataChanged \(root)", "NodeDataChanged \(root)", "NodeChildrenChanged \(root)"]
            )
            try await watcher.checkWatches(root, type: .any)
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func recursiveWatchSeesDescendantsWithoutChildrenChanged(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            try await watcher.addWatch(root, mode: .persistentRecursive)
            _ = try await client.create(root + "/a")
            _ = try await client.create(root + "/a/b")
            _ = try await client.setData(root + "/a/b", data: [1])
            try await client.delete(root + "/a/b")
            try await recorder.wait { $0.filter { $0.type != .none }.count >= 4 }
            let events = try await recorder.settle()
            #expect(
                events.filter { $0.type != .none }.map(\.summary)
                    == [
                        "NodeCreated \(root)/a", "NodeCreated \(root)/a/b", "NodeDataChanged \(root)/a/b",
                        "NodeDeleted \(root)/a/b",
                    ]
            )
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func checkAndRemoveWatches(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let watcher = try await connectClient(try await target.shared())
            let recorder = EventRecorder(watcher)
            await expectZooKeeperError(.noWatcher) { try await watcher.checkWatches(root, type: .data) }
            _ = try await watcher.getData(root, watch: true)
            try await watcher.checkWatches(root, type: .data)
            await expectZooKeeperError(.noWatcher) { try await watcher.checkWatches(root, type: .children) }
            try await watcher.removeWatches(root, type: .data)
            await expectZooKeeperError(.noWatcher) { try await watcher.removeWatches(root, type: .data) }
            _ = try await client.setData(root, data: [1])
            let events = try await recorder.settle()
            #expect(!events.contains { $0.type == .nodeDataChanged })
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func eventsSequenceDeliversSessionAndNodeEvents(target: TestTarget) async throws {
        let server = try await target.shared()
        let client = try await connectClient(server)
        let root = TestTarget.uniqueRoot("sequence")
        _ = try await client.exists(root, watch: true)
        _ = try await client.create(root)
        var iterator = client.events.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.type == EventType.none)
        #expect(first?.state == .syncConnected)
        let second = await iterator.next()
        #expect(second?.summary == "NodeCreated \(root)")
        try await client.delete(root)
        try await client.close()
        // After close: a Closed state event, then the sequence ends.
        let closed = await iterator.next()
        #expect(closed?.state == .closed)
        #expect(await iterator.next() == nil)
    }

    @Test(arguments: TestTarget.allCases)
    func chrootIsAppliedToRequestsEventsAndResults(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let server = try await target.shared()
            let chrooted = try await connectClient(server, chroot: root)
            let recorder = EventRecorder(chrooted)
            #expect(try await chrooted.exists("/x", watch: true) == nil)
            #expect(try await chrooted.create("/x", data: [1]) == "/x")
            #expect(try await client.getData(root + "/x").data == [1])
            let seq = try await chrooted.create("/x/s-", mode: .persistentSequential)
            #expect(seq == "/x/s-0000000000")
            #expect(try await chrooted.getChildren("/").contains("x"))
            let results = try await chrooted.multi([
                .create(CreateRequest(path: "/y", data: nil), opCode: .create)
            ])
            #expect(results == [.create(path: "/y")])
            _ = try await chrooted.create("/e", mode: .ephemeral)
            #expect(try await chrooted.getEphemerals() == ["/e"])
            let events = try await recorder.wait { $0.contains { $0.type == .nodeCreated } }
            #expect(events.filter { $0.type != .none }.map(\.summary) == ["NodeCreated /x"])
            try await chrooted.close()
        }
    }
}
