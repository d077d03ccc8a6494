import NIOCore
import ZooKeeperProtocol

/// The typed operations: each builds a request, sends it through `send(_:)` and unpacks the reply.
extension ZooKeeperClient {
    /// Creates a znode and returns the path the server gave it (with the sequence suffix for a sequential
    /// mode; the chroot stripped).
    ///
    /// On the wire: a plain mode (persistent, ephemeral and their sequential forms) sends the classic
    /// `create` (opcode 1, a `CreateRequest`: path, data, ACL, flags), which every server version answers;
    /// a container or a TTL goes through ``create2(_:data:acl:mode:ttl:)``.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot). A sequential mode may end in `/`.
    ///   - data: The value; at most ``ZooKeeperClient/maxValueSize`` bytes.
    ///   - acl: Who may do what; the default is `world:anyone` with every permission.
    ///   - mode: Persistent, ephemeral (removed with the session), sequential, container or TTL.
    ///   - ttl: Milliseconds without a change after which the server deletes the node; TTL modes only.
    /// - Returns: The created path.
    /// - Throws: ``ZooKeeperError``: `.nodeExists`, `.noNode` (no parent), `.noChildrenForEphemerals`, `.noAuth`,
    ///   `.invalidACL`; `.badArguments` before anything is sent for an invalid path, an oversize value or a
    ///   TTL without a TTL mode, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func create(
        _ path: String,
        data: [UInt8] = [],
        acl: [ACL] = ACL.openUnsafe,
        mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws -> String {
        // Plain modes use the classic create (opcode 1), which every server version answers.
        guard ttl == nil, !mode.isTTL, !mode.isContainer else {
            return try await create2(path, data: data, acl: acl, mode: mode, ttl: ttl).path
        }
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: mode), opCode: .create)
        )
        return try Self.created(response, path: path).path
    }

    /// Creates a znode and returns its path and its `Stat` in one round trip.
    ///
    /// On the wire: `create2` (opcode 15), `createContainer` (19) for `CreateMode.container`, or
    /// `createTTL` (21: the `CreateRequest` followed by the TTL as a long) when `ttl` is given. The reply
    /// is a `Create2Response`: the path and the new node's stat.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - data: The value; at most ``ZooKeeperClient/maxValueSize`` bytes.
    ///   - acl: Who may do what; the default is `world:anyone` with every permission.
    ///   - mode: The node's kind. A TTL mode needs `ttl`, and `ttl` needs a TTL mode.
    ///   - ttl: Milliseconds; the server must run with `zookeeper.extendedTypesEnabled=true`.
    /// - Returns: The created path and the new node's `Stat`.
    /// - Throws: ``ZooKeeperError``: as ``create(_:data:acl:mode:ttl:)``, and `.unimplemented` from a server without
    ///   extended types when a TTL is asked for, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func create2(
        _ path: String,
        data: [UInt8] = [],
        acl: [ACL] = ACL.openUnsafe,
        mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws -> (path: String, stat: Stat) {
        let opCode: OpCode
        if let ttl {
            guard mode.isTTL else {
                throw ZooKeeperError.badArguments(
                    "create \(path): a TTL needs mode persistentWithTTL or persistentSequentialWithTTL, not \(mode)",
                    path: path
                )
            }
            opCode = .createTTL
            let response = try await send(
                .create(CreateRequest(path: path, data: data, acl: acl, mode: mode, ttl: ttl), opCode: opCode)
            )
            return try Self.created(response, path: path)
        }
        if mode.isTTL {
            throw ZooKeeperError.badArguments("create \(path): mode \(mode) needs a ttl in milliseconds", path: path)
        }
        opCode = mode.isContainer ? .createContainer : .create2
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: mode), opCode: opCode)
        )
        return try Self.created(response, path: path)
    }

    /// Creates a container znode: the server deletes it some time after its last child is gone.
    ///
    /// On the wire: `createContainer` (opcode 19), a `CreateRequest` with flags 4; the reply is a
    /// `Create2Response`.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - data: The value; at most ``ZooKeeperClient/maxValueSize`` bytes.
    ///   - acl: Who may do what; the default is `world:anyone` with every permission.
    /// - Returns: The created path.
    /// - Throws: ``ZooKeeperError``: as ``create(_:data:acl:mode:ttl:)``, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func createContainer(_ path: String, data: [UInt8] = [], acl: [ACL] = ACL.openUnsafe) async throws -> String
    {
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: .container), opCode: .createContainer)
        )
        return try Self.created(response, path: path).path
    }

    /// Deletes a znode that has no children.
    ///
    /// On the wire: `delete` (opcode 2): the path and the expected version; the reply has no body.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - version: The version the node must have, or -1 for any.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.notEmpty`, `.badVersion`, `.noAuth`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func delete(_ path: String, version: Int32 = -1) async throws {
        _ = try await send(.delete(path: path, version: version))
    }

    /// The node's `Stat`, or nil when it does not exist.
    ///
    /// On the wire: `exists` (opcode 3): the path and the watch flag. A missing node comes back as NONODE,
    /// which this call returns as nil.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - watch: Sets a one-shot watch: a data watch when the node exists (it fires on a change or a
    ///     delete), an exist watch when it does not (it fires when the node is created).
    /// - Returns: The node's `Stat`, or nil.
    /// - Throws: ``ZooKeeperError``: `.noAuth`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func exists(_ path: String, watch: Bool = false) async throws -> Stat? {
        do {
            let response = try await send(.exists(path: path, watch: watch))
            guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "exists", path: path) }
            return stat
        } catch let error as ZooKeeperError where error.code == .noNode {
            return nil
        }
    }

    /// The node's value and `Stat`.
    ///
    /// On the wire: `getData` (opcode 4): the path and the watch flag; the reply is the value (a null value
    /// comes back as empty) and the stat.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - watch: Sets a one-shot data watch, which fires on the next change or delete. No watch is set
    ///     when the node does not exist.
    /// - Returns: The value and the node's `Stat`.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.noAuth`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getData(_ path: String, watch: Bool = false) async throws -> (data: [UInt8], stat: Stat) {
        let response = try await send(.getData(path: path, watch: watch))
        guard case .data(let data, let stat) = response else {
            throw Self.unexpected(response, op: "getData", path: path)
        }
        return (data ?? [], stat)
    }

    /// Replaces the node's value.
    ///
    /// On the wire: `setData` (opcode 5): the path, the value and the expected version; the reply is the new
    /// stat. Fires the data watches on the node.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - data: The new value; at most ``ZooKeeperClient/maxValueSize`` bytes.
    ///   - version: The version the node must have, or -1 for any.
    /// - Returns: The node's new `Stat`.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.badVersion`, `.noAuth`; `.badArguments` before sending for an
    ///   oversize value, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func setData(_ path: String, data: [UInt8], version: Int32 = -1) async throws -> Stat {
        let response = try await send(.setData(path: path, data: data, version: version))
        guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "setData", path: path) }
        return stat
    }

    /// The names of the node's children (not their paths), in the server's order.
    ///
    /// On the wire: `getChildren` (opcode 8): the path and the watch flag.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - watch: Sets a one-shot child watch, which fires when a child is created or deleted, or the node
    ///     itself is deleted (not when a child's value changes).
    /// - Returns: The children's names.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.noAuth`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getChildren(_ path: String, watch: Bool = false) async throws -> [String] {
        let response = try await send(.getChildren(path: path, watch: watch))
        guard case .children(let children) = response else {
            throw Self.unexpected(response, op: "getChildren", path: path)
        }
        return children
    }

    /// The names of the node's children and the node's `Stat`, in one round trip.
    ///
    /// On the wire: `getChildren2` (opcode 12): the path and the watch flag.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - watch: Sets a one-shot child watch, as ``getChildren(_:watch:)``.
    /// - Returns: The children's names and the node's `Stat`.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.noAuth`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getChildren2(_ path: String, watch: Bool = false) async throws -> (children: [String], stat: Stat) {
        let response = try await send(.getChildren2(path: path, watch: watch))
        guard case .children2(let children, let stat) = response else {
            throw Self.unexpected(response, op: "getChildren2", path: path)
        }
        return (children, stat)
    }

    /// The node's ACL and `Stat`.
    ///
    /// On the wire: `getACL` (opcode 6): the path.
    ///
    /// - Parameter path: The absolute path (within the chroot).
    /// - Returns: The ACL entries and the node's `Stat`.
    /// - Throws: ``ZooKeeperError``: `.noNode`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getACL(_ path: String) async throws -> (acl: [ACL], stat: Stat) {
        let response = try await send(.getACL(path: path))
        guard case .acl(let acl, let stat) = response else { throw Self.unexpected(response, op: "getACL", path: path) }
        return (acl, stat)
    }

    /// Replaces the node's ACL.
    ///
    /// On the wire: `setACL` (opcode 7): the path, the ACL and the expected ACL version (`aversion`).
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - acl: The new entries.
    ///   - version: The ACL version the node must have, or -1 for any.
    /// - Returns: The node's new `Stat`.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.badVersion`, `.noAuth`, `.invalidACL`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws -> Stat {
        let response = try await send(.setACL(path: path, acl: acl, version: version))
        guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "setACL", path: path) }
        return stat
    }

    /// Waits until the server this client talks to has caught up with the leader for `path`, so a read
    /// after it sees every write committed before it.
    ///
    /// On the wire: `sync` (opcode 9): the path; the reply echoes it.
    ///
    /// - Parameter path: The absolute path (within the chroot).
    /// - Throws: ``ZooKeeperError``: `.noNode`, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func sync(_ path: String) async throws {
        _ = try await send(.sync(path: path))
    }

    /// Runs the operations atomically: all of them, or none.
    ///
    /// On the wire: `multi` (opcode 14): each op as a `MultiHeader` and its body, then the end marker. A
    /// failing op does not throw: every result is then `.error`, the failing op with its code, the ops
    /// before it with OK (0) and the ops after it with RUNTIMEINCONSISTENCY (-2), and nothing changed.
    ///
    /// - Parameter ops: Creates, deletes, setData and version checks.
    /// - Returns: One result per op.
    /// - Throws: ``ZooKeeperError``: `.badArguments` before sending for an invalid path or an oversize
    ///   value in any op; the transport errors (`.connectionLoss`, `.operationTimeout`, `.sessionExpired`).
    public func multi(_ ops: [MultiOperation]) async throws -> [MultiResult] {
        let response = try await send(.multi(ops))
        guard case .multi(let results) = response else { throw Self.unexpected(response, op: "multi", path: nil) }
        return results
    }

    /// Reads several nodes in one round trip, not atomically.
    ///
    /// On the wire: `multiRead` (opcode 22), framed as `multi`; each failing op comes back as its own
    /// `.error`.
    ///
    /// - Parameter ops: `getData` and `getChildren` operations.
    /// - Returns: One result per op.
    /// - Throws: ``ZooKeeperError``: the transport errors (`.connectionLoss`, `.operationTimeout`,
    ///   `.sessionExpired`).
    public func multiRead(_ ops: [MultiOperation]) async throws -> [MultiResult] {
        let response = try await send(.multiRead(ops))
        guard case .multi(let results) = response else { throw Self.unexpected(response, op: "multiRead", path: nil) }
        return results
    }

    /// This session's ephemeral nodes whose path starts with `prefix`.
    ///
    /// On the wire: `getEphemerals` (opcode 103, ZooKeeper 3.6 and later): the prefix.
    ///
    /// - Parameter prefix: A path prefix (within the chroot); `/` for all.
    /// - Returns: The paths, chroot stripped.
    /// - Throws: ``ZooKeeperError``: `.unimplemented` from an older server, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getEphemerals(prefix: String = "/") async throws -> [String] {
        let response = try await send(.getEphemerals(prefixPath: prefix))
        guard case .ephemerals(let paths) = response else {
            throw Self.unexpected(response, op: "getEphemerals", path: prefix)
        }
        return paths
    }

    /// The number of all descendants of `path` (children, their children, and so on).
    ///
    /// On the wire: `getAllChildrenNumber` (opcode 104, ZooKeeper 3.6 and later): the path.
    ///
    /// - Parameter path: The absolute path (within the chroot).
    /// - Returns: The count, not including the node itself.
    /// - Throws: ``ZooKeeperError``: `.noNode`, `.unimplemented` from an older server, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func getAllChildrenNumber(_ path: String) async throws -> Int {
        let response = try await send(.getAllChildrenNumber(path: path))
        guard case .allChildrenNumber(let n) = response else {
            throw Self.unexpected(response, op: "getAllChildrenNumber", path: path)
        }
        return Int(n)
    }

    /// The identities the server has attached to this session (its address, and any added with
    /// ``addAuth(scheme:auth:)``).
    ///
    /// On the wire: `whoAmI` (opcode 107, ZooKeeper 3.7 and later), no body.
    ///
    /// - Returns: One entry per identity: the scheme and the id.
    /// - Throws: ``ZooKeeperError``: `.unimplemented` from an older server, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func whoAmI() async throws -> [ClientInfo] {
        let response = try await send(.whoAmI)
        guard case .whoAmI(let infos) = response else { throw Self.unexpected(response, op: "whoAmI", path: nil) }
        return infos
    }

    /// Adds an identity to this session, e.g. scheme `digest` with auth `user:password`. The client
    /// replays every accepted identity after a reconnect.
    ///
    /// On the wire: an `AuthPacket` (type 0, scheme, auth) with xid -4, not numbered like a request.
    ///
    /// - Parameters:
    ///   - scheme: The authentication scheme, e.g. `digest`.
    ///   - auth: The scheme's credential bytes.
    /// - Throws: ``ZooKeeperError``: `.authFailed` for a rejected scheme or credential (the server then
    ///   closes the connection, and the client reconnects); `.connectionLoss`.
    public func addAuth(scheme: String, auth: [UInt8]) async throws {
        let session = self.session
        let packet = AuthPacket(scheme: scheme, auth: auth)
        let _: Void = try await withCheckedThrowingContinuation { continuation in
            eventLoop.execute {
                session.addAuth(packet) { result, _, _ in
                    continuation.resume(with: result.map { _ in () }.mapError { $0 as any Error })
                }
            }
        }
    }

    /// Adds a persistent watch, or a persistent recursive one, that stays until it is removed.
    ///
    /// On the wire: `addWatch` (opcode 106, ZooKeeper 3.6 and later): the path and the mode (0 persistent,
    /// 1 persistent recursive). A persistent watch fires for data changes, deletes and child changes of the
    /// node; a recursive one for every node under it (but not child changes).
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot); the node need not exist.
    ///   - mode: `AddWatchMode.persistent` or `AddWatchMode.persistentRecursive`.
    /// - Throws: ``ZooKeeperError``: `.unimplemented` from an older server, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func addWatch(_ path: String, mode: AddWatchMode) async throws {
        _ = try await send(.addWatch(path: path, mode: mode))
    }

    /// Succeeds when this session holds a watch of `type` on `path`.
    ///
    /// On the wire: `checkWatches` (opcode 17): the path and the watcher type (1 children, 2 data, 3 any,
    /// 4 persistent, 5 persistent recursive).
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - type: Which kind of watch to look for.
    /// - Throws: ``ZooKeeperError``: `.noWatcher` when there is none, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func checkWatches(_ path: String, type: WatcherType) async throws {
        _ = try await send(.checkWatches(path: path, type: type))
    }

    /// Removes this session's watches of `type` on `path`; the client forgets them too, so they are not
    /// registered again after a reconnect.
    ///
    /// On the wire: `removeWatches` (opcode 18): the path and the watcher type.
    ///
    /// - Parameters:
    ///   - path: The absolute path (within the chroot).
    ///   - type: Which kind of watch to remove.
    /// - Throws: ``ZooKeeperError``: `.noWatcher` when there is none, and the transport errors (`.connectionLoss` when the
    ///   connection dropped with the request in flight, `.operationTimeout` after
    ///   ``ZooKeeperConfiguration/requestTimeout``, `.sessionExpired`).
    public func removeWatches(_ path: String, type: WatcherType) async throws {
        _ = try await send(.removeWatches(path: path, type: type))
    }

    // MARK: Reply unpacking

    static func created(_ response: ZooKeeperResponse, path: String) throws -> (path: String, stat: Stat) {
        switch response {
        case .create2(let created, let stat): return (created, stat)
        case .create(let created): return (created, Stat())
        default: throw unexpected(response, op: "create", path: path)
        }
    }

    static func unexpected(_ response: ZooKeeperResponse, op: String, path: String?) -> ZooKeeperError {
        ZooKeeperError(
            code: .marshallingError,
            path: path,
            message:
                "unexpected reply to \(op) on \(path ?? "-"): \(response); the server speaks a different protocol version"
        )
    }
}
