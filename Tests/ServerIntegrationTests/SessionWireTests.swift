import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Session lifecycle over real TCP: reconnect, rejection, expiry, setWatches2, auth.
@Suite struct SessionWireTests {
    @Test func reconnectKeepsTheSessionAndRejectsABadPassword() async throws {
        try await withBuiltInServer { server in
            let first = try WireSocket(port: server.port)
            let session = try first.handshake()
            _ = try first.call(.create(CreateRequest(path: "/eph", data: nil, mode: .ephemeral), opCode: .create))

            let moved = try WireSocket(port: server.port)
            let again = try moved.handshake(sessionID: session.sessionId, password: session.password)
            #expect(again.sessionId == session.sessionId)
            // The old connection is closed; the ephemeral stays with the session.
            #expect(first.isClosedByPeer())
            #expect(try moved.call(.exists(path: "/eph", watch: false)).0.err == .ok)

            let impostor = try WireSocket(port: server.port)
            var wrong = session.password
            wrong[0] ^= 0xFF
            let rejected = try impostor.handshake(sessionID: session.sessionId, password: wrong)
            #expect(
                rejected.timeOut == 0 && rejected.sessionId == 0 && rejected.password == Array(repeating: 0, count: 16)
            )
            #expect(impostor.isClosedByPeer())

            let unknown = try WireSocket(port: server.port)
            #expect(try unknown.handshake(sessionID: 0x0100_0000_0000_0001, password: session.password).sessionId == 0)
        }
    }

    @Test func expiryRemovesEphemeralsAndNotifiesWatchers() async throws {
        try await withBuiltInServer(tickMs: 100) { server in
            let watcher = try WireSocket(port: server.port)
            try watcher.handshake(timeout: 30_000)
            let doomed = try WireSocket(port: server.port)
            let session = try doomed.handshake(timeout: 200)
            #expect(session.timeOut == 200)
            _ = try doomed.call(.create(CreateRequest(path: "/svc", data: nil), opCode: .create))
            _ = try doomed.call(.create(CreateRequest(path: "/svc/me", data: nil, mode: .ephemeral), opCode: .create))
            _ = try watcher.call(.exists(path: "/svc/me", watch: true))
            _ = try watcher.call(.getChildren(path: "/svc", watch: true))
            let started = ContinuousClock.now
            // No pings: the session expires within timeout plus one tick.
            var events = [try watcher.nextEvent(), try watcher.nextEvent()]
            events.sort { $0.type.rawValue < $1.type.rawValue }
            #expect(events.map(\.type) == [.nodeDeleted, .nodeChildrenChanged])
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(doomed.isClosedByPeer())
            let retry = try WireSocket(port: server.port)
            #expect(try retry.handshake(sessionID: session.sessionId, password: session.password).sessionId == 0)
        }
    }

    @Test func pingsKeepASessionAlive() async throws {
        try await withBuiltInServer(tickMs: 100) { server in
            let socket = try WireSocket(port: server.port)
            try socket.handshake(timeout: 600)
            // 15 pings 100 ms apart span 1.5 s, far past the 600 ms timeout.
            for _ in 0..<15 {
                try await Task.sleep(for: .milliseconds(100))
                var ping = ByteBuffer()
                ZooKeeperRequest.ping.encodeFrame(xid: SpecialXid.ping, into: &ping)
                try socket.send(ping)
                var frame = try #require(try socket.readFrame())
                #expect(try ReplyHeader(from: &frame).xid == SpecialXid.ping)
            }
            #expect(try socket.call(.exists(path: "/", watch: false)).0.err == .ok)
        }
    }

    @Test func setWatches2FiresWhatWasMissed() async throws {
        try await withBuiltInServer { server in
            let writer = try WireSocket(port: server.port)
            try writer.handshake()
            let (created, _) = try writer.call(.create(CreateRequest(path: "/d", data: nil), opCode: .create))
            _ = try writer.call(.create(CreateRequest(path: "/kids", data: nil), opCode: .create))
            _ = try writer.call(.create(CreateRequest(path: "/gone", data: nil), opCode: .create))
            let seen = try writer.call(.sync(path: "/")).0.zxid
            _ = try writer.call(.setData(path: "/d", data: [1], version: -1))
            _ = try writer.call(.create(CreateRequest(path: "/kids/k", data: nil), opCode: .create))
            _ = try writer.call(.delete(path: "/gone", version: -1))
            _ = try writer.call(.create(CreateRequest(path: "/born", data: nil), opCode: .create))
            #expect(seen > created.zxid)

            let client = try WireSocket(port: server.port)
            try client.handshake()
            var events: [WatcherEvent] = []
            let request = SetWatches2Request(
                relativeZxid: seen,
                dataWatches: ["/d", "/gone", "/quiet"],
                existWatches: ["/born", "/unborn"],
                childWatches: ["/kids"],
                persistentWatches: ["/p"],
                persistentRecursiveWatches: ["/r"]
            )
            var frame = ByteBuffer()
            ZooKeeperRequest.setWatches2(request).encodeFrame(xid: SpecialXid.setWatches, into: &frame)
            try client.send(frame)
            while true {
                var reply = try #require(try client.readFrame())
                let header = try ReplyHeader(from: &reply)
                if header.xid == SpecialXid.notification {
                    events.append(try WatcherEvent(from: &reply))
                } else {
                    #expect(header.xid == SpecialXid.setWatches && header.err == .ok)
                    break
                }
            }
            #expect(
                Set(events.map { "\($0.type) \($0.path)" }) == [
                    "NodeDataChanged /d", "NodeDeleted /gone", "NodeCreated /born", "NodeChildrenChanged /kids",
                    // A data watch on a node that does not exist fires NodeDeleted (DataTree.setWatches).
                    "NodeDeleted /quiet",
                ]
            )
            _ = try writer.call(.create(CreateRequest(path: "/unborn", data: nil), opCode: .create))
            #expect(try client.nextEvent().path == "/unborn")
            _ = try writer.call(.create(CreateRequest(path: "/r", data: nil), opCode: .create))
            #expect(try client.nextEvent() == WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/r"))
        }
    }

    @Test func digestAuthGrantsAccessAndUnknownSchemeCloses() async throws {
        try await withBuiltInServer { server in
            let owner = try WireSocket(port: server.port)
            try owner.handshake()
            var frame = ByteBuffer()
            ZooKeeperRequest.auth(AuthPacket(scheme: "digest", auth: Array("bob:secret".utf8)))
                .encodeFrame(xid: SpecialXid.auth, into: &frame)
            try owner.send(frame)
            var reply = try #require(try owner.readFrame())
            #expect(try ReplyHeader(from: &reply).err == .ok)
            #expect(
                try owner.call(.create(CreateRequest(path: "/vault", data: [1], acl: ACL.creatorAll), opCode: .create))
                    .0.err == .ok
            )
            #expect(try owner.call(.getData(path: "/vault", watch: false)).0.err == .ok)
            let (_, who) = try owner.call(.whoAmI)
            #expect(
                who
                    == .whoAmI([
                        ClientInfo(authScheme: "digest", user: "bob"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
                    ])
            )

            let stranger = try WireSocket(port: server.port)
            try stranger.handshake()
            #expect(try stranger.call(.getData(path: "/vault", watch: false)).0.err == .noAuth)
            #expect(try stranger.call(.setData(path: "/vault", data: nil, version: -1)).0.err == .noAuth)
            let (_, acl) = try stranger.call(.getACL(path: "/vault"))
            #expect(acl == nil)

            var bad = ByteBuffer()
            ZooKeeperRequest.auth(AuthPacket(scheme: "kerberos", auth: [1])).encodeFrame(
                xid: SpecialXid.auth,
                into: &bad
            )
            try stranger.send(bad)
            var failed = try #require(try stranger.readFrame())
            #expect(try ReplyHeader(from: &failed).err == .authFailed)
            #expect(stranger.isClosedByPeer())
        }
    }

    @Test func maxSessionsRefusesFurtherHandshakes() async throws {
        try await withBuiltInServer(maxSessions: 2) { server in
            let a = try WireSocket(port: server.port)
            try a.handshake()
            let b = try WireSocket(port: server.port)
            try b.handshake()
            let c = try WireSocket(port: server.port)
            var buffer = ByteBuffer()
            buffer.writeInteger(Int32(0))
            ConnectRequest(timeOut: 10_000).encode(into: &buffer)
            buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
            try c.send(buffer)
            #expect(c.isClosedByPeer())
            #expect(try a.call(.exists(path: "/", watch: false)).0.err == .ok)
        }
    }
}
