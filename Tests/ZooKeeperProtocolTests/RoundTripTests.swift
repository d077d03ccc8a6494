import NIOCore
import Testing
import ZooKeeperProtocol

/// Every request and response case survives encode → decode unchanged.
@Suite("Round trips")
struct RoundTripTests {
    static let stat = Stat(
        czxid: 0x1_0000_0001,
        mzxid: 0x1_0000_0002,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 3,
        cversion: -1,
        aversion: 2,
        ephemeralOwner: 0x0100_00ab_cdef_0001,
        dataLength: 6,
        numChildren: 7,
        pzxid: 0x7fff_ffff_ffff_ffff
    )
    static let acl = [
        ACL(perms: [.read, .write], id: Id(scheme: "digest", id: "u:hash=")), ACL(perms: .all, id: .anyone),
    ]
    static let create = CreateRequest(path: "/a/b", data: [0, 1, 255], acl: acl, mode: .ephemeralSequential)
    static let createTTL = CreateRequest(
        path: "/ttl",
        data: nil,
        acl: ACL.openUnsafe,
        mode: .persistentSequentialWithTTL,
        ttl: 86_400_000
    )

    static let requests: [ZooKeeperRequest] = [
        .create(create, opCode: .create),
        .create(create, opCode: .create2),
        .create(CreateRequest(path: "/c", data: [], mode: .container), opCode: .createContainer),
        .create(createTTL, opCode: .createTTL),
        .delete(path: "/a", version: -1),
        .exists(path: "/a", watch: true),
        .exists(path: "/", watch: false),
        .getData(path: "/a", watch: true),
        .setData(path: "/a", data: nil, version: 5),
        .setData(path: "/a", data: Array(repeating: 0x5a, count: 1000), version: -1),
        .getACL(path: "/a"),
        .setACL(path: "/a", acl: acl, version: 2),
        .setACL(path: "/a", acl: [], version: -1),
        .getChildren(path: "/a", watch: true),
        .getChildren2(path: "/a", watch: false),
        .sync(path: "/a"),
        .check(path: "/a", version: 9),
        .multi([
            .create(create, opCode: .create), .create(create, opCode: .create2),
            .create(createTTL, opCode: .createTTL),
            .create(CreateRequest(path: "/k", data: nil, mode: .container), opCode: .createContainer),
            .delete(path: "/d", version: 1), .setData(path: "/s", data: [9], version: -1),
            .setData(path: "/s", data: nil, version: 0), .check(path: "/c", version: 4),
        ]),
        .multi([]),
        .multiRead([.getData(path: "/a"), .getChildren(path: "/b")]),
        .multiRead([]),
        .reconfig(
            ReconfigRequest(joiningServers: "server.4=h:1:2", leavingServers: nil, newMembers: "", curConfigId: -1)
        ),
        .checkWatches(path: "/a", type: .children),
        .removeWatches(path: "/a", type: .persistentRecursive),
        .setWatches(
            SetWatchesRequest(relativeZxid: 42, dataWatches: ["/a"], existWatches: [], childWatches: ["/b", "/c"])
        ),
        .setWatches2(
            SetWatches2Request(
                relativeZxid: 7,
                dataWatches: ["/a"],
                existWatches: ["/x"],
                childWatches: [],
                persistentWatches: ["/p"],
                persistentRecursiveWatches: ["/r", "/s"]
            )
        ),
        .getEphemerals(prefixPath: "/"),
        .getAllChildrenNumber(path: "/a"),
        .addWatch(path: "/a", mode: .persistent),
        .addWatch(path: "/a", mode: .persistentRecursive),
        .whoAmI,
        .ping,
        .auth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8))),
        .sasl(token: [1, 2, 3]),
        .sasl(token: nil),
        .closeSession,
        .getData(path: "/ünïcødé/路径/🙂", watch: false),
    ]

    @Test(arguments: requests)
    func request(_ request: ZooKeeperRequest) throws {
        let frame = Framing.encode(request, xid: 1234)
        var (header, body) = try Framing.request(frame)
        #expect(header == RequestHeader(xid: 1234, type: request.opCode))
        #expect(try ZooKeeperRequest.decode(opCode: header.type, from: &body) == request)
        #expect(body.readableBytes == 0)
    }

    @Test func everyRequestCaseIsCovered() {
        // One entry per opcode the enum can produce; a new case must be added to `requests`.
        let opCodes = Set(Self.requests.map(\.opCode))
        let expected: Set<OpCode> = [
            .create, .create2, .createContainer, .createTTL, .delete, .exists, .getData, .setData, .getACL,
            .setACL, .getChildren, .getChildren2, .sync, .check, .multi, .multiRead, .reconfig, .checkWatches,
            .removeWatches, .setWatches, .setWatches2, .getEphemerals, .getAllChildrenNumber, .addWatch, .whoAmI,
            .ping, .auth, .sasl, .closeSession,
        ]
        #expect(opCodes == expected)
    }

    static let responses: [(OpCode, ZooKeeperResponse)] = [
        (.delete, .empty),
        (.create, .create(path: "/a-0000000001")),
        (.create2, .create2(path: "/a", stat: stat)),
        (.createContainer, .create2(path: "/c", stat: stat)),
        (.createTTL, .create2(path: "/t", stat: stat)),
        (.exists, .stat(stat)),
        (.setData, .stat(stat)),
        (.setACL, .stat(stat)),
        (.getData, .data([1, 2, 3], stat: stat)),
        (.getData, .data(nil, stat: stat)),
        (.reconfig, .data(Array("server.1=h:1:2".utf8), stat: stat)),
        (.getACL, .acl(acl, stat: stat)),
        (.getChildren, .children(["a", "b", ""])),
        (.getChildren, .children([])),
        (.getChildren2, .children2(["x"], stat: stat)),
        (.sync, .sync(path: "/a")),
        (
            .multi,
            .multi([
                .create(path: "/a"), .create2(path: "/b", stat: stat), .delete, .setData(stat: stat), .check,
                .error(.ok), .error(.noNode), .error(.runtimeInconsistency),
            ])
        ),
        (
            .multiRead,
            .multi([
                .getData(data: [7], stat: stat), .getData(data: nil, stat: stat), .getChildren(children: ["c"]),
                .error(.noNode),
            ])
        ),
        (.multi, .multi([])),
        (.getEphemerals, .ephemerals(["/e1", "/e2"])),
        (.getAllChildrenNumber, .allChildrenNumber(123_456)),
        (
            .whoAmI,
            .whoAmI([ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "digest", user: "u")])
        ),
        (.sasl, .sasl(token: [0xde, 0xad])),
        (.sasl, .sasl(token: nil)),
    ]

    @Test(arguments: responses.indices)
    func response(_ index: Int) throws {
        let (opCode, response) = Self.responses[index]
        var buffer = ByteBuffer()
        ReplyHeader(xid: 5, zxid: 99, err: .ok).encode(into: &buffer)
        response.encode(into: &buffer)
        #expect(try ReplyHeader(from: &buffer) == ReplyHeader(xid: 5, zxid: 99, err: .ok))
        #expect(try ZooKeeperResponse.decode(opCode: opCode, from: &buffer) == response)
        #expect(buffer.readableBytes == 0)
    }

    @Test func everyResponseCaseIsCovered() {
        func caseName(_ response: ZooKeeperResponse) -> String {
            String(String(describing: response).prefix { $0 != "(" })
        }
        let covered = Set(Self.responses.map { caseName($0.1) })
        #expect(
            covered == [
                "empty", "create", "create2", "stat", "data", "acl", "children", "children2", "sync", "multi",
                "ephemerals", "allChildrenNumber", "whoAmI", "sasl",
            ]
        )
    }

    @Test func records() throws {
        func roundTrip<R: JuteRecord & Equatable>(_ record: R) throws {
            var buffer = record.encodedBytes()
            #expect(try R(from: &buffer) == record)
            #expect(buffer.readableBytes == 0)
        }
        try roundTrip(Self.stat)
        try roundTrip(
            ConnectRequest(lastZxidSeen: 77, timeOut: 10000, sessionId: 0x1234, password: Array(0..<16), readOnly: true)
        )
        try roundTrip(ConnectRequest(timeOut: 10000, readOnly: nil))
        try roundTrip(ConnectResponse(timeOut: 4000, sessionId: 1, password: Array(0..<16), readOnly: false))
        try roundTrip(ConnectResponse.rejected(readOnly: nil))
        try roundTrip(RequestHeader(xid: -8, type: .setWatches2))
        try roundTrip(ReplyHeader(xid: Int32.min, zxid: Int64.min, err: ErrorCode(-999)))
        try roundTrip(WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/a"))
        try roundTrip(WatcherEvent(type: .none, state: .expired, path: ""))
        try roundTrip(MultiHeader.end)
        try roundTrip(AuthPacket(scheme: "digest", auth: []))
        try roundTrip(ClientInfo(authScheme: "ip", user: "::1"))
        for acl in Self.acl { try roundTrip(acl) }
    }

    @Test func rejectedHandshakeLooksLikeTheServers() {
        let rejected = ConnectResponse.rejected(readOnly: false)
        #expect(rejected.isRejection)
        #expect(rejected.encodedBytes().readableBytes == 37)
        #expect(ConnectResponse.rejected(readOnly: nil).encodedBytes().readableBytes == 36)
    }
}
