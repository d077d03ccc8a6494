import NIOCore

/// A znode's metadata: 68 bytes on the wire.
public struct Stat: JuteRecord, Hashable {
    public var czxid: Int64
    public var mzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var cversion: Int32
    public var aversion: Int32
    public var ephemeralOwner: Int64
    public var dataLength: Int32
    public var numChildren: Int32
    public var pzxid: Int64

    public static let encodedSize = 68

    public init(
        czxid: Int64 = 0,
        mzxid: Int64 = 0,
        ctime: Int64 = 0,
        mtime: Int64 = 0,
        version: Int32 = 0,
        cversion: Int32 = 0,
        aversion: Int32 = 0,
        ephemeralOwner: Int64 = 0,
        dataLength: Int32 = 0,
        numChildren: Int32 = 0,
        pzxid: Int64 = 0
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }

    @inlinable
    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        guard
            let (czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, dataLength, numChildren, pzxid) =
                buffer.readMultipleIntegers(
                    endianness: .big,
                    as: (Int64, Int64, Int64, Int64, Int32, Int32, Int32, Int64, Int32, Int32, Int64).self
                )
        else { throw JuteDecodingError(.truncated, field: "Stat") }
        self.init(
            czxid: czxid,
            mzxid: mzxid,
            ctime: ctime,
            mtime: mtime,
            version: version,
            cversion: cversion,
            aversion: aversion,
            ephemeralOwner: owner,
            dataLength: dataLength,
            numChildren: numChildren,
            pzxid: pzxid
        )
    }

    @inlinable
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(
            czxid,
            mzxid,
            ctime,
            mtime,
            version,
            cversion,
            aversion,
            ephemeralOwner,
            dataLength,
            numChildren,
            pzxid,
            endianness: .big
        )
    }
}

/// An identity in an ACL: scheme and id (`world:anyone`, `digest:user:hash`, `ip:127.0.0.1`, `auth:`).
public struct Id: JuteRecord, Hashable {
    public var scheme: String
    public var id: String

    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    public static let anyone = Id(scheme: "world", id: "anyone")
    public static let authIds = Id(scheme: "auth", id: "")

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        scheme = try buffer.readJuteNonNullString("Id.scheme")
        id = try buffer.readJuteNonNullString("Id.id")
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(scheme)
        buffer.writeJuteString(id)
    }
}

/// Permission bits of an ACL entry.
public struct Permissions: OptionSet, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let create = Permissions(rawValue: 4)
    public static let delete = Permissions(rawValue: 8)
    public static let admin = Permissions(rawValue: 16)
    public static let all: Permissions = [.read, .write, .create, .delete, .admin]
}

public struct ACL: JuteRecord, Hashable {
    public var perms: Permissions
    public var id: Id

    public init(perms: Permissions, id: Id) {
        self.perms = perms
        self.id = id
    }

    /// `[(ALL, world:anyone)]`.
    public static let openUnsafe: [ACL] = [ACL(perms: .all, id: .anyone)]
    /// `[(ALL, auth:)]`: every identity the creating session authenticated as.
    public static let creatorAll: [ACL] = [ACL(perms: .all, id: .authIds)]
    /// `[(READ, world:anyone)]`.
    public static let readUnsafe: [ACL] = [ACL(perms: .read, id: .anyone)]

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        perms = Permissions(rawValue: try buffer.readJuteInt("ACL.perms"))
        id = try Id(from: &buffer)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(perms.rawValue)
        id.encode(into: &buffer)
    }
}

/// Flags of a create request.
public struct CreateMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let persistent = CreateMode(0)
    public static let ephemeral = CreateMode(1)
    public static let persistentSequential = CreateMode(2)
    public static let ephemeralSequential = CreateMode(3)
    public static let container = CreateMode(4)
    public static let persistentWithTTL = CreateMode(5)
    public static let persistentSequentialWithTTL = CreateMode(6)

    public var isValid: Bool { (0...6).contains(rawValue) }
    public var isEphemeral: Bool { self == .ephemeral || self == .ephemeralSequential }
    public var isSequential: Bool {
        self == .persistentSequential || self == .ephemeralSequential || self == .persistentSequentialWithTTL
    }
    public var isContainer: Bool { self == .container }
    public var isTTL: Bool { self == .persistentWithTTL || self == .persistentSequentialWithTTL }

    public var description: String {
        switch rawValue {
        case 0: "persistent"
        case 1: "ephemeral"
        case 2: "persistent-sequential"
        case 3: "ephemeral-sequential"
        case 4: "container"
        case 5: "persistent-ttl"
        case 6: "persistent-sequential-ttl"
        default: "CreateMode(\(rawValue))"
        }
    }
}
