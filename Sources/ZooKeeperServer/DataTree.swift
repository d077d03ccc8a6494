import ZooKeeperProtocol

/// A request failed with a ZooKeeper error code (the reply carries the header alone).
struct OperationError: Error, Equatable {
    var code: ErrorCode
    init(_ code: ErrorCode) { self.code = code }
}

/// A change that watches may need to hear about, produced by a mutation.
struct TreeChange: Equatable {
    var path: String
    var type: EventType
}

/// The znode hierarchy with ZooKeeper's bookkeeping: Stat fields, sequential names, ephemerals per
/// session, containers, TTL nodes and ACLs, checked in the order `PrepRequestProcessor` checks them
/// so the first failing rule decides the error code. Not thread-safe: one serial owner drives it.
final class DataTree {
    private(set) var nodes: [String: Znode] = [:]
    private(set) var acls = ACLTable()
    private(set) var ephemerals: [Int64: Set<String>] = [:]
    private(set) var containers: Set<String> = []
    private(set) var ttlNodes: Set<String> = []
    /// Sum of path lengths and data lengths, as ZooKeeper's `approximateDataSize`.
    private(set) var approximateDataSize = 0
    /// Changes for the watch registry, in order; the owner drains them after each request.
    var changes: [TreeChange] = []
    /// The ACL schemes beyond ip and digest this server has a provider for (`AuthenticationPolicy`).
    var secureACLSchemes: Set<String> = []

    /// Nodes clients may not delete (`ZKDatabase.isSpecialPath`).
    static let specialPaths: Set<String> = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]

    private enum Undo {
        case node(String, Znode?)
        case ephemeral(session: Int64, path: String, added: Bool)
        case container(String, added: Bool)
        case ttl(String, added: Bool)
        case dataSize(Int)
    }

    private var undoLog: [Undo]?

    init() {
        let open = acls.intern(ACL.openUnsafe)
        let readOnly = acls.intern(ACL.readUnsafe)
        func builtIn(_ children: Set<String>, acl: Int32, aversion: Int32 = 0) -> Znode {
            Znode(
                data: [],
                czxid: 0,
                mzxid: 0,
                pzxid: 0,
                ctime: 0,
                mtime: 0,
                version: 0,
                cversion: 0,
                aversion: aversion,
                aclID: acl,
                owner: 0,
                children: children
            )
        }
        nodes["/"] = builtIn(["zookeeper"], acl: open)
        nodes["/zookeeper"] = builtIn(["quota", "config"], acl: open)
        nodes["/zookeeper/quota"] = builtIn([], acl: open)
        nodes["/zookeeper/config"] = builtIn([], acl: readOnly, aversion: -1)
        approximateDataSize =
            1 + "/zookeeper".utf8.count + "/zookeeper/quota".utf8.count + "/zookeeper/config".utf8.count
    }

    /// Nodes as ZooKeeper counts them (its root is stored under both "" and "/").
    var nodeCount: Int { nodes.count + 1 }

    var ephemeralCount: Int { ephemerals.values.reduce(0) { $0 + $1.count } }

    subscript(path: String) -> Znode? { nodes[path] }

    func acl(of node: Znode) -> [ACL] { acls[node.aclID] }

    // MARK: - Multi support

    /// Starts recording how to undo every mutation (multi is all or nothing).
    func beginTransaction() { undoLog = [] }

    /// Keeps the mutations made since `beginTransaction`.
    func commitTransaction() { undoLog = nil }

    /// Undoes every mutation made since `beginTransaction`, newest first, and drops their changes.
    func rollbackTransaction(changesBefore: Int) {
        guard let log = undoLog else { return }
        undoLog = nil
        for entry in log.reversed() {
            switch entry {
            case .node(let path, let previous): nodes[path] = previous
            case .ephemeral(let session, let path, let added):
                if added { removeEphemeral(session, path) } else { ephemerals[session, default: []].insert(path) }
            case .container(let path, let added):
                if added { containers.remove(path) } else { containers.insert(path) }
            case .ttl(let path, let added):
                if added { ttlNodes.remove(path) } else { ttlNodes.insert(path) }
            case .dataSize(let size): approximateDataSize = size
            }
        }
        changes.removeSubrange(changesBefore...)
    }

    private func remember(_ path: String) {
        if undoLog != nil { undoLog!.append(.node(path, nodes[path])) }
    }

    private func rememberDataSize() {
        if undoLog != nil { undoLog!.append(.dataSize(approximateDataSize)) }
    }

    // MARK: - Writes

    /// Creates a node (create, create2, createContainer, createTTL) and returns its actual path.
    func create(
        _ requestedPath: String,
        data: [UInt8]?,
        acl: [ACL],
        mode: CreateMode,
        opCode: OpCode,
        ttl: Int64,
        session: Int64,
        identities: [Id],
        zxid: Int64,
        time: Int64
    ) throws(OperationError) -> String {
        guard mode.isValid else { throw OperationError(.badArguments) }
        let ttlValue = opCode == .createTTL ? ttl : -1
        if mode.isTTL {
            guard ttlValue > 0, ttlValue <= ZnodeKind.maxTTL else { throw OperationError(.badArguments) }
        } else if ttlValue >= 0 {
            throw OperationError(.badArguments)
        }
        guard let lastSlash = requestedPath.utf8.lastIndex(of: UInt8(ascii: "/")), !requestedPath.utf8.contains(0)
        else { throw OperationError(.badArguments) }
        let parentPath = lastSlash == requestedPath.utf8.startIndex ? "/" : String(requestedPath[..<lastSlash])
        guard let fixedACL = AccessControl.fixup(acl, identities: identities, secureSchemes: secureACLSchemes) else {
            throw OperationError(.invalidACL)
        }
        guard let parent = nodes[parentPath] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[parent.aclID], .create, identities: identities) else {
            throw OperationError(.noAuth)
        }
        var path = requestedPath
        if mode.isSequential { path += Self.sequenceSuffix(parent.cversion) }
        guard Self.isValidPath(path) else { throw OperationError(.badArguments) }
        if nodes[path] != nil || path == "/" { throw OperationError(.nodeExists) }
        if parent.kind == .ephemeral { throw OperationError(.noChildrenForEphemerals) }

        let owner: Int64
        if mode.isContainer || opCode == .createContainer {
            owner = ZnodeKind.containerOwner
        } else if mode.isTTL {
            owner = ZnodeKind.ttlMarker | ttlValue
        } else if mode.isEphemeral {
            owner = session
        } else {
            owner = 0
        }
        let name = String(path[path.utf8.index(after: path.utf8.lastIndex(of: UInt8(ascii: "/"))!)...])
        remember(parentPath)
        nodes[parentPath]!.children.insert(name)
        nodes[parentPath]!.cversion &+= 1
        nodes[parentPath]!.pzxid = zxid
        remember(path)
        nodes[path] = Znode(
            data: data,
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            aclID: acls.intern(fixedACL),
            owner: owner,
            children: []
        )
        rememberDataSize()
        approximateDataSize += path.utf8.count + (data?.count ?? 0)
        switch ZnodeKind(owner: owner) {
        case .ephemeral:
            ephemerals[owner, default: []].insert(path)
            undoLog?.append(.ephemeral(session: owner, path: path, added: true))
        case .container:
            containers.insert(path)
            undoLog?.append(.container(path, added: true))
        case .ttl:
            ttlNodes.insert(path)
            undoLog?.append(.ttl(path, added: true))
        case .persistent:
            break
        }
        changes.append(TreeChange(path: path, type: .nodeCreated))
        changes.append(TreeChange(path: parentPath, type: .nodeChildrenChanged))
        return path
    }

    /// `PathUtils.validatePath` without allocating (the write hot path checks every path): absolute,
    /// no empty, "." or ".." segment, no trailing slash, no NUL or control characters.
    static func isValidPath(_ path: String) -> Bool {
        var scalars = path.unicodeScalars.makeIterator()
        guard scalars.next() == "/" else { return false }
        var isRoot = true
        var segmentLength = 0
        var segmentDots = 0
        while let c = scalars.next() {
            isRoot = false
            if c == "/" {
                if segmentLength == 0 || (segmentDots == segmentLength && segmentLength <= 2) { return false }
                segmentLength = 0
                segmentDots = 0
                continue
            }
            let v = c.value
            if v == 0 || (v <= 0x1f) || (v >= 0x7f && v <= 0x9f) || (v >= 0xd800 && v <= 0xf8ff)
                || (v >= 0xfff0 && v <= 0xffff)
            {
                return false
            }
            segmentLength += 1
            if c == "." { segmentDots += 1 }
        }
        if isRoot { return true }
        return segmentLength > 0 && !(segmentDots == segmentLength && segmentLength <= 2)
    }

    static func sequenceSuffix(_ counter: Int32) -> String {
        let digits = String(counter)
        if counter < 0 { return digits }
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    func delete(_ path: String, version: Int32, identities: [Id], zxid: Int64) throws(OperationError) {
        // ZooKeeper 3.8 checks only for a slash, NUL and the built-in nodes here (seen: deleting
        // "/a/" answers NONODE, not BADARGUMENTS).
        guard let lastSlash = path.utf8.lastIndex(of: UInt8(ascii: "/")), !path.utf8.contains(0),
            !Self.specialPaths.contains(path)
        else { throw OperationError(.badArguments) }
        let parentPath = lastSlash == path.utf8.startIndex ? "/" : String(path[..<lastSlash])
        guard let parent = nodes[parentPath] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[parent.aclID], .delete, identities: identities) else {
            throw OperationError(.noAuth)
        }
        guard let node = nodes[path] else { throw OperationError(.noNode) }
        if version != -1 && version != node.version { throw OperationError(.badVersion) }
        if !node.children.isEmpty { throw OperationError(.notEmpty) }
        removeNode(path, node: node, parentPath: parentPath, zxid: zxid)
    }

    /// Deletes a childless node without ACL or version checks (session close, container and TTL sweeps).
    func removeNode(_ path: String, zxid: Int64) {
        guard let node = nodes[path], node.children.isEmpty else { return }
        removeNode(path, node: node, parentPath: ZooKeeperPath.parent(of: path), zxid: zxid)
    }

    private func removeNode(_ path: String, node: Znode, parentPath: String, zxid: Int64) {
        remember(path)
        nodes[path] = nil
        remember(parentPath)
        nodes[parentPath]?.children.remove(ZooKeeperPath.name(of: path))
        if let parentPzxid = nodes[parentPath]?.pzxid, zxid > parentPzxid { nodes[parentPath]!.pzxid = zxid }
        rememberDataSize()
        approximateDataSize -= path.utf8.count + (node.data?.count ?? 0)
        switch node.kind {
        case .ephemeral:
            removeEphemeral(node.owner, path)
            undoLog?.append(.ephemeral(session: node.owner, path: path, added: false))
        case .container:
            containers.remove(path)
            undoLog?.append(.container(path, added: false))
        case .ttl:
            ttlNodes.remove(path)
            undoLog?.append(.ttl(path, added: false))
        case .persistent:
            break
        }
        changes.append(TreeChange(path: path, type: .nodeDeleted))
        changes.append(TreeChange(path: parentPath, type: .nodeChildrenChanged))
    }

    private func removeEphemeral(_ session: Int64, _ path: String) {
        ephemerals[session]?.remove(path)
        if ephemerals[session]?.isEmpty == true { ephemerals[session] = nil }
    }

    func setData(
        _ path: String,
        data: [UInt8]?,
        version: Int32,
        identities: [Id],
        zxid: Int64,
        time: Int64
    )
        throws(OperationError) -> Stat
    {
        guard Self.isValidPath(path) else { throw OperationError(.badArguments) }
        guard let node = nodes[path] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[node.aclID], .write, identities: identities) else {
            throw OperationError(.noAuth)
        }
        if version != -1 && version != node.version { throw OperationError(.badVersion) }
        remember(path)
        rememberDataSize()
        approximateDataSize += (data?.count ?? 0) - (node.data?.count ?? 0)
        return modify(path) { node in
            node.data = data
            node.version &+= 1
            node.mzxid = zxid
            node.mtime = time
            changes.append(TreeChange(path: path, type: .nodeDataChanged))
            return node.stat
        }
    }

    func setACL(_ path: String, acl: [ACL], version: Int32, identities: [Id]) throws(OperationError) -> Stat {
        guard Self.isValidPath(path) else { throw OperationError(.badArguments) }
        guard let fixedACL = AccessControl.fixup(acl, identities: identities, secureSchemes: secureACLSchemes) else {
            throw OperationError(.invalidACL)
        }
        guard let node = nodes[path] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[node.aclID], .admin, identities: identities) else {
            throw OperationError(.noAuth)
        }
        if version != -1 && version != node.aversion { throw OperationError(.badVersion) }
        remember(path)
        let aclID = acls.intern(fixedACL)
        return modify(path) { node in
            node.aclID = aclID
            node.aversion &+= 1
            return node.stat
        }
    }

    /// The version check of multi's `check` op.
    func check(_ path: String, version: Int32, identities: [Id]) throws(OperationError) {
        guard Self.isValidPath(path) else { throw OperationError(.badArguments) }
        guard let node = nodes[path] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[node.aclID], .read, identities: identities) else {
            throw OperationError(.noAuth)
        }
        if version != -1 && version != node.version { throw OperationError(.badVersion) }
    }

    private func modify<R>(_ path: String, _ body: (inout Znode) -> R) -> R {
        body(&nodes[path]!)
    }

    // MARK: - Reads

    /// The node if it exists and `identities` may read it.
    func readable(_ path: String, identities: [Id], permission: Permissions = .read) throws(OperationError) -> Znode {
        guard let node = nodes[path] else { throw OperationError(.noNode) }
        guard AccessControl.allows(acls[node.aclID], permission, identities: identities) else {
            throw OperationError(.noAuth)
        }
        return node
    }

    /// Every descendant of `path`, not counting `path` itself.
    func descendantCount(of path: String) -> Int {
        guard nodes[path] != nil else { return 0 }
        var count = 0
        var stack: [String] = [path]
        while let current = stack.popLast() {
            guard let children = nodes[current]?.children else { continue }
            count += children.count
            for child in children { stack.append(ZooKeeperPath.join(current, child)) }
        }
        return count
    }

    /// The session's ephemerals whose path starts with `prefix` ("/" means all).
    func ephemerals(of session: Int64, prefix: String) -> [String] {
        guard let paths = ephemerals[session] else { return [] }
        if prefix == "/" { return Array(paths) }
        return paths.filter { $0.hasPrefix(prefix) }
    }

    // MARK: - Sweeps

    /// Containers that had children and have none, and TTL nodes past their TTL with no children
    /// (`ContainerManager.getCandidates`).
    func sweepCandidates(now: Int64) -> [String] {
        var candidates: [String] = []
        for path in containers {
            if let node = nodes[path], node.cversion > 0, node.children.isEmpty { candidates.append(path) }
        }
        for path in ttlNodes {
            if let node = nodes[path], node.children.isEmpty, case .ttl(let ttl) = node.kind, now - node.mtime > ttl {
                candidates.append(path)
            }
        }
        return candidates
    }
}

extension Znode {
    /// The client-visible cversion: ZooKeeper counts creates internally and reports changes
    /// (`DataNode.copyStat`: cversion * 2 - numChildren).
    var visibleCversion: Int32 { cversion &* 2 &- Int32(children.count) }
}
