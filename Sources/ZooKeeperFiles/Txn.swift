import NIOCore
import ZooKeeperProtocol

/// `TxnHeader`: who wrote the transaction, its zxid and the leader's wall clock when it was proposed.
public struct TxnHeader: Sendable, Hashable {
    public var clientId: Int64
    public var cxid: Int32
    public var zxid: Int64
    /// Milliseconds since the epoch, the leader's clock.
    public var time: Int64
    public var type: OpCode

    public init(clientId: Int64, cxid: Int32, zxid: Int64, time: Int64, type: OpCode) {
        self.clientId = clientId
        self.cxid = cxid
        self.zxid = zxid
        self.time = time
        self.type = type
    }

    static let encodedSize = 32

    init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        clientId = try buffer.readJuteLong("TxnHeader.clientId")
        cxid = try buffer.readJuteInt("TxnHeader.cxid")
        zxid = try buffer.readJuteLong("TxnHeader.zxid")
        time = try buffer.readJuteLong("TxnHeader.time")
        type = OpCode(try buffer.readJuteInt("TxnHeader.type"))
    }
}

/// A create as logged: the final path (sequential suffix included), data, ACL and kind.
public struct CreateTxn: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case persistentOrEphemeral
        case container
        case ttl(Int64)
    }

    public var path: String
    /// The node's data, sharing storage with the entry that holds it.
    public var data: ByteBuffer?
    public var acl: [ACL]
    public var ephemeral: Bool
    public var parentCVersion: Int32
    public var kind: Kind

    public var dataLength: Int { data?.readableBytes ?? 0 }
}

/// One logged change (the record after `TxnHeader`).
public indirect enum TxnRecord: Sendable, Hashable {
    case createSession(timeout: Int32)
    /// Ephemeral paths the close removed (nil when the server logged no `CloseSessionTxn`).
    case closeSession(pathsToDelete: [String]?)
    case create(CreateTxn)
    case delete(path: String)
    case setData(path: String, data: ByteBuffer?, version: Int32)
    case setACL(path: String, acl: [ACL], version: Int32)
    case check(path: String, version: Int32)
    case error(ErrorCode)
    case multi([TxnRecord])
    case reconfig(data: ByteBuffer?)
    /// A type this reader does not decode; the entry's bytes were still checksummed.
    case unknown(OpCode)

    /// The path a record writes, if it writes one.
    public var path: String? {
        switch self {
        case .create(let c): c.path
        case .delete(let p), .check(let p, _): p
        case .setData(let p, _, _), .setACL(let p, _, _): p
        default: nil
        }
    }

    /// A multi whose sub-transactions are error records: ZooKeeper logs a failed multi this way.
    public var isFailedMulti: Bool {
        guard case .multi(let ops) = self else { return false }
        return ops.contains { if case .error = $0 { true } else { false } }
    }

    /// Reads the record for `type` from the rest of `buffer` (a digest may follow).
    static func decode(type: OpCode, from buffer: inout ByteBuffer) throws(JuteDecodingError) -> TxnRecord {
        switch type {
        case .createSession:
            return .createSession(timeout: try buffer.readJuteInt("CreateSessionTxn.timeOut"))
        case .closeSession:
            // 3.8 logs CloseSessionTxn when closeSessionTxn.enabled (the default); older servers log nothing.
            if buffer.readableBytes == 0 || buffer.readableBytes == TxnDigest.encodedSize {
                return .closeSession(pathsToDelete: nil)
            }
            return .closeSession(pathsToDelete: try buffer.readJuteStringVector("CloseSessionTxn.paths2Delete"))
        case .create, .create2:
            let path = try buffer.readJuteNonNullString("CreateTxn.path")
            let data = try buffer.readJuteBufferSlice("CreateTxn.data")
            let acl = try buffer.readJuteRecordVector(ACL.self, "CreateTxn.acl", minimumRecordSize: 12) ?? []
            let ephemeral = try buffer.readJuteBool("CreateTxn.ephemeral")
            let parentCVersion = try buffer.readJuteInt("CreateTxn.parentCVersion")
            return .create(
                CreateTxn(
                    path: path,
                    data: data,
                    acl: acl,
                    ephemeral: ephemeral,
                    parentCVersion: parentCVersion,
                    kind: .persistentOrEphemeral
                )
            )
        case .createContainer, .createTTL:
            let path = try buffer.readJuteNonNullString("CreateTxn.path")
            let data = try buffer.readJuteBufferSlice("CreateTxn.data")
            let acl = try buffer.readJuteRecordVector(ACL.self, "CreateTxn.acl", minimumRecordSize: 12) ?? []
            let parentCVersion = try buffer.readJuteInt("CreateTxn.parentCVersion")
            let kind: CreateTxn.Kind =
                type == .createTTL ? .ttl(try buffer.readJuteLong("CreateTTLTxn.ttl")) : .container
            return .create(
                CreateTxn(
                    path: path,
                    data: data,
                    acl: acl,
                    ephemeral: false,
                    parentCVersion: parentCVersion,
                    kind: kind
                )
            )
        case .delete, .deleteContainer:
            return .delete(path: try buffer.readJuteNonNullString("DeleteTxn.path"))
        case .setData:
            let path = try buffer.readJuteNonNullString("SetDataTxn.path")
            let data = try buffer.readJuteBufferSlice("SetDataTxn.data")
            return .setData(path: path, data: data, version: try buffer.readJuteInt("SetDataTxn.version"))
        case .reconfig:
            _ = try buffer.readJuteNonNullString("SetDataTxn.path")
            let data = try buffer.readJuteBufferSlice("SetDataTxn.data")
            _ = try buffer.readJuteInt("SetDataTxn.version")
            return .reconfig(data: data)
        case .setACL:
            let path = try buffer.readJuteNonNullString("SetACLTxn.path")
            let acl = try buffer.readJuteRecordVector(ACL.self, "SetACLTxn.acl", minimumRecordSize: 12) ?? []
            return .setACL(path: path, acl: acl, version: try buffer.readJuteInt("SetACLTxn.version"))
        case .check:
            let path = try buffer.readJuteNonNullString("CheckVersionTxn.path")
            return .check(path: path, version: try buffer.readJuteInt("CheckVersionTxn.version"))
        case .error:
            return .error(ErrorCode(try buffer.readJuteInt("ErrorTxn.err")))
        case .multi:
            let count = try buffer.readJuteInt("MultiTxn.txns")
            if count < 0 { return .multi([]) }
            // Every sub-transaction takes at least 8 bytes (type + buffer length).
            guard Int(count) <= buffer.readableBytes / 8 else {
                throw JuteDecodingError(.lengthExceedsFrame(count), field: "MultiTxn.txns")
            }
            var ops: [TxnRecord] = []
            ops.reserveCapacity(Int(count))
            for _ in 0..<count {
                let subType = OpCode(try buffer.readJuteInt("Txn.type"))
                guard var body = try buffer.readJuteBufferSlice("Txn.data") else {
                    throw JuteDecodingError(.malformed("null body"), field: "Txn.data")
                }
                if subType == .multi {
                    throw JuteDecodingError(.malformed("a multi inside a multi"), field: "Txn.type")
                }
                ops.append(try decode(type: subType, from: &body))
            }
            return .multi(ops)
        default:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .unknown(type)
        }
    }
}

/// The digest of the data tree after a transaction (3.6+, `TxnDigest`), appended to the entry.
public struct TxnDigest: Sendable, Hashable {
    public var version: Int32
    public var treeDigest: Int64
    static let encodedSize = 12
}

/// One checksum-verified transaction-log entry.
public struct TxnLogEntry: Sendable, Hashable {
    public var header: TxnHeader
    public var record: TxnRecord
    public var digest: TxnDigest?
    /// Byte offset of the entry (its checksum) in the file.
    public var offset: Int64
    /// Bytes the entry takes in the file (checksum, length, payload and the 'B').
    public var size: Int

    /// Decodes a payload (header, record, optional digest); `offset` is only for errors.
    public static func decode(payload: ByteBuffer, offset: Int64, size: Int) throws(JuteDecodingError) -> TxnLogEntry {
        var buffer = payload
        let header = try TxnHeader(from: &buffer)
        let record = try TxnRecord.decode(type: header.type, from: &buffer)
        var digest: TxnDigest?
        if buffer.readableBytes >= TxnDigest.encodedSize {
            digest = TxnDigest(
                version: try buffer.readJuteInt("TxnDigest.version"),
                treeDigest: try buffer.readJuteLong("TxnDigest.treeDigest")
            )
        }
        return TxnLogEntry(header: header, record: record, digest: digest, offset: offset, size: size)
    }
}
