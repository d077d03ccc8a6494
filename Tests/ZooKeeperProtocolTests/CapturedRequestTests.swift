import NIOCore
import Testing
import ZooKeeperProtocol

/// Our encoder writes the same bytes the capture script sent to the real server (which accepted them).
@Suite("Captured requests")
struct CapturedRequestTests {
    /// What a client built on this module sends for each captured exchange. setWatches2 is left out:
    /// its relativeZxid depends on the run (it is covered by the decode/re-encode test below).
    static let expected: [(CapturedExchange, ZooKeeperRequest)] = {
        let open = ACL.openUnsafe
        func create(_ path: String, _ data: String?, _ mode: CreateMode, ttl: Int64 = 0) -> CreateRequest {
            CreateRequest(path: path, data: data.map { Array($0.utf8) }, acl: open, mode: mode, ttl: ttl)
        }
        return [
            (CapturedFixtures.create, .create(create("/zkstorm", "hello", .persistent), opCode: .create)),
            (CapturedFixtures.create2, .create(create("/zkstorm/c2", "c2", .persistent), opCode: .create2)),
            (
                CapturedFixtures.createContainer,
                .create(create("/zkstorm/container", "", .container), opCode: .createContainer)
            ),
            (
                CapturedFixtures.createTTL,
                .create(create("/zkstorm/ttl", "t", .persistentWithTTL, ttl: 60000), opCode: .createTTL)
            ),
            (
                CapturedFixtures.createEphemeralSequential,
                .create(create("/zkstorm/eph-", nil, .ephemeralSequential), opCode: .create)
            ),
            (CapturedFixtures.existsHit, .exists(path: "/zkstorm", watch: false)),
            (CapturedFixtures.existsMiss, .exists(path: "/zkstorm/missing", watch: true)),
            (CapturedFixtures.getData, .getData(path: "/zkstorm", watch: false)),
            (CapturedFixtures.getDataNoNode, .getData(path: "/zkstorm/missing", watch: false)),
            (CapturedFixtures.setData, .setData(path: "/zkstorm", data: Array("world".utf8), version: -1)),
            (CapturedFixtures.setDataBadVersion, .setData(path: "/zkstorm", data: Array("x".utf8), version: 42)),
            (CapturedFixtures.getACL, .getACL(path: "/zkstorm")),
            (
                CapturedFixtures.setACL,
                .setACL(
                    path: "/zkstorm/c2",
                    acl: [ACL(perms: .read, id: .anyone), ACL(perms: .all, id: Id(scheme: "ip", id: "127.0.0.1"))],
                    version: 0
                )
            ),
            (CapturedFixtures.getChildren, .getChildren(path: "/zkstorm", watch: false)),
            (CapturedFixtures.getChildren2, .getChildren2(path: "/zkstorm", watch: false)),
            (CapturedFixtures.sync, .sync(path: "/zkstorm")),
            (
                CapturedFixtures.multi,
                .multi([
                    .create(create("/zkstorm/m1", "a", .persistent), opCode: .create),
                    .create(create("/zkstorm/m2", "", .persistent), opCode: .create2),
                    .setData(path: "/zkstorm/m1", data: Array("b".utf8), version: -1),
                    .check(path: "/zkstorm/m1", version: 1),
                    .delete(path: "/zkstorm/m2", version: -1),
                ])
            ),
            (CapturedFixtures.multiCheck, .multi([.check(path: "/zkstorm", version: 1)])),
            (
                CapturedFixtures.multiFailure,
                .multi([
                    .create(create("/zkstorm/m3", "", .persistent), opCode: .create),
                    .check(path: "/zkstorm/m1", version: 99),
                    .delete(path: "/zkstorm/m1", version: -1),
                ])
            ),
            (CapturedFixtures.multiEmpty, .multi([])),
            (
                CapturedFixtures.multiRead,
                .multiRead([
                    .getData(path: "/zkstorm"), .getChildren(path: "/zkstorm/c2"), .getData(path: "/zkstorm/missing"),
                ])
            ),
            (CapturedFixtures.getEphemerals, .getEphemerals(prefixPath: "/zkstorm")),
            (CapturedFixtures.getAllChildrenNumber, .getAllChildrenNumber(path: "/zkstorm")),
            (CapturedFixtures.authDigest, .auth(AuthPacket(scheme: "digest", auth: Array("user:password".utf8)))),
            (CapturedFixtures.whoAmI, .whoAmI),
            (CapturedFixtures.addWatch, .addWatch(path: "/zkstorm/persistent", mode: .persistentRecursive)),
            (CapturedFixtures.checkWatchesNoWatcher, .checkWatches(path: "/zkstorm/c2", type: .any)),
            (CapturedFixtures.removeWatchesNoWatcher, .removeWatches(path: "/zkstorm/c2", type: .any)),
            (CapturedFixtures.getDataWatch, .getData(path: "/zkstorm/ttl", watch: true)),
            (CapturedFixtures.checkWatches, .checkWatches(path: "/zkstorm/ttl", type: .data)),
            (CapturedFixtures.setDataFiringWatch, .setData(path: "/zkstorm/ttl", data: Array("u".utf8), version: -1)),
            (CapturedFixtures.ping, .ping),
            (CapturedFixtures.delete, .delete(path: "/zkstorm/c2", version: -1)),
            (CapturedFixtures.deleteNotEmpty, .delete(path: "/zkstorm", version: -1)),
            (CapturedFixtures.createNodeExists, .create(create("/zkstorm", "", .persistent), opCode: .create)),
            (CapturedFixtures.createBadPath, .create(create("/zkstorm/", "", .persistent), opCode: .create)),
            (
                CapturedFixtures.createFiringExistWatch,
                .create(create("/zkstorm/missing", "", .ephemeral), opCode: .create)
            ),
            (CapturedFixtures.getChildrenWatch, .getChildren(path: "/zkstorm/container", watch: true)),
            (
                CapturedFixtures.createFiringChildWatch,
                .create(create("/zkstorm/container/child", "", .persistent), opCode: .create)
            ),
            (
                CapturedFixtures.createFiringPersistentRecursiveWatch,
                .create(create("/zkstorm/persistent", "", .persistent), opCode: .create)
            ),
            (
                CapturedFixtures.createUnderPersistentRecursiveWatch,
                .create(create("/zkstorm/persistent/a", "", .persistent), opCode: .create)
            ),
            (CapturedFixtures.getDataWatchBeforeDelete, .getData(path: "/zkstorm/missing", watch: true)),
            (CapturedFixtures.deleteFiringDataWatch, .delete(path: "/zkstorm/missing", version: -1)),
            (CapturedFixtures.authUnknownScheme, .auth(AuthPacket(scheme: "nosuch", auth: Array("x".utf8)))),
            (CapturedFixtures.closeSession, .closeSession),
            (CapturedFixtures.closeSessionShortHandshake, .closeSession),
        ]
    }()

    @Test func everyRequestEncodesToTheCapturedBytes() throws {
        for (exchange, request) in Self.expected {
            let xid = try #require(exchange.xid)
            #expect(
                Hex.string(Framing.encode(request, xid: xid)) == Hex.string(exchange.requestFrame),
                "\(exchange.name)"
            )
        }
    }

    @Test func expectationsCoverEveryCapturedRequestWithAHeader() {
        let covered = Set(Self.expected.map(\.0.name))
        let uncovered = CapturedFixtures.all.filter { $0.opCode != nil && !covered.contains($0.name) }.map(\.name)
        // setWatches2 carries a run-specific zxid; unknownOpcode has no ZooKeeperRequest case by design.
        #expect(Set(uncovered) == ["setWatches2", "unknownOpcode"])
    }

    @Test func handshake45Bytes() {
        let frame = Framing.frame(ConnectRequest(timeOut: 30000))
        #expect(frame.count == 4 + 45)
        #expect(Hex.string(frame) == Hex.string(CapturedFixtures.handshake.requestFrame))
        #expect(Hex.string(frame) == Hex.string(CapturedFixtures.handshakeForUnknownOpcode.requestFrame))
    }

    @Test func handshake44BytesWithoutReadOnly() {
        let frame = Framing.frame(ConnectRequest(timeOut: 1000, readOnly: nil))
        #expect(frame.count == 4 + 44)
        #expect(Hex.string(frame) == Hex.string(CapturedFixtures.handshakeWithoutReadOnly.requestFrame))
    }

    @Test func handshakeRequestsDecode() throws {
        var long = try Framing.body(of: CapturedFixtures.handshake.requestFrame)
        #expect(try ConnectRequest(from: &long) == ConnectRequest(timeOut: 30000, readOnly: false))
        var short = try Framing.body(of: CapturedFixtures.handshakeWithoutReadOnly.requestFrame)
        #expect(try ConnectRequest(from: &short) == ConnectRequest(timeOut: 1000, readOnly: nil))
    }

    @Test func setWatches2Decodes() throws {
        var (header, body) = try Framing.request(CapturedFixtures.setWatches2.requestFrame)
        #expect(header == RequestHeader(xid: SpecialXid.setWatches, type: .setWatches2))
        guard case .setWatches2(let watches) = try ZooKeeperRequest.decode(opCode: header.type, from: &body) else {
            Issue.record("expected setWatches2")
            return
        }
        #expect(watches.relativeZxid > 0)
        #expect(watches.dataWatches == ["/zkstorm"] && watches.existWatches == ["/zkstorm/absent"])
        #expect(
            watches.childWatches.isEmpty && watches.persistentWatches.isEmpty
                && watches.persistentRecursiveWatches.isEmpty
        )
    }

    @Test func unknownOpcodeIsRefusedByTheDecoder() throws {
        var (header, body) = try Framing.request(CapturedFixtures.unknownOpcode.requestFrame)
        #expect(header.type == OpCode(999))
        #expect(throws: JuteDecodingError(.unknownOpCode(999), field: "RequestHeader.type")) {
            try ZooKeeperRequest.decode(opCode: header.type, from: &body)
        }
    }

    /// What a server built on this module sees: every captured request decodes, consumes its body
    /// exactly, and re-encodes to the same bytes.
    @Test(arguments: CapturedFixtures.all.filter { $0.opCode != nil && $0.opCode != 999 })
    func decodesAndReencodesExactly(_ exchange: CapturedExchange) throws {
        var (header, body) = try Framing.request(exchange.requestFrame)
        #expect(header.xid == exchange.xid)
        #expect(header.type.rawValue == exchange.opCode)
        let request = try ZooKeeperRequest.decode(opCode: header.type, from: &body)
        #expect(body.readableBytes == 0)
        #expect(request.opCode == header.type)
        #expect(Hex.string(Framing.encode(request, xid: header.xid)) == Hex.string(exchange.requestFrame))
    }
}
