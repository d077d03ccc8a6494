import ZooKeeperProtocol

/// The typed operations: each builds a request, sends it through `send(_:)` and unpacks the reply.
extension ZooKeeperClient {
    public func create(
        _ path: String, data: [UInt8] = [], acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws -> String {
        // Plain modes use the classic create (opcode 1), which every server version answers.
        guard ttl == nil, !mode.isTTL, !mode.isContainer else {
            return try await create2(path, data: data, acl: acl, mode: mode, ttl: ttl).path
        }
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: mode), opCode: .create))
        return try Self.created(response, path: path).path
    }

    public func create2(
        _ path: String, data: [UInt8] = [], acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws -> (path: String, stat: Stat) {
        let opCode: OpCode
        if let ttl {
            guard mode.isTTL else {
                throw ZooKeeperError.badArguments(
                    "create \(path): a TTL needs mode persistentWithTTL or persistentSequentialWithTTL, not \(mode)",
                    path: path)
            }
            opCode = .createTTL
            let response = try await send(
                .create(CreateRequest(path: path, data: data, acl: acl, mode: mode, ttl: ttl), opCode: opCode))
            return try Self.created(response, path: path)
        }
        if mode.isTTL {
            throw ZooKeeperError.badArguments("create \(path): mode \(mode) needs a ttl in milliseconds", path: path)
        }
        opCode = mode.isContainer ? .createContainer : .create2
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: mode), opCode: opCode))
        return try Self.created(response, path: path)
    }

    public func createContainer(_ path: String, data: [UInt8] = [], acl: [ACL] = ACL.openUnsafe) async throws -> String
    {
        let response = try await send(
            .create(CreateRequest(path: path, data: data, acl: acl, mode: .container), opCode: .createContainer))
        return try Self.created(response, path: path).path
    }

    public func delete(_ path: String, version: Int32 = -1) async throws {
        _ = try await send(.delete(path: path, version: version))
    }

    /// The node's Stat, or nil when it does not exist. With `watch`, sets a data watch (node exists) or
    /// an exist watch (node missing).
    public func exists(_ path: String, watch: Bool = false) async throws -> Stat? {
        do {
            let response = try await send(.exists(path: path, watch: watch))
            guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "exists", path: path) }
            return stat
        } catch let error as ZooKeeperError where error.code == .noNode {
            return nil
        }
    }

    public func getData(_ path: String, watch: Bool = false) async throws -> (data: [UInt8], stat: Stat) {
        let response = try await send(.getData(path: path, watch: watch))
        guard case .data(let data, let stat) = response else {
            throw Self.unexpected(response, op: "getData", path: path)
        }
        return (data ?? [], stat)
    }

    public func setData(_ path: String, data: [UInt8], version: Int32 = -1) async throws -> Stat {
        let response = try await send(.setData(path: path, data: data, version: version))
        guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "setData", path: path) }
        return stat
    }

    public func getChildren(_ path: String, watch: Bool = false) async throws -> [String] {
        let response = try await send(.getChildren(path: path, watch: watch))
        guard case .children(let children) = response else {
            throw Self.unexpected(response, op: "getChildren", path: path)
        }
        return children
    }

    public func getChildren2(_ path: String, watch: Bool = false) async throws -> (children: [String], stat: Stat) {
        let response = try await send(.getChildren2(path: path, watch: watch))
        guard case .children2(let children, let stat) = response else {
            throw Self.unexpected(response, op: "getChildren2", path: path)
        }
        return (children, stat)
    }

    public func getACL(_ path: String) async throws -> (acl: [ACL], stat: Stat) {
        let response = try await send(.getACL(path: path))
        guard case .acl(let acl, let stat) = response else { throw Self.unexpected(response, op: "getACL", path: path) }
        return (acl, stat)
    }

    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws -> Stat {
        let response = try await send(.setACL(path: path, acl: acl, version: version))
        guard case .stat(let stat) = response else { throw Self.unexpected(response, op: "setACL", path: path) }
        return stat
    }

    public func sync(_ path: String) async throws {
        _ = try await send(.sync(path: path))
    }

    /// Runs the ops atomically. A failing op does not throw: every result is then `.error`, the failing
    /// op with its code, ops before it with OK (0) and ops after it with RUNTIMEINCONSISTENCY (-2).
    /// Throws only for transport errors.
    public func multi(_ ops: [MultiOperation]) async throws -> [MultiResult] {
        let response = try await send(.multi(ops))
        guard case .multi(let results) = response else { throw Self.unexpected(response, op: "multi", path: nil) }
        return results
    }

    /// Reads (getData, getChildren) in one round trip, not atomically; failures are per-op `.error`.
    public func multiRead(_ ops: [MultiOperation]) async throws -> [MultiResult] {
        let response = try await send(.multiRead(ops))
        guard case .multi(let results) = response else { throw Self.unexpected(response, op: "multiRead", path: nil) }
        return results
    }

    /// This session's ephemeral nodes whose path starts with `prefix`.
    public func getEphemerals(prefix: String = "/") async throws -> [String] {
        let response = try await send(.getEphemerals(prefixPath: prefix))
        guard case .ephemerals(let paths) = response else {
            throw Self.unexpected(response, op: "getEphemerals", path: prefix)
        }
        return paths
    }

    /// The number of all descendants of `path`.
    public func getAllChildrenNumber(_ path: String) async throws -> Int {
        let response = try await send(.getAllChildrenNumber(path: path))
        guard case .allChildrenNumber(let n) = response else {
            throw Self.unexpected(response, op: "getAllChildrenNumber", path: path)
        }
        return Int(n)
    }

    public func whoAmI() async throws -> [ClientInfo] {
        let response = try await send(.whoAmI)
        guard case .whoAmI(let infos) = response else { throw Self.unexpected(response, op: "whoAmI", path: nil) }
        return infos
    }

    /// Authenticates this session (e.g. scheme "digest", auth "user:password"); replayed after reconnects.
    /// A rejected scheme or credential throws AUTHFAILED and the server closes the connection.
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

    /// Adds a persistent (or persistent recursive) watch; it stays until removed.
    public func addWatch(_ path: String, mode: AddWatchMode) async throws {
        _ = try await send(.addWatch(path: path, mode: mode))
    }

    /// Throws NOWATCHER when this session holds no watch of `type` on `path`.
    public func checkWatches(_ path: String, type: WatcherType) async throws {
        _ = try await send(.checkWatches(path: path, type: type))
    }

    /// Removes this session's watches of `type` on `path`; NOWATCHER when there are none.
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
            code: .marshallingError, path: path,
            message:
                "unexpected reply to \(op) on \(path ?? "-"): \(response); the server speaks a different protocol version"
        )
    }
}
