import NIOCore

/// `ClientInfo {ustring authScheme, ustring user}`, returned by whoAmI.
public struct ClientInfo: JuteRecord, Hashable {
    public var authScheme: String
    public var user: String

    public init(authScheme: String, user: String) {
        self.authScheme = authScheme
        self.user = user
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        authScheme = try buffer.readJuteNonNullString("ClientInfo.authScheme")
        user = try buffer.readJuteNonNullString("ClientInfo.user")
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(authScheme)
        buffer.writeJuteString(user)
    }
}

/// The body of a successful reply. Which case a reply holds follows from the request's opcode.
public enum ZooKeeperResponse: Hashable, Sendable {
    /// delete, check, ping, auth, setWatches, setWatches2, checkWatches, removeWatches, addWatch, closeSession.
    /// On the wire an addWatch reply still carries `ErrorResponse {int err = 0}`: see `encode(into:replyingTo:)`.
    case empty
    case create(path: String)
    case create2(path: String, stat: Stat)
    /// exists, setData, setACL.
    case stat(Stat)
    /// getData, reconfig.
    case data([UInt8]?, stat: Stat)
    case acl([ACL], stat: Stat)
    case children([String])
    case children2([String], stat: Stat)
    case sync(path: String)
    case multi([MultiResult])
    case ephemerals([String])
    case allChildrenNumber(Int32)
    case whoAmI([ClientInfo])
    case sasl(token: [UInt8]?)

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .empty:
            break
        case .create(let path), .sync(let path):
            buffer.writeJuteString(path)
        case .create2(let path, let stat):
            buffer.writeJuteString(path)
            stat.encode(into: &buffer)
        case .stat(let stat):
            stat.encode(into: &buffer)
        case .data(let data, let stat):
            buffer.writeJuteBuffer(data)
            stat.encode(into: &buffer)
        case .acl(let acl, let stat):
            buffer.writeJuteRecordVector(acl)
            stat.encode(into: &buffer)
        case .children(let children), .ephemerals(let children):
            buffer.writeJuteStringVector(children)
        case .children2(let children, let stat):
            buffer.writeJuteStringVector(children)
            stat.encode(into: &buffer)
        case .multi(let results):
            MultiResult.encode(results, into: &buffer)
        case .allChildrenNumber(let n):
            buffer.writeJuteInt(n)
        case .whoAmI(let infos):
            buffer.writeJuteRecordVector(infos)
        case .sasl(let token):
            buffer.writeJuteBuffer(token)
        }
    }

    /// Writes the body exactly as ZooKeeper sends it in reply to `opCode`. Same as `encode(into:)`, except
    /// that the real server answers addWatch with `ErrorResponse {int err = 0}` (4 bytes, seen on 3.8),
    /// which the Java client reads and fails without. Servers should encode replies with this method.
    public func encode(into buffer: inout ByteBuffer, replyingTo opCode: OpCode) {
        if opCode == .addWatch, self == .empty {
            buffer.writeJuteInt(ErrorCode.ok.rawValue)
            return
        }
        encode(into: &buffer)
    }

    /// Reads the body of a successful (err 0) reply to a request of `opCode`.
    public static func decode(
        opCode: OpCode,
        from buffer: inout ByteBuffer
    ) throws(JuteDecodingError) -> ZooKeeperResponse {
        switch opCode {
        case .create:
            return .create(path: try buffer.readJuteNonNullString("CreateResponse.path"))
        case .create2, .createContainer, .createTTL:
            return .create2(
                path: try buffer.readJuteNonNullString("Create2Response.path"),
                stat: try Stat(from: &buffer)
            )
        case .exists, .setData, .setACL:
            return .stat(try Stat(from: &buffer))
        case .getData, .reconfig:
            return .data(try buffer.readJuteBuffer("GetDataResponse.data"), stat: try Stat(from: &buffer))
        case .getACL:
            let acl = try buffer.readJuteRecordVector(ACL.self, "GetACLResponse.acl", minimumRecordSize: 12) ?? []
            return .acl(acl, stat: try Stat(from: &buffer))
        case .getChildren:
            return .children(try buffer.readJuteStringVector("GetChildrenResponse.children") ?? [])
        case .getChildren2:
            let children = try buffer.readJuteStringVector("GetChildren2Response.children") ?? []
            return .children2(children, stat: try Stat(from: &buffer))
        case .sync:
            return .sync(path: try buffer.readJuteNonNullString("SyncResponse.path"))
        case .multi, .multiRead:
            return .multi(try MultiResult.decodeAll(from: &buffer))
        case .getEphemerals:
            return .ephemerals(try buffer.readJuteStringVector("GetEphemeralsResponse.ephemerals") ?? [])
        case .getAllChildrenNumber:
            return .allChildrenNumber(try buffer.readJuteInt("GetAllChildrenNumberResponse.totalNumber"))
        case .whoAmI:
            return .whoAmI(
                try buffer.readJuteRecordVector(ClientInfo.self, "WhoAmIResponse.clientInfo", minimumRecordSize: 8)
                    ?? []
            )
        case .sasl:
            return .sasl(token: try buffer.readJuteBuffer("SetSASLResponse.token"))
        case .addWatch:
            // ZooKeeper sends ErrorResponse {int err = 0}; accept a server that sends nothing too.
            if buffer.readableBytes >= 4 { _ = try buffer.readJuteInt("AddWatchResponse.err") }
            return .empty
        default:
            return .empty
        }
    }
}

// MARK: - Server side: whole replies

extension ZooKeeperResponse {
    /// A successful reply as a server writes it (no frame length): `ReplyHeader {xid, zxid, err 0}`, then
    /// the body exactly as ZooKeeper sends it in reply to `opCode` (`encode(into:replyingTo:)`).
    public func writeReply(xid: Int32, zxid: Int64, replyingTo opCode: OpCode, into buffer: inout ByteBuffer) {
        ReplyHeader(xid: xid, zxid: zxid, err: .ok).encode(into: &buffer)
        encode(into: &buffer, replyingTo: opCode)
    }

    /// A failed reply as a server writes it (no frame length): `ReplyHeader {xid, zxid, err}` and no body.
    public static func writeErrorReply(xid: Int32, zxid: Int64, error: ErrorCode, into buffer: inout ByteBuffer) {
        ReplyHeader(xid: xid, zxid: zxid, err: error).encode(into: &buffer)
    }
}

extension WatcherEvent {
    /// A watch notification as a server writes it (no frame length): `ReplyHeader {xid -1, zxid -1, err 0}`,
    /// then the event.
    public func writeNotification(into buffer: inout ByteBuffer) {
        ReplyHeader(xid: SpecialXid.notification, zxid: -1, err: .ok).encode(into: &buffer)
        encode(into: &buffer)
    }
}
