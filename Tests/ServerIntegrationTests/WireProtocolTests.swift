import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Raw frames over real loopback TCP against the built-in server.
@Suite struct WireProtocolTests {
    @Test func handshakeNegotiatesTimeoutAndEchoesForm() async throws {
        try await withBuiltInServer(tickMs: 2000) { server in
            let socket = try WireSocket(port: server.port)
            let response = try socket.handshake(timeout: 1000)
            #expect(response.timeOut == 4000)
            #expect(response.sessionId != 0)
            #expect(response.password.count == 16)
            #expect(response.readOnly == false)
            let big = try WireSocket(port: server.port).handshake(timeout: 10_000_000)
            #expect(big.timeOut == 40_000)

            // A 3.4-style request without readOnly gets the 36-byte answer.
            let old = try WireSocket(port: server.port)
            var buffer = ByteBuffer()
            buffer.writeInteger(Int32(0))
            ConnectRequest(timeOut: 6000, readOnly: nil).encode(into: &buffer)
            buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
            try old.send(buffer)
            let frame = try #require(try old.readFrame())
            #expect(frame.readableBytes == 36)
        }
    }

    @Test func basicOperationsAndErrorCodes() async throws {
        try await withBuiltInServer { server in
            let socket = try WireSocket(port: server.port)
            try socket.handshake()
            let (created, body) = try socket.call(.create(CreateRequest(path: "/a", data: [1, 2]), opCode: .create))
            #expect(created.err == .ok)
            #expect(body == .create(path: "/a"))
            #expect(
                try socket.call(.create(CreateRequest(path: "/a", data: nil), opCode: .create)).0.err == .nodeExists
            )
            #expect(try socket.call(.create(CreateRequest(path: "/x/y", data: nil), opCode: .create)).0.err == .noNode)
            #expect(
                try socket.call(.create(CreateRequest(path: "bad", data: nil), opCode: .create)).0.err == .badArguments
            )
            #expect(
                try socket.call(.create(CreateRequest(path: "/a/", data: nil), opCode: .create)).0.err == .badArguments
            )
            #expect(
                try socket.call(.create(CreateRequest(path: "/q", data: nil, acl: []), opCode: .create)).0.err
                    == .invalidACL
            )

            let (_, data) = try socket.call(.getData(path: "/a", watch: false))
            guard case .data(let bytes, let stat) = data else {
                Issue.record("no data")
                return
            }
            #expect(bytes == [1, 2])
            #expect(stat.version == 0 && stat.dataLength == 2 && stat.czxid == created.zxid)

            let (set, setBody) = try socket.call(.setData(path: "/a", data: [9], version: 0))
            #expect(set.err == .ok)
            if case .stat(let s) = setBody { #expect(s.version == 1 && s.mzxid == set.zxid) }
            #expect(try socket.call(.setData(path: "/a", data: [9], version: 0)).0.err == .badVersion)
            #expect(try socket.call(.getData(path: "/nope", watch: false)).0.err == .noNode)
            #expect(try socket.call(.delete(path: "/", version: -1)).0.err == .badArguments)
            #expect(try socket.call(.delete(path: "/zookeeper", version: -1)).0.err == .badArguments)

            // Sequential names come from the parent's create counter.
            _ = try socket.call(.create(CreateRequest(path: "/s", data: nil), opCode: .create))
            let s0 = try socket.call(
                .create(CreateRequest(path: "/s/n-", data: nil, mode: .persistentSequential), opCode: .create)
            ).1
            _ = try socket.call(.create(CreateRequest(path: "/s/plain", data: nil), opCode: .create))
            let s2 = try socket.call(
                .create(CreateRequest(path: "/s/n-", data: nil, mode: .persistentSequential), opCode: .create)
            ).1
            #expect(s0 == .create(path: "/s/n-0000000000"))
            #expect(s2 == .create(path: "/s/n-0000000002"))
            #expect(try socket.call(.delete(path: "/s", version: -1)).0.err == .notEmpty)
            let (_, children) = try socket.call(.getChildren2(path: "/s", watch: false))
            if case .children2(let names, let stat) = children {
                #expect(Set(names) == ["n-0000000000", "plain", "n-0000000002"])
                #expect(stat.numChildren == 3 && stat.cversion == 3)
            }
            #expect(try socket.call(.getAllChildrenNumber(path: "/s")).1 == .allChildrenNumber(3))

            // Ephemerals cannot have children; getEphemerals lists them.
            _ = try socket.call(.create(CreateRequest(path: "/e", data: nil, mode: .ephemeral), opCode: .create))
            #expect(
                try socket.call(.create(CreateRequest(path: "/e/c", data: nil), opCode: .create)).0.err
                    == .noChildrenForEphemerals
            )
            #expect(try socket.call(.getEphemerals(prefixPath: "/")).1 == .ephemerals(["/e"]))
            // TTL rules.
            var ttl = CreateRequest(path: "/t", data: nil, mode: .persistentWithTTL, ttl: 0)
            #expect(try socket.call(.create(ttl, opCode: .createTTL)).0.err == .badArguments)
            ttl.ttl = 5000
            #expect(try socket.call(.create(ttl, opCode: .createTTL)).0.err == .ok)
            #expect(
                try socket.call(
                    .create(CreateRequest(path: "/t2", data: nil, mode: .persistent, ttl: 100), opCode: .createTTL)
                ).0.err == .badArguments
            )
            let (_, ttlStat) = try socket.call(.exists(path: "/t", watch: false))
            if case .stat(let s) = ttlStat { #expect(s.ephemeralOwner == 0) }
            #expect(
                try socket.call(
                    .reconfig(
                        ReconfigRequest(joiningServers: nil, leavingServers: nil, newMembers: nil, curConfigId: -1)
                    )
                ).0.err == .reconfigDisabled
            )
            #expect(try socket.call(.sync(path: "/a")).1 == .sync(path: "/a"))
            // closeSession: err 0, empty body, then close.
            let (closed, _) = try socket.call(.closeSession)
            #expect(closed.err == .ok)
            #expect(socket.isClosedByPeer())
        }
    }

    @Test func watchEventPrecedesReplyAndFiresOnce() async throws {
        try await withBuiltInServer { server in
            let watcher = try WireSocket(port: server.port)
            try watcher.handshake()
            let writer = try WireSocket(port: server.port)
            try writer.handshake()
            _ = try writer.call(.create(CreateRequest(path: "/w", data: nil), opCode: .create))
            // Data, exist and persistent watches on one path: one notification per event.
            _ = try watcher.call(.getData(path: "/w", watch: true))
            _ = try watcher.call(.exists(path: "/w", watch: true))
            _ = try watcher.call(.addWatch(path: "/w", mode: .persistent))
            _ = try watcher.call(.getChildren(path: "/w", watch: true))
            _ = try writer.call(.setData(path: "/w", data: [1], version: -1))
            #expect(try watcher.nextEvent() == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/w"))
            // The watcher's next reply reflects the change; no duplicate event sits before it.
            var events: [WatcherEvent] = []
            let (_, body) = try watcher.call(.getData(path: "/w", watch: false), events: &events)
            #expect(events.isEmpty)
            if case .data(_, let stat) = body { #expect(stat.version == 1) }
            // A writer that watches its own node sees the event before its own reply.
            _ = try writer.call(.exists(path: "/w/c", watch: true))
            var writerEvents: [WatcherEvent] = []
            _ = try writer.call(.create(CreateRequest(path: "/w/c", data: nil), opCode: .create), events: &writerEvents)
            #expect(writerEvents == [WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/w/c")])
            #expect(
                try watcher.nextEvent() == WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/w")
            )
            #expect(try watcher.call(.checkWatches(path: "/w", type: .children)).0.err == .ok)
            #expect(try watcher.call(.removeWatches(path: "/w", type: .any)).0.err == .ok)
            #expect(try watcher.call(.checkWatches(path: "/w", type: .any)).0.err == .noWatcher)
        }
    }

    @Test func multiIsAtomicWithExactResults() async throws {
        try await withBuiltInServer { server in
            let socket = try WireSocket(port: server.port)
            try socket.handshake()
            let ok = try socket.call(
                .multi([
                    .create(CreateRequest(path: "/m", data: [1]), opCode: .create),
                    .create(CreateRequest(path: "/m/c", data: nil), opCode: .create2),
                    .setData(path: "/m", data: [2], version: 0),
                    .check(path: "/m", version: 1),
                    .delete(path: "/m/c", version: -1),
                ])
            )
            guard case .multi(let results) = ok.1 else {
                Issue.record("no multi reply")
                return
            }
            // ZooKeeper 3.8.0 answers a create2 inside multi as a plain create (captured fixture "multi").
            #expect(results.map(\.opCode) == [.create, .create, .setData, .check, .delete])
            let failed = try socket.call(
                .multi([
                    .create(CreateRequest(path: "/n", data: nil), opCode: .create),
                    .delete(path: "/missing", version: -1),
                    .setData(path: "/m", data: nil, version: -1),
                ])
            )
            #expect(failed.0.err == .ok)
            #expect(failed.1 == .multi([.error(.ok), .error(.noNode), .error(.runtimeInconsistency)]))
            #expect(try socket.call(.exists(path: "/n", watch: false)).0.err == .noNode)
            let read = try socket.call(.multiRead([.getData(path: "/m"), .getChildren(path: "/nope")]))
            guard case .multi(let reads) = read.1 else {
                Issue.record("no multiRead reply")
                return
            }
            #expect(reads.count == 2)
            #expect(reads[1] == .error(.noNode))
            #expect(try socket.call(.multi([])).1 == .multi([]))
            // ZooKeeper 3.8.0 answers createContainer in multi as create and createTTL as create2 (seen).
            let kinds = try socket.call(
                .multi([
                    .create(CreateRequest(path: "/box", data: nil), opCode: .createContainer),
                    .create(
                        CreateRequest(path: "/ttl", data: nil, mode: .persistentWithTTL, ttl: 1000),
                        opCode: .createTTL
                    ),
                ])
            )
            guard case .multi(let created) = kinds.1 else {
                Issue.record("no multi reply")
                return
            }
            #expect(created.map(\.opCode) == [.create, .create2])
        }
    }
}
