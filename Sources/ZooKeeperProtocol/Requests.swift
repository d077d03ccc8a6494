import NIOCore

/// The body of create (1), create2 (15), createContainer (19) and createTTL (21).
public struct CreateRequest: Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var mode: CreateMode
    /// Milliseconds; written only for createTTL.
    public var ttl: Int64

    public init(
        path: String,
        data: [UInt8]?,
        acl: [ACL] = ACL.openUnsafe,
        mode: CreateMode = .persistent,
        ttl: Int64 = 0
    ) {
        self.path = path
        self.data = data
        self.acl = acl
        self.mode = mode
        self.ttl = ttl
    }

    public func encode(into buffer: inout ByteBuffer, withTTL: Bool) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteRecordVector(acl)
        buffer.writeJuteInt(mode.rawValue)
        if withTTL { buffer.writeJuteLong(ttl) }
    }

    public init(from buffer: inout ByteBuffer, withTTL: Bool) throws(JuteDecodingError) {
        path = try buffer.readJuteNonNullString("CreateRequest.path")
        data = try buffer.readJuteBuffer("CreateRequest.data")
        acl = try buffer.readJuteRecordVector(ACL.self, "CreateRequest.acl", minimumRecordSize: 12) ?? []
        mode = CreateMode(try buffer.readJuteInt("CreateRequest.flags"))
        ttl = withTTL ? try buffer.readJuteLong("CreateTTLRequest.ttl") : 0
    }
}

/// `ReconfigRequest` (opcode 16). Standalone servers refuse it; carried so the codec is complete.
public struct ReconfigRequest: Hashable, Sendable {
    public var joiningServers: String?
    public var leavingServers: String?
    public var newMembers: String?
    public var curConfigId: Int64

    public init(joiningServers: String?, leavingServers: String?, newMembers: String?, curConfigId: Int64) {
        self.joiningServers = joiningServers
        self.leavingServers = leavingServers
        self.newMembers = newMembers
        self.curConfigId = curConfigId
    }
}

/// Every request a client can send after the handshake, with its body.
public enum ZooKeeperRequest: Hashable, Sendable {
    /// `opCode` is one of create, create2, createContainer, createTTL.
    case create(CreateRequest, opCode: OpCode)
    case delete(path: String, version: Int32)
    case exists(path: String, watch: Bool)
    case getData(path: String, watch: Bool)
    case setData(path: String, data: [UInt8]?, version: Int32)
    case getACL(path: String)
    case setACL(path: String, acl: [ACL], version: Int32)
    case getChildren(path: String, watch: Bool)
    case getChildren2(path: String, watch: Bool)
    case sync(path: String)
    case check(path: String, version: Int32)
    case multi([MultiOperation])
    case multiRead([MultiOperation])
    case reconfig(ReconfigRequest)
    case checkWatches(path: String, type: WatcherType)
    case removeWatches(path: String, type: WatcherType)
    case setWatches(SetWatchesRequest)
    case setWatches2(SetWatches2Request)
    case getEphemerals(prefixPath: String)
    case getAllChildrenNumber(path: String)
    case addWatch(path: String, mode: AddWatchMode)
    case whoAmI
    case ping
    case auth(AuthPacket)
    case sasl(token: [UInt8]?)
    case closeSession

    public var opCode: OpCode {
        switch self {
        case .create(_, let op): op
        case .delete: .delete
        case .exists: .exists
        case .getData: .getData
        case .setData: .setData
        case .getACL: .getACL
        case .setACL: .setACL
        case .getChildren: .getChildren
        case .getChildren2: .getChildren2
        case .sync: .sync
        case .check: .check
        case .multi: .multi
        case .multiRead: .multiRead
        case .reconfig: .reconfig
        case .checkWatches: .checkWatches
        case .removeWatches: .removeWatches
        case .setWatches: .setWatches
        case .setWatches2: .setWatches2
        case .getEphemerals: .getEphemerals
        case .getAllChildrenNumber: .getAllChildrenNumber
        case .addWatch: .addWatch
        case .whoAmI: .whoAmI
        case .ping: .ping
        case .auth: .auth
        case .sasl: .sasl
        case .closeSession: .closeSession
        }
    }

    /// The path the request names, if any (for error messages and chroot handling).
    public var path: String? {
        switch self {
        case .create(let c, _): c.path
        case .delete(let p, _), .exists(let p, _), .getData(let p, _), .setData(let p, _, _), .getACL(let p),
            .setACL(let p, _, _), .getChildren(let p, _), .getChildren2(let p, _), .sync(let p), .check(let p, _),
            .checkWatches(let p, _), .removeWatches(let p, _), .getEphemerals(let p), .getAllChildrenNumber(let p),
            .addWatch(let p, _):
            p
        default: nil
        }
    }

    /// Writes the body (no header, no frame length).
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .create(let c, let op):
            c.encode(into: &buffer, withTTL: op == .createTTL)
        case .delete(let path, let version), .check(let path, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteInt(version)
        case .exists(let path, let watch), .getData(let path, let watch), .getChildren(let path, let watch),
            .getChildren2(let path, let watch):
            buffer.writeJuteString(path)
            buffer.writeJuteBool(watch)
        case .setData(let path, let data, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeJuteInt(version)
        case .getACL(let path), .sync(let path), .getAllChildrenNumber(let path):
            buffer.writeJuteString(path)
        case .getEphemerals(let prefix):
            buffer.writeJuteString(prefix)
        case .setACL(let path, let acl, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteRecordVector(acl)
            buffer.writeJuteInt(version)
        case .multi(let ops), .multiRead(let ops):
            MultiOperation.encode(ops, into: &buffer)
        case .reconfig(let r):
            buffer.writeJuteString(r.joiningServers)
            buffer.writeJuteString(r.leavingServers)
            buffer.writeJuteString(r.newMembers)
            buffer.writeJuteLong(r.curConfigId)
        case .checkWatches(let path, let type), .removeWatches(let path, let type):
            buffer.writeJuteString(path)
            buffer.writeJuteInt(type.rawValue)
        case .setWatches(let s):
            s.encode(into: &buffer)
        case .setWatches2(let s):
            s.encode(into: &buffer)
        case .addWatch(let path, let mode):
            buffer.writeJuteString(path)
            buffer.writeJuteInt(mode.rawValue)
        case .auth(let a):
            a.encode(into: &buffer)
        case .sasl(let token):
            buffer.writeJuteBuffer(token)
        case .whoAmI, .ping, .closeSession:
            break
        }
    }

    /// Writes a whole frame: length, header, body.
    public func encodeFrame(xid: Int32, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeJuteInt(0)
        RequestHeader(xid: xid, type: opCode).encode(into: &buffer)
        encodeBody(into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start - 4), at: start, endianness: .big)
    }

    /// Reads a request body for `opCode`. Throws `.unknownOpCode` for opcodes a client may not send.
    public static func decode(
        opCode: OpCode,
        from buffer: inout ByteBuffer
    ) throws(JuteDecodingError) -> ZooKeeperRequest {
        switch opCode {
        case .create, .create2, .createContainer, .createTTL:
            return .create(try CreateRequest(from: &buffer, withTTL: opCode == .createTTL), opCode: opCode)
        case .delete:
            return .delete(
                path: try buffer.readJuteNonNullString("DeleteRequest.path"),
                version: try buffer.readJuteInt("DeleteRequest.version")
            )
        case .check:
            return .check(
                path: try buffer.readJuteNonNullString("CheckVersionRequest.path"),
                version: try buffer.readJuteInt("CheckVersionRequest.version")
            )
        case .exists:
            return .exists(
                path: try buffer.readJuteNonNullString("ExistsRequest.path"),
                watch: try buffer.readJuteBool("ExistsRequest.watch")
            )
        case .getData:
            return .getData(
                path: try buffer.readJuteNonNullString("GetDataRequest.path"),
                watch: try buffer.readJuteBool("GetDataRequest.watch")
            )
        case .getChildren:
            return .getChildren(
                path: try buffer.readJuteNonNullString("GetChildrenRequest.path"),
                watch: try buffer.readJuteBool("GetChildrenRequest.watch")
            )
        case .getChildren2:
            return .getChildren2(
                path: try buffer.readJuteNonNullString("GetChildren2Request.path"),
                watch: try buffer.readJuteBool("GetChildren2Request.watch")
            )
        case .setData:
            return .setData(
                path: try buffer.readJuteNonNullString("SetDataRequest.path"),
                data: try buffer.readJuteBuffer("SetDataRequest.data"),
                version: try buffer.readJuteInt("SetDataRequest.version")
            )
        case .getACL:
            return .getACL(path: try buffer.readJuteNonNullString("GetACLRequest.path"))
        case .sync:
            return .sync(path: try buffer.readJuteNonNullString("SyncRequest.path"))
        case .getAllChildrenNumber:
            return .getAllChildrenNumber(path: try buffer.readJuteNonNullString("GetAllChildrenNumberRequest.path"))
        case .getEphemerals:
            return .getEphemerals(prefixPath: try buffer.readJuteNonNullString("GetEphemeralsRequest.prefixPath"))
        case .setACL:
            return .setACL(
                path: try buffer.readJuteNonNullString("SetACLRequest.path"),
                acl: try buffer.readJuteRecordVector(ACL.self, "SetACLRequest.acl", minimumRecordSize: 12) ?? [],
                version: try buffer.readJuteInt("SetACLRequest.version")
            )
        case .multi:
            return .multi(try MultiOperation.decodeAll(from: &buffer, readOnly: false))
        case .multiRead:
            return .multiRead(try MultiOperation.decodeAll(from: &buffer, readOnly: true))
        case .reconfig:
            return .reconfig(
                ReconfigRequest(
                    joiningServers: try buffer.readJuteString("ReconfigRequest.joiningServers"),
                    leavingServers: try buffer.readJuteString("ReconfigRequest.leavingServers"),
                    newMembers: try buffer.readJuteString("ReconfigRequest.newMembers"),
                    curConfigId: try buffer.readJuteLong("ReconfigRequest.curConfigId")
                )
            )
        case .checkWatches:
            return .checkWatches(
                path: try buffer.readJuteNonNullString("CheckWatchesRequest.path"),
                type: WatcherType(try buffer.readJuteInt("CheckWatchesRequest.type"))
            )
        case .removeWatches:
            return .removeWatches(
                path: try buffer.readJuteNonNullString("RemoveWatchesRequest.path"),
                type: WatcherType(try buffer.readJuteInt("RemoveWatchesRequest.type"))
            )
        case .setWatches:
            return .setWatches(try SetWatchesRequest(from: &buffer))
        case .setWatches2:
            return .setWatches2(try SetWatches2Request(from: &buffer))
        case .addWatch:
            return .addWatch(
                path: try buffer.readJuteNonNullString("AddWatchRequest.path"),
                mode: AddWatchMode(try buffer.readJuteInt("AddWatchRequest.mode"))
            )
        case .whoAmI:
            return .whoAmI
        case .ping:
            return .ping
        case .closeSession:
            return .closeSession
        case .auth:
            return .auth(try AuthPacket(from: &buffer))
        case .sasl:
            return .sasl(token: try buffer.readJuteBuffer("GetSASLRequest.token"))
        default:
            throw JuteDecodingError(.unknownOpCode(opCode.rawValue), field: "RequestHeader.type")
        }
    }
}
