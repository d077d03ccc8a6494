import ZooKeeperProtocol

/// Request application: ZooKeeper's PrepRequestProcessor (checks, zxid assignment) and
/// FinalRequestProcessor (reads, replies, watch registration) in one value. It owns the data tree, the
/// watch manager and the session tracker; it takes a decoded request and returns what to answer plus
/// the watch notifications the request caused. It does no I/O, reads no clock and takes no lock:
/// `ServerCore` runs it under its lock and acts on what it returns.
struct RequestApplier {
    let tree = DataTree()
    var watches = WatchManager()
    var sessions: SessionTracker
    /// The last zxid handed out (one per write, and per session created or closed).
    private(set) var zxid: Int64 = 0
    let maxSessions: Int
    /// SASL users and enforced authentication (`ServerSASL.swift`).
    let authentication: AuthenticationPolicy
    /// The nonce of each SASL DIGEST-MD5 challenge: random; a test may fix it.
    var makeSASLNonce: @Sendable () -> String = { DigestMD5.randomNonce() }
    /// Spare buffer for `collectChanges`.
    private var changeScratch: [TreeChange] = []

    init(
        tickMs: Int64,
        wallClockMs: Int64,
        maxSessions: Int,
        authentication: AuthenticationPolicy = AuthenticationPolicy()
    ) {
        sessions = SessionTracker(tickMs: tickMs, wallClockMs: wallClockMs)
        self.maxSessions = maxSessions
        self.authentication = authentication
        tree.secureACLSchemes = authentication.secureACLSchemes
    }

    // MARK: - Requests

    /// Applies one request sent under `session` on the connection whose watcher id is `watcher`.
    ///
    /// - Parameters:
    ///   - auth: the connection's proven ids and SASL exchange; `auth` and `sasl` requests add to them.
    ///   - time: wall-clock ms, the ctime/mtime of nodes this request writes.
    ///   - triggers: receives the watch notifications the request caused, in order (the caller sends
    ///     them before the reply, and empties it).
    mutating func apply(
        _ request: ZooKeeperRequest,
        session: Int64,
        watcher: Int,
        auth: inout ConnectionAuth,
        time: Int64,
        triggers: inout WatchTriggers
    ) -> RequestOutcome {
        let outcome: RequestOutcome
        switch request {
        case .ping, .closeSession:
            outcome = applySessionRequest(request, session: session)
        case .getData, .exists, .getChildren, .getChildren2, .getACL, .getAllChildrenNumber, .getEphemerals,
            .sync, .whoAmI:
            outcome = applyRead(request, session: session, watcher: watcher, identities: auth.identities)
        case .multiRead(let ops):
            outcome = applyMultiRead(ops, identities: auth.identities)
        case .create, .delete, .setData, .check, .setACL, .reconfig:
            outcome = applyWrite(request, session: session, identities: auth.identities, time: time)
        case .multi(let ops):
            outcome = applyMulti(ops, session: session, identities: auth.identities, time: time)
        case .addWatch, .checkWatches, .removeWatches, .setWatches, .setWatches2:
            outcome = applyWatchRequest(request, watcher: watcher, triggers: &triggers)
        case .auth, .sasl:
            outcome = applyAuthentication(request, auth: &auth)
        }
        collectChanges(into: &triggers)
        return outcome
    }

    /// Pushes the session's deadline out; false if the session is gone (expired or closed).
    mutating func touch(session: Int64, now: Int64) -> Bool {
        sessions.touch(session, now: now)
    }

    // MARK: Sessions (ping, closeSession)

    private mutating func applySessionRequest(_ request: ZooKeeperRequest, session: Int64) -> RequestOutcome {
        if case .closeSession = request {
            closeSession(session)
            return RequestOutcome(reply: .response(.empty), zxid: zxid, closeConnection: true)
        }
        return .response(.empty, zxid: zxid)
    }

    // MARK: Reads

    private mutating func applyRead(
        _ request: ZooKeeperRequest,
        session: Int64,
        watcher: Int,
        identities: [Id]
    ) -> RequestOutcome {
        switch request {
        case .getData(let path, let watch):
            guard let node = tree[path] else { return .error(.noNode, zxid: zxid) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return .error(.noAuth, zxid: zxid)
            }
            if watch { watches.add(.data, path: path, watcher: watcher) }
            return .response(.data(node.data, stat: node.stat), zxid: zxid)

        case .exists(let path, let watch):
            if path.utf8.contains(0) { return .error(.badArguments, zxid: zxid) }
            // An exists watch on a missing node waits for its creation.
            if watch { watches.add(.data, path: path, watcher: watcher) }
            guard let node = tree[path] else { return .error(.noNode, zxid: zxid) }
            return .response(.stat(node.stat), zxid: zxid)

        case .getChildren(let path, let watch), .getChildren2(let path, let watch):
            guard let node = tree[path] else { return .error(.noNode, zxid: zxid) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return .error(.noAuth, zxid: zxid)
            }
            if watch { watches.add(.child, path: path, watcher: watcher) }
            let children = Array(node.children)
            if case .getChildren2 = request { return .response(.children2(children, stat: node.stat), zxid: zxid) }
            return .response(.children(children), zxid: zxid)

        case .getACL(let path):
            guard let node = tree[path] else { return .error(.noNode, zxid: zxid) }
            let acl = tree.acl(of: node)
            guard AccessControl.allows(acl, [.read, .admin], identities: identities) else {
                return .error(.noAuth, zxid: zxid)
            }
            // Without ADMIN, digest hashes are redacted (FinalRequestProcessor).
            let shown =
                AccessControl.allows(acl, .admin, identities: identities)
                ? acl
                : acl.map { entry in
                    guard entry.id.scheme == "digest" else { return entry }
                    return ACL(
                        perms: entry.perms,
                        id: Id(scheme: "digest", id: AccessControl.userName(of: entry.id) + ":x")
                    )
                }
            return .response(.acl(shown, stat: node.stat), zxid: zxid)

        case .sync(let path):
            return .response(.sync(path: path), zxid: zxid)

        case .getAllChildrenNumber(let path):
            guard let node = tree[path] else { return .error(.noNode, zxid: zxid) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return .error(.noAuth, zxid: zxid)
            }
            return .response(.allChildrenNumber(Int32(clamping: tree.descendantCount(of: path))), zxid: zxid)

        case .getEphemerals(let prefix):
            let trimmed = prefix.trimmingSpaces
            let paths = tree.ephemerals(of: session, prefix: trimmed.isEmpty ? "/" : prefix)
            return .response(.ephemerals(paths), zxid: zxid)

        case .whoAmI:
            let infos = identities.map { ClientInfo(authScheme: $0.scheme, user: AccessControl.userName(of: $0)) }
            return .response(.whoAmI(infos), zxid: zxid)

        default:
            return .error(.badArguments, zxid: zxid)
        }
    }

    private func applyMultiRead(_ ops: [MultiOperation], identities: [Id]) -> RequestOutcome {
        .response(.multi(ops.map { readResult($0, identities: identities) }), zxid: zxid)
    }

    private func readResult(_ op: MultiOperation, identities: [Id]) -> MultiResult {
        switch op {
        case .getData(let path):
            guard let node = tree[path] else { return .error(.noNode) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return .error(.noAuth)
            }
            return .getData(data: node.data, stat: node.stat)
        case .getChildren(let path):
            guard let node = tree[path] else { return .error(.noNode) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return .error(.noAuth)
            }
            return .getChildren(children: Array(node.children))
        default:
            return .error(.badArguments)
        }
    }

    // MARK: Writes

    private mutating func applyWrite(
        _ request: ZooKeeperRequest,
        session: Int64,
        identities: [Id],
        time: Int64
    ) -> RequestOutcome {
        zxid += 1
        switch request {
        case .reconfig:
            return .error(.reconfigDisabled, zxid: zxid)
        case .setACL(let path, let acl, let version):
            do {
                let stat = try tree.setACL(path, acl: acl, version: version, identities: identities)
                return .response(.stat(stat), zxid: zxid)
            } catch {
                return .error(error.code, zxid: zxid)
            }
        default:
            guard let op = request.asMultiOperation else { return .error(.badArguments, zxid: zxid) }
            do {
                switch try applyOperation(op, session: session, identities: identities, time: time) {
                case .create(let path): return .response(.create(path: path), zxid: zxid)
                case .create2(let path, let stat): return .response(.create2(path: path, stat: stat), zxid: zxid)
                case .setData(let stat): return .response(.stat(stat), zxid: zxid)
                default: return .response(.empty, zxid: zxid)
                }
            } catch {
                return .error(error.code, zxid: zxid)
            }
        }
    }

    /// One write of create/delete/setData/check, alone or inside multi, at the current zxid.
    private func applyOperation(
        _ op: MultiOperation,
        session: Int64,
        identities: [Id],
        time: Int64
    ) throws(OperationError) -> MultiResult {
        switch op {
        case .create(let request, let opCode):
            let path = try tree.create(
                request.path,
                data: request.data,
                acl: request.acl,
                mode: request.mode,
                opCode: opCode,
                ttl: request.ttl,
                session: session,
                identities: identities,
                zxid: zxid,
                time: time
            )
            if opCode == .create { return .create(path: path) }
            return .create2(path: path, stat: tree[path]!.stat)
        case .delete(let path, let version):
            try tree.delete(path, version: version, identities: identities, zxid: zxid)
            return .delete
        case .setData(let path, let data, let version):
            let stat = try tree.setData(
                path,
                data: data,
                version: version,
                identities: identities,
                zxid: zxid,
                time: time
            )
            return .setData(stat: stat)
        case .check(let path, let version):
            try tree.check(path, version: version, identities: identities)
            return .check
        case .getData, .getChildren:
            throw OperationError(.badArguments)
        }
    }

    /// All or nothing under one zxid. A failure answers OK with every result an error: earlier ops 0, the
    /// failing one its code, later ones RUNTIMEINCONSISTENCY (-2), as ZooKeeper does.
    private mutating func applyMulti(
        _ ops: [MultiOperation],
        session: Int64,
        identities: [Id],
        time: Int64
    ) -> RequestOutcome {
        zxid += 1
        let changesBefore = tree.changes.count
        tree.beginTransaction()
        var results: [MultiResult] = []
        results.reserveCapacity(ops.count)
        for (index, op) in ops.enumerated() {
            do {
                var result = try applyOperation(op, session: session, identities: identities, time: time)
                // Seen on ZooKeeper 3.8.0: inside multi, create2 and createContainer answer as a plain
                // create (path, no Stat); only createTTL answers create2 with its Stat.
                if case .create(_, let opCode) = op, opCode == .create2 || opCode == .createContainer,
                    case .create2(let path, _) = result
                {
                    result = .create(path: path)
                }
                results.append(result)
            } catch {
                tree.rollbackTransaction(changesBefore: changesBefore)
                let failed = ops.indices.map { i -> MultiResult in
                    .error(i < index ? .ok : i == index ? error.code : .runtimeInconsistency)
                }
                return .response(.multi(failed), zxid: zxid)
            }
        }
        tree.commitTransaction()
        return .response(.multi(results), zxid: zxid)
    }

    // MARK: Watches (addWatch, checkWatches, removeWatches, setWatches, setWatches2)

    private mutating func applyWatchRequest(
        _ request: ZooKeeperRequest,
        watcher: Int,
        triggers: inout WatchTriggers
    ) -> RequestOutcome {
        switch request {
        case .addWatch(let path, let mode):
            switch mode {
            case .persistent: watches.add(.persistent, path: path, watcher: watcher)
            case .persistentRecursive: watches.add(.persistentRecursive, path: path, watcher: watcher)
            // An unknown mode fails to deserialize in ZooKeeper: MARSHALLINGERROR (seen).
            default: return .error(.marshallingError, zxid: zxid)
            }
            return .response(.empty, zxid: zxid)

        case .checkWatches(let path, let type), .removeWatches(let path, let type):
            guard let tables = WatchManager.kinds(for: type) else { return .error(.marshallingError, zxid: zxid) }
            let removing: Bool
            if case .removeWatches = request { removing = true } else { removing = false }
            var found = false
            for table in tables {
                if removing {
                    if watches.remove(table, path: path, watcher: watcher) { found = true }
                } else if watches.contains(table, path: path, watcher: watcher) {
                    found = true
                }
            }
            return found ? .response(.empty, zxid: zxid) : .error(.noWatcher, zxid: zxid)

        case .setWatches(let r):
            restoreWatches(
                relativeZxid: r.relativeZxid,
                data: r.dataWatches,
                exist: r.existWatches,
                child: r.childWatches,
                persistent: [],
                recursive: [],
                watcher: watcher,
                triggers: &triggers
            )
            return .response(.empty, zxid: zxid)

        case .setWatches2(let r):
            restoreWatches(
                relativeZxid: r.relativeZxid,
                data: r.dataWatches,
                exist: r.existWatches,
                child: r.childWatches,
                persistent: r.persistentWatches,
                recursive: r.persistentRecursiveWatches,
                watcher: watcher,
                triggers: &triggers
            )
            return .response(.empty, zxid: zxid)

        default:
            return .error(.badArguments, zxid: zxid)
        }
    }

    /// setWatches/setWatches2: registers the watches and fires at once what the client missed.
    private mutating func restoreWatches(
        relativeZxid: Int64,
        data: [String],
        exist: [String],
        child: [String],
        persistent: [String],
        recursive: [String],
        watcher: Int,
        triggers: inout WatchTriggers
    ) {
        for path in data {
            if let node = tree[path] {
                if node.mzxid > relativeZxid {
                    triggers.append(.nodeDataChanged, path: path, watcher: watcher)
                } else {
                    watches.add(.data, path: path, watcher: watcher)
                }
            } else {
                triggers.append(.nodeDeleted, path: path, watcher: watcher)
            }
        }
        for path in exist {
            if tree[path] != nil {
                triggers.append(.nodeCreated, path: path, watcher: watcher)
            } else {
                watches.add(.data, path: path, watcher: watcher)
            }
        }
        for path in child {
            if let node = tree[path] {
                if node.pzxid > relativeZxid {
                    triggers.append(.nodeChildrenChanged, path: path, watcher: watcher)
                } else {
                    watches.add(.child, path: path, watcher: watcher)
                }
            } else {
                triggers.append(.nodeDeleted, path: path, watcher: watcher)
            }
        }
        for path in persistent { watches.add(.persistent, path: path, watcher: watcher) }
        for path in recursive { watches.add(.persistentRecursive, path: path, watcher: watcher) }
    }

    // MARK: Authentication (auth, sasl)

    /// addauth: digest and ip are known; any other scheme fails and closes the connection (reply zxid 0,
    /// as ZooKeeper answers auth packets outside the request pipeline).
    ///
    /// SASL (opcode 102) arrives here as `.sasl(token:)`: `applySASL` (ServerSASL.swift) keeps the
    /// exchange in `ConnectionAuth.sasl`, answers with the challenge, and on success adds the `sasl` id.
    private mutating func applyAuthentication(_ request: ZooKeeperRequest, auth: inout ConnectionAuth) -> RequestOutcome
    {
        switch request {
        case .auth(let packet):
            let identity: Id
            switch packet.scheme {
            case "digest":
                identity = Id(scheme: "digest", id: AccessControl.digestIdentity(credentials: packet.auth))
            case "ip":
                identity = Id(scheme: "ip", id: auth.remoteHost)
            default:
                return .error(.authFailed, zxid: 0, closeConnection: true)
            }
            auth.add(identity)
            return .response(.empty, zxid: 0)
        case .sasl(let token):
            return applySASL(token: token, auth: &auth)
        default:
            return .error(.badArguments, zxid: zxid)
        }
    }

    // MARK: - Handshake, expiry, sweeps

    /// Decides a handshake on connection `connection`. `password` makes a new session's password.
    mutating func connect(
        _ request: ConnectRequest,
        connection: Int,
        now: Int64,
        password: () -> [UInt8]
    ) -> ConnectDecision {
        // The client has seen a newer state than this server has: ZooKeeper refuses it.
        if request.lastZxidSeen > zxid { return .refuse(.zxidAhead) }
        let timeout = sessions.negotiate(request.timeOut)
        let session: ServerSession
        var replacing: Int?
        if request.sessionId == 0 {
            guard sessions.count < maxSessions else { return .refuse(.tooManySessions) }
            zxid += 1
            session = sessions.create(timeoutMs: timeout, password: password(), now: now)
        } else {
            guard let existing = sessions[request.sessionId], existing.password == request.password else {
                return .reject(.rejected(readOnly: request.readOnly))
            }
            if let previous = existing.connection, previous != connection { replacing = previous }
            sessions.setTimeout(existing.id, timeout, now: now)
            session = sessions[existing.id]!
        }
        sessions.attach(session.id, connection: connection)
        let response = ConnectResponse(
            timeOut: timeout,
            sessionId: session.id,
            password: session.password,
            readOnly: request.readOnly.map { _ in false }
        )
        return .accept(response, session: session.id, replacing: replacing)
    }

    /// A connection closed: its watches go; its session lives on, detached, until it expires.
    mutating func connectionClosed(_ connection: Int, session: Int64) {
        watches.removeWatcher(connection)
        if session != 0, sessions[session]?.connection == connection {
            sessions.attach(session, connection: nil)
        }
    }

    /// Ends a session: its ephemerals go, firing their watches (collected by the caller's next
    /// `collectChanges`).
    private mutating func closeSession(_ id: Int64) {
        guard sessions.remove(id) != nil else { return }
        removeEphemerals(of: id)
    }

    private mutating func removeEphemerals(of id: Int64) {
        zxid += 1
        // Deepest first is not needed (ephemerals have no children) but keeps the order stable.
        for path in tree.ephemerals(of: id, prefix: "/").sorted(by: >) {
            tree.removeNode(path, zxid: zxid)
        }
    }

    /// Removes the sessions whose deadline passed, with their ephemerals; returns them.
    mutating func expireSessions(now: Int64, triggers: inout WatchTriggers) -> [ServerSession] {
        let expired = sessions.expire(now: now)
        for session in expired {
            removeEphemerals(of: session.id)
            collectChanges(into: &triggers)
        }
        return expired
    }

    /// Deletes empty containers and expired TTL nodes (`ContainerManager`), one zxid each.
    mutating func sweepContainersAndTTLs(now: Int64, triggers: inout WatchTriggers) {
        for path in tree.sweepCandidates(now: now) {
            zxid += 1
            tree.removeNode(path, zxid: zxid)
            collectChanges(into: &triggers)
        }
    }

    /// Turns the data tree's pending changes into watch triggers, in order.
    private mutating func collectChanges(into triggers: inout WatchTriggers) {
        guard !tree.changes.isEmpty else { return }
        // Swap buffers rather than copy, so steady-state writes allocate nothing here.
        var changes = changeScratch
        swap(&changes, &tree.changes)
        for change in changes { triggers.record(change.type, path: change.path, firing: &watches) }
        changes.removeAll(keepingCapacity: true)
        changeScratch = changes
    }
}

extension ZooKeeperRequest {
    /// The write requests that share multi's code path.
    var asMultiOperation: MultiOperation? {
        switch self {
        case .create(let request, let opCode): .create(request, opCode: opCode)
        case .delete(let path, let version): .delete(path: path, version: version)
        case .setData(let path, let data, let version): .setData(path: path, data: data, version: version)
        case .check(let path, let version): .check(path: path, version: version)
        default: nil
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
