import NIOCore
import Testing
import ZooKeeperProtocol

/// Replies captured from the real ZooKeeper 3.8 decode to the values the server meant.
@Suite("Captured replies")
struct CapturedReplyTests {
    /// Decodes the successful reply of `exchange`, checking the header, that the body is consumed
    /// exactly, and that re-encoding the decoded value gives back the captured bytes.
    func success(
        _ exchange: CapturedExchange,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws
        -> (header: ReplyHeader, response: ZooKeeperResponse)
    {
        let opCode = try #require(exchange.opCode, sourceLocation: sourceLocation)
        var (header, body) = try Framing.reply(exchange.replyFrame)
        let captured = Array(body.readableBytesView)
        #expect(header.xid == exchange.xid, sourceLocation: sourceLocation)
        #expect(header.err == .ok, sourceLocation: sourceLocation)
        let response = try ZooKeeperResponse.decode(opCode: OpCode(opCode), from: &body)
        #expect(body.readableBytes == 0, "\(exchange.name): bytes left after the body", sourceLocation: sourceLocation)
        var reencoded = ByteBuffer()
        response.encode(into: &reencoded, replyingTo: OpCode(opCode))
        #expect(Array(reencoded.readableBytesView) == captured, "\(exchange.name)", sourceLocation: sourceLocation)
        return (header, response)
    }

    /// An error reply is the 16-byte header alone.
    func failure(_ exchange: CapturedExchange, sourceLocation: SourceLocation = #_sourceLocation) throws -> ReplyHeader
    {
        let (header, body) = try Framing.reply(exchange.replyFrame)
        #expect(exchange.replyFrame.count == 4 + ReplyHeader.encodedSize, sourceLocation: sourceLocation)
        #expect(body.readableBytes == 0, sourceLocation: sourceLocation)
        #expect(header.xid == exchange.xid, sourceLocation: sourceLocation)
        return header
    }

    @Test func handshakeReplyIs37BytesWithReadOnly() throws {
        var body = try Framing.body(of: CapturedFixtures.handshake.replyFrame)
        #expect(body.readableBytes == 37)
        let captured = Array(body.readableBytesView)
        let response = try ConnectResponse(from: &body)
        #expect(response.protocolVersion == 0)
        #expect(response.timeOut == 30000)
        #expect(response.sessionId != 0)
        #expect(response.password.count == 16)
        #expect(response.readOnly == false)
        #expect(!response.isRejection)
        #expect(Array(response.encodedBytes().readableBytesView) == captured)
    }

    @Test func handshakeReplyIs36BytesWithoutReadOnly() throws {
        var body = try Framing.body(of: CapturedFixtures.handshakeWithoutReadOnly.replyFrame)
        #expect(body.readableBytes == 36)
        let captured = Array(body.readableBytesView)
        let response = try ConnectResponse(from: &body)
        // 1000 ms asked, clamped up to 2 × tickTime.
        #expect(response.timeOut == 4000)
        #expect(response.password.count == 16)
        #expect(response.readOnly == nil)
        #expect(Array(response.encodedBytes().readableBytesView) == captured)
    }

    @Test func sessionsGetDistinctIds() throws {
        var first = try Framing.body(of: CapturedFixtures.handshake.replyFrame)
        var second = try Framing.body(of: CapturedFixtures.handshakeForUnknownOpcode.replyFrame)
        #expect(try ConnectResponse(from: &first).sessionId != ConnectResponse(from: &second).sessionId)
    }

    @Test func create() throws {
        let (header, response) = try success(CapturedFixtures.create)
        #expect(header.zxid > 0)
        #expect(response == .create(path: "/zkstorm"))
    }

    @Test func create2ReturnsPathAndStat() throws {
        let (header, response) = try success(CapturedFixtures.create2)
        guard case .create2(let path, let stat) = response else {
            Issue.record("expected create2, got \(response)")
            return
        }
        #expect(path == "/zkstorm/c2")
        #expect(stat.czxid == header.zxid && stat.mzxid == header.zxid && stat.pzxid == header.zxid)
        #expect(stat.ctime == stat.mtime && stat.ctime > 1_600_000_000_000)
        #expect(stat.version == 0 && stat.cversion == 0 && stat.aversion == 0)
        #expect(stat.dataLength == 2 && stat.numChildren == 0 && stat.ephemeralOwner == 0)
    }

    @Test func createContainerAnswersWithCreate2Response() throws {
        let (_, response) = try success(CapturedFixtures.createContainer)
        guard case .create2(let path, let stat) = response else {
            Issue.record("expected create2, got \(response)")
            return
        }
        #expect(path == "/zkstorm/container")
        #expect(stat.dataLength == 0 && stat.ephemeralOwner == 0)
    }

    @Test func createTTLShowsNoEphemeralOwner() throws {
        let (_, response) = try success(CapturedFixtures.createTTL)
        guard case .create2(let path, let stat) = response else {
            Issue.record("expected create2, got \(response)")
            return
        }
        #expect(path == "/zkstorm/ttl")
        // The server keeps the TTL in ephemeralOwner internally but clients see 0.
        #expect(stat.ephemeralOwner == 0 && stat.dataLength == 1)
    }

    @Test func sequentialNameUsesParentCversion() throws {
        let (_, response) = try success(CapturedFixtures.createEphemeralSequential)
        // Three children were created before it: cversion 3.
        #expect(response == .create(path: "/zkstorm/eph-0000000003"))
    }

    @Test func existsHitReturnsStat() throws {
        let (_, response) = try success(CapturedFixtures.existsHit)
        guard case .stat(let stat) = response else {
            Issue.record("expected stat, got \(response)")
            return
        }
        #expect(stat.dataLength == 5 && stat.numChildren == 4 && stat.cversion == 4 && stat.version == 0)
    }

    @Test func noNodeRepliesAreTheHeaderAlone() throws {
        #expect(try failure(CapturedFixtures.existsMiss).err == .noNode)
        #expect(try failure(CapturedFixtures.getDataNoNode).err == .noNode)
    }

    @Test func errorReplies() throws {
        #expect(try failure(CapturedFixtures.setDataBadVersion).err == .badVersion)
        #expect(try failure(CapturedFixtures.deleteNotEmpty).err == .notEmpty)
        #expect(try failure(CapturedFixtures.createNodeExists).err == .nodeExists)
        #expect(try failure(CapturedFixtures.createBadPath).err == .badArguments)
        #expect(try failure(CapturedFixtures.checkWatchesNoWatcher).err == .noWatcher)
        #expect(try failure(CapturedFixtures.removeWatchesNoWatcher).err == .noWatcher)
    }

    @Test func getData() throws {
        let (_, response) = try success(CapturedFixtures.getData)
        guard case .data(let data, let stat) = response else {
            Issue.record("expected data, got \(response)")
            return
        }
        #expect(data == Array("hello".utf8))
        #expect(stat.dataLength == 5 && stat.version == 0)
    }

    @Test func setDataBumpsVersion() throws {
        let (header, response) = try success(CapturedFixtures.setData)
        guard case .stat(let stat) = response else {
            Issue.record("expected stat, got \(response)")
            return
        }
        #expect(stat.version == 1 && stat.dataLength == 5 && stat.mzxid == header.zxid && stat.czxid < stat.mzxid)
    }

    @Test func getACL() throws {
        let (_, response) = try success(CapturedFixtures.getACL)
        guard case .acl(let acl, let stat) = response else {
            Issue.record("expected acl, got \(response)")
            return
        }
        #expect(acl == ACL.openUnsafe)
        #expect(stat.aversion == 0)
    }

    @Test func setACLBumpsAversion() throws {
        let (_, response) = try success(CapturedFixtures.setACL)
        guard case .stat(let stat) = response else {
            Issue.record("expected stat, got \(response)")
            return
        }
        #expect(stat.aversion == 1 && stat.version == 0)
    }

    @Test func getChildren() throws {
        let (_, response) = try success(CapturedFixtures.getChildren)
        guard case .children(let children) = response else {
            Issue.record("expected children, got \(response)")
            return
        }
        #expect(Set(children) == ["c2", "container", "ttl", "eph-0000000003"])
    }

    @Test func getChildren2() throws {
        let (_, response) = try success(CapturedFixtures.getChildren2)
        guard case .children2(let children, let stat) = response else {
            Issue.record("expected children2, got \(response)")
            return
        }
        #expect(Set(children) == ["c2", "container", "ttl", "eph-0000000003"])
        #expect(stat.numChildren == 4)
    }

    @Test func sync() throws {
        #expect(try success(CapturedFixtures.sync).response == .sync(path: "/zkstorm"))
    }

    @Test func multiSuccess() throws {
        let (_, response) = try success(CapturedFixtures.multi)
        guard case .multi(let results) = response, results.count == 5 else {
            Issue.record("expected 5 multi results, got \(response)")
            return
        }
        #expect(results[0] == .create(path: "/zkstorm/m1"))
        // ZooKeeper 3.8 answers a create2 inside multi as a plain create result: no Stat.
        #expect(results[1] == .create(path: "/zkstorm/m2"))
        guard case .setData(let stat) = results[2] else {
            Issue.record("expected setData result, got \(results[2])")
            return
        }
        #expect(stat.version == 1 && stat.dataLength == 1)
        #expect(results[3] == .check)
        #expect(results[4] == .delete)
    }

    @Test func multiWithOneCheck() throws {
        #expect(try success(CapturedFixtures.multiCheck).response == .multi([.check]))
    }

    @Test func multiFailureReportsEveryOpAsError() throws {
        let (header, response) = try success(CapturedFixtures.multiFailure)
        #expect(header.err == .ok)
        #expect(response == .multi([.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)]))

        // The same body read with MultiResult directly; each error's MultiHeader.err repeats its code.
        var (_, body) = try Framing.reply(CapturedFixtures.multiFailure.replyFrame)
        let bytes = Array(body.readableBytesView)
        #expect(try MultiResult.decodeAll(from: &body).map(\.error) == [.ok, .badVersion, .runtimeInconsistency])
        var cursor = ByteBuffer(bytes: bytes)
        for expected in [ErrorCode.ok, .badVersion, .runtimeInconsistency] {
            #expect(try MultiHeader(from: &cursor) == MultiHeader(type: .error, done: false, err: expected))
            #expect(try cursor.readJuteInt("err") == expected.rawValue)
        }
        #expect(try MultiHeader(from: &cursor) == .end)
    }

    @Test func emptyMulti() throws {
        #expect(try success(CapturedFixtures.multiEmpty).response == .multi([]))
    }

    @Test func multiReadIsNotAtomic() throws {
        let (_, response) = try success(CapturedFixtures.multiRead)
        guard case .multi(let results) = response, results.count == 3 else {
            Issue.record("expected 3 multiRead results, got \(response)")
            return
        }
        guard case .getData(let data, let stat) = results[0] else {
            Issue.record("expected getData result, got \(results[0])")
            return
        }
        #expect(data == Array("world".utf8) && stat.version == 1)
        #expect(results[1] == .getChildren(children: []))
        #expect(results[2] == .error(.noNode))
    }

    @Test func getEphemerals() throws {
        #expect(try success(CapturedFixtures.getEphemerals).response == .ephemerals(["/zkstorm/eph-0000000003"]))
    }

    @Test func getAllChildrenNumberCountsDescendants() throws {
        // c2, container, ttl, eph-0000000003 and m1 (left by the successful multi).
        #expect(try success(CapturedFixtures.getAllChildrenNumber).response == .allChildrenNumber(5))
    }

    @Test func authReplyUsesXidMinus4() throws {
        let (header, response) = try success(CapturedFixtures.authDigest)
        #expect(header.xid == SpecialXid.auth)
        // Auth is not a transaction: the server always answers zxid 0.
        #expect(header.zxid == 0)
        #expect(response == .empty)
    }

    @Test func whoAmIListsEveryIdentity() throws {
        let (_, response) = try success(CapturedFixtures.whoAmI)
        guard case .whoAmI(let infos) = response else {
            Issue.record("expected whoAmI, got \(response)")
            return
        }
        #expect(
            Set(infos) == [
                ClientInfo(authScheme: "digest", user: "user"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
            ]
        )
    }

    @Test func emptyBodies() throws {
        for exchange in [
            CapturedFixtures.addWatch, CapturedFixtures.checkWatches, CapturedFixtures.delete,
            CapturedFixtures.setWatches2, CapturedFixtures.ping, CapturedFixtures.closeSession,
        ] {
            #expect(try success(exchange).response == .empty, "\(exchange.name)")
        }
        #expect(try success(CapturedFixtures.ping).header.xid == SpecialXid.ping)
        #expect(try success(CapturedFixtures.setWatches2).header.xid == SpecialXid.setWatches)
    }

    @Test func addWatchReplyCarriesAnErrorResponse() throws {
        // Unlike every other empty reply, ZooKeeper 3.8 answers addWatch with ErrorResponse {err = 0}.
        let (_, body) = try Framing.reply(CapturedFixtures.addWatch.replyFrame)
        #expect(Array(body.readableBytesView) == [0, 0, 0, 0])
        var encoded = ByteBuffer()
        ZooKeeperResponse.empty.encode(into: &encoded, replyingTo: .addWatch)
        #expect(Array(encoded.readableBytesView) == [0, 0, 0, 0])
        // A server that sends no body is still understood.
        var nothing = ByteBuffer()
        #expect(try ZooKeeperResponse.decode(opCode: .addWatch, from: &nothing) == .empty)
    }

    @Test func closeSessionClosesTheConnection() throws {
        #expect(CapturedFixtures.closeSession.serverClosed)
        #expect(CapturedFixtures.closeSessionShortHandshake.serverClosed)
    }

    @Test func unknownOpcodeIsUnimplementedThenClose() throws {
        let header = try failure(CapturedFixtures.unknownOpcode)
        #expect(header.err == .unimplemented)
        #expect(header.zxid == -1)
        #expect(CapturedFixtures.unknownOpcode.serverClosed)
    }

    @Test func watchNotificationPrecedesTheReply() throws {
        let exchange = CapturedFixtures.setDataFiringWatch
        #expect(exchange.replies.count == 2)
        var (header, body) = try Framing.reply(exchange.replyFrames[0])
        #expect(header == ReplyHeader(xid: SpecialXid.notification, zxid: -1, err: .ok))
        let captured = Array(body.readableBytesView)
        let event = try WatcherEvent(from: &body)
        #expect(event == WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/zkstorm/ttl"))
        #expect(body.readableBytes == 0)
        #expect(Array(event.encodedBytes().readableBytesView) == captured)

        let (_, response) = try success(exchange)
        guard case .stat(let stat) = response else {
            Issue.record("expected stat, got \(response)")
            return
        }
        #expect(stat.version == 1)
    }

    static let firedWatches: [(CapturedExchange, WatcherEvent)] = [
        (
            CapturedFixtures.setDataFiringWatch,
            WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/zkstorm/ttl")
        ),
        (
            CapturedFixtures.createFiringExistWatch,
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/zkstorm/missing")
        ),
        (
            CapturedFixtures.createFiringChildWatch,
            WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/zkstorm/container")
        ),
        (
            CapturedFixtures.createFiringPersistentRecursiveWatch,
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/zkstorm/persistent")
        ),
        (
            CapturedFixtures.createUnderPersistentRecursiveWatch,
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/zkstorm/persistent/a")
        ),
        (
            CapturedFixtures.deleteFiringDataWatch,
            WatcherEvent(type: .nodeDeleted, state: .syncConnected, path: "/zkstorm/missing")
        ),
    ]

    /// Each write that fires a watch on its own connection: exactly one notification (xid -1, zxid -1
    /// in 3.8), and it arrives before the write's reply.
    @Test(arguments: firedWatches.indices)
    func notificationPrecedesTheReplyOfTheWriteThatFiredIt(_ index: Int) throws {
        let (exchange, expected) = Self.firedWatches[index]
        #expect(exchange.replies.count == 2)
        var (header, body) = try Framing.reply(exchange.replyFrames[0])
        #expect(header == ReplyHeader(xid: SpecialXid.notification, zxid: -1, err: .ok))
        #expect(try WatcherEvent(from: &body) == expected)
        #expect(body.readableBytes == 0)
        let (reply, _) = try Framing.reply(exchange.replyFrame)
        #expect(reply.xid == exchange.xid && reply.err == .ok && reply.zxid > 0)
    }

    @Test func childWatchIsSetOnAnEmptyNode() throws {
        #expect(try success(CapturedFixtures.getChildrenWatch).response == .children([]))
        #expect(
            try success(CapturedFixtures.createFiringChildWatch).response == .create(path: "/zkstorm/container/child")
        )
    }

    @Test func ephemeralOwnerIsTheCreatingSession() throws {
        var handshake = try Framing.body(of: CapturedFixtures.handshake.replyFrame)
        let session = try ConnectResponse(from: &handshake).sessionId
        let (_, response) = try success(CapturedFixtures.getDataWatchBeforeDelete)
        guard case .data(let data, let stat) = response else {
            Issue.record("expected data, got \(response)")
            return
        }
        #expect(data == [])
        #expect(stat.ephemeralOwner == session)
    }

    @Test func resumedSessionKeepsItsIdAndPassword() throws {
        var first = try Framing.body(of: CapturedFixtures.handshakeBeforeResume.replyFrame)
        var resumed = try Framing.body(of: CapturedFixtures.handshakeResume.replyFrame)
        let original = try ConnectResponse(from: &first)
        #expect(try ConnectResponse(from: &resumed) == original)
        var request = try Framing.body(of: CapturedFixtures.handshakeResume.requestFrame)
        #expect(
            try ConnectRequest(from: &request)
                == ConnectRequest(timeOut: 30000, sessionId: original.sessionId, password: original.password)
        )
    }

    @Test func wrongPasswordIsRejectedThenClosed() throws {
        var body = try Framing.body(of: CapturedFixtures.handshakeBadPassword.replyFrame)
        let response = try ConnectResponse(from: &body)
        #expect(response == .rejected(readOnly: false))
        #expect(response.isRejection)
        #expect(CapturedFixtures.handshakeBadPassword.serverClosed)
        #expect(
            Array(ConnectResponse.rejected(readOnly: false).encodedBytes().readableBytesView)
                == Array(
                    CapturedFixtures.handshakeBadPassword.replyFrame.dropFirst(4)
                )
        )
    }

    @Test func unknownAuthSchemeFailsThenCloses() throws {
        let header = try failure(CapturedFixtures.authUnknownScheme)
        #expect(header == ReplyHeader(xid: SpecialXid.auth, zxid: 0, err: .authFailed))
        #expect(CapturedFixtures.authUnknownScheme.serverClosed)
    }

    /// Every captured reply but the handshakes' (which have no reply header).
    @Test(arguments: CapturedFixtures.all.filter { $0.opCode != nil })
    func replyHeaderReencodesExactly(_ exchange: CapturedExchange) throws {
        #expect(!exchange.replyFrames.isEmpty, "\(exchange.name) has no reply")
        for frame in exchange.replyFrames {
            var body = try Framing.body(of: frame)
            let captured = Array(body.readableBytesView.prefix(ReplyHeader.encodedSize))
            let header = try ReplyHeader(from: &body)
            #expect(Array(header.encodedBytes().readableBytesView) == captured)
        }
    }

    @Test func statIs68Bytes() throws {
        let (_, body) = try Framing.reply(CapturedFixtures.existsHit.replyFrame)
        #expect(body.readableBytes == Stat.encodedSize)
        #expect(Stat.encodedSize == 68)
        #expect(Stat().encodedBytes().readableBytes == 68)
    }
}
