import ZooKeeperProtocol

/// One znode as the data tree keeps it: compact, value-typed, no back reference to the request
/// that created it (the data is copied out of the receive buffer).
struct Znode {
    var data: [UInt8]?
    var czxid: Int64
    var mzxid: Int64
    var pzxid: Int64
    var ctime: Int64
    var mtime: Int64
    var version: Int32
    var cversion: Int32
    var aversion: Int32
    /// Index into the data tree's interned ACL lists.
    var aclID: Int32
    /// ZooKeeper's internal `ephemeralOwner` encoding: a session id for ephemerals, `containerOwner`
    /// for containers, `ttlMarker | ttl` for TTL nodes, 0 for plain persistent nodes.
    var owner: Int64
    var children: Set<String>

    var kind: ZnodeKind { ZnodeKind(owner: owner) }

    /// The Stat a client sees: containers and TTL nodes show ephemeralOwner 0.
    var stat: Stat {
        Stat(
            czxid: czxid,
            mzxid: mzxid,
            ctime: ctime,
            mtime: mtime,
            version: version,
            cversion: visibleCversion,
            aversion: aversion,
            ephemeralOwner: kind == .ephemeral ? owner : 0,
            dataLength: Int32(data?.count ?? 0),
            numChildren: Int32(children.count),
            pzxid: pzxid
        )
    }
}

/// What `Znode.owner` says a node is (ZooKeeper's `EphemeralType`).
enum ZnodeKind: Equatable {
    case persistent
    case ephemeral
    case container
    case ttl(Int64)

    /// `Long.MIN_VALUE`, as ZooKeeper marks containers.
    static let containerOwner = Int64.min
    /// The top byte ZooKeeper sets for TTL nodes when extended types are enabled.
    static let ttlMarker = Int64(bitPattern: 0xFF00_0000_0000_0000)
    /// Largest TTL the owner field can carry (`EphemeralType.TTL.maxValue()`).
    static let maxTTL: Int64 = 0x0000_00FF_FFFF_FFFF

    init(owner: Int64) {
        if owner == 0 {
            self = .persistent
        } else if owner == Self.containerOwner {
            self = .container
        } else if owner & Self.ttlMarker == Self.ttlMarker {
            self = .ttl(owner & Self.maxTTL)
        } else {
            self = .ephemeral
        }
    }
}

/// Interned ACL lists: most nodes share a handful, so each node stores a 4-byte index.
struct ACLTable {
    private(set) var lists: [[ACL]] = []
    private var index: [[ACL]: Int32] = [:]

    mutating func intern(_ acl: [ACL]) -> Int32 {
        if let id = index[acl] { return id }
        let id = Int32(lists.count)
        lists.append(acl)
        index[acl] = id
        return id
    }

    subscript(id: Int32) -> [ACL] { lists[Int(id)] }
}
