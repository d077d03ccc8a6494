import NIOCore
import ZooKeeperProtocol

/// Applying one request frame: the combined work of ZooKeeper's PrepRequestProcessor (checks and
/// zxid assignment for writes) and FinalRequestProcessor (reads, replies, watch registration).
/// Runs under `ServerCore.lock`.
extension ServerCore {
    func processRequest(_ frame: inout ByteBuffer, from connection: ServerConnection) {
        let started = NIODeadline.now().uptimeNanoseconds
        guard let header = try? RequestHeader(from: &frame) else {
            drop(connection)
            return
        }
        guard sessions.touch(connection.sessionID, now: Int64(started / 1_000_000)) else {
            // The session expired or was closed while this connection was still open: nothing more
            // may run under it (an ephemeral created now would never be cleaned up).
            drop(connection)
            return
        }
        connection.lastCxid = header.xid
        // --require-auth (enforce.auth): refused with -124 before anything else is looked at.
        if refusesUnauthenticated(header, connection: connection) { return }
        defer {
            let elapsed = Int64(NIODeadline.now().uptimeNanoseconds - started)
            counters.latency.record(nanoseconds: elapsed)
            connection.latency.record(nanoseconds: elapsed)
            connection.lastLatency = elapsed
            connection.lastResponseAt = wallClockMilliseconds()
        }
        switch header.type {
        case .ping:
            connection.lastOperation = "PING"
            reply(to: connection, xid: header.xid, zxid: zxid)
            return
        case .closeSession:
            connection.lastOperation = "CLOS"
            closeSessionLocked(connection.sessionID)
            reply(to: connection, xid: header.xid, zxid: zxid)
            connection.closeAfterFlush = true
            return
        default:
            break
        }
        let request: ZooKeeperRequest
        switch header.type {
        case .deleteContainer:
            // Only the container sweep may send it; a client gets BADARGUMENTS (seen).
            return reply(to: connection, xid: header.xid, zxid: zxid, error: .badArguments)
        case .createSession:
            return reply(to: connection, xid: header.xid, zxid: zxid, error: .marshallingError)
        default:
            break
        }
        do {
            request = try ZooKeeperRequest.decode(opCode: header.type, from: &frame)
        } catch {
            if case .unknownOpCode = error.reason {
                reply(to: connection, xid: header.xid, zxid: zxid, error: .unimplemented)
                connection.closeAfterFlush = true
            } else {
                // ZooKeeper answers an undecodable body with MARSHALLINGERROR and keeps the connection.
                reply(to: connection, xid: header.xid, zxid: zxid, error: .marshallingError)
            }
            return
        }
        execute(request, xid: header.xid, from: connection)
        deliverChanges()
    }

    private func execute(_ request: ZooKeeperRequest, xid: Int32, from connection: ServerConnection) {
        let identities = connection.identities
        switch request {
        case .getData(let path, let watch):
            connection.lastOperation = "GETD"
            guard let node = tree[path] else { return reply(to: connection, xid: xid, zxid: zxid, error: .noNode) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return reply(to: connection, xid: xid, zxid: zxid, error: .noAuth)
            }
            if watch { watches.add(.data, path: path, watcher: connection.id) }
            reply(to: connection, xid: xid, zxid: zxid) { buffer in
                buffer.writeJuteBuffer(node.data)
                node.stat.encode(into: &buffer)
            }

        case .exists(let path, let watch):
            connection.lastOperation = "EXIS"
            if path.utf8.contains(0) { return reply(to: connection, xid: xid, zxid: zxid, error: .badArguments) }
            if watch { watches.add(.data, path: path, watcher: connection.id) }
            guard let node = tree[path] else { return reply(to: connection, xid: xid, zxid: zxid, error: .noNode) }
            reply(to: connection, xid: xid, zxid: zxid) { node.stat.encode(into: &$0) }

        case .getChildren(let path, let watch), .getChildren2(let path, let watch):
            connection.lastOperation = "GETC"
            guard let node = tree[path] else { return reply(to: connection, xid: xid, zxid: zxid, error: .noNode) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return reply(to: connection, xid: xid, zxid: zxid, error: .noAuth)
            }
            if watch { watches.add(.child, path: path, watcher: connection.id) }
            let withStat = request.opCode == .getChildren2
            reply(to: connection, xid: xid, zxid: zxid) { buffer in
                buffer.writeJuteInt(Int32(node.children.count))
                for child in node.children { buffer.writeJuteString(child) }
                if withStat { node.stat.encode(into: &buffer) }
            }

        case .getACL(let path):
            connection.lastOperation = "GETA"
            guard let node = tree[path] else { return reply(to: connection, xid: xid, zxid: zxid, error: .noNode) }
            let acl = tree.acl(of: node)
            guard AccessControl.allows(acl, [.read, .admin], identities: identities) else {
                return reply(to: connection, xid: xid, zxid: zxid, error: .noAuth)
            }
            // Without ADMIN, digest hashes are redacted (FinalRequestProcessor).
            let shown =
                AccessControl.allows(acl, .admin, identities: identities)
                ? acl
                : acl.map { entry in
                    guard entry.id.scheme == "digest" else { return entry }
                    return ACL(
                        perms: entry.perms, id: Id(scheme: "digest", id: AccessControl.userName(of: entry.id) + ":x"))
                }
            reply(to: connection, xid: xid, zxid: zxid) { buffer in
                buffer.writeJuteRecordVector(shown)
                node.stat.encode(into: &buffer)
            }

        case .sync(let path):
            connection.lastOperation = "SYNC"
            reply(to: connection, xid: xid, zxid: zxid) { $0.writeJuteString(path) }

        case .getAllChildrenNumber(let path):
            connection.lastOperation = "GETACN"
            guard let node = tree[path] else { return reply(to: connection, xid: xid, zxid: zxid, error: .noNode) }
            guard AccessControl.allows(tree.acl(of: node), .read, identities: identities) else {
                return reply(to: connection, xid: xid, zxid: zxid, error: .noAuth)
            }
            let count = tree.descendantCount(of: path)
            reply(to: connection, xid: xid, zxid: zxid) { $0.writeJuteInt(Int32(clamping: count)) }

        case .getEphemerals(let prefix):
            connection.lastOperation = "GETE"
            let trimmed = prefix.trimmingSpaces
            let paths = tree.ephemerals(of: connection.sessionID, prefix: trimmed.isEmpty ? "/" : prefix)
            reply(to: connection, xid: xid, zxid: zxid) { $0.writeJuteStringVector(paths) }

        case .whoAmI:
            connection.lastOperation = "HOMI"
            let infos = identities.map { ClientInfo(authScheme: $0.scheme, user: AccessControl.userName(of: $0)) }
            reply(to: connection, xid: xid, zxid: zxid) { $0.writeJuteRecordVector(infos) }

        case .addWatch(let path, let mode):
            connection.lastOperation = "ADDW"
            switch mode {
            case .persistent: watches.add(.persistent, path: path, watcher: connection.id)
            case .persistentRecursive: watches.add(.persistentRecursive, path: path, watcher: connection.id)
            // An unknown mode fails to deserialize in ZooKeeper: MARSHALLINGERROR (seen).
            default: return reply(to: connection, xid: xid, zxid: zxid, error: .marshallingError)
            }
            // The body is an ErrorResponse {int err = 0}; the Java client reads it (seen).
            reply(to: connection, xid: xid, zxid: zxid) { $0.writeJuteInt(0) }

        case .checkWatches(let path, let type), .removeWatches(let path, let type):
            let removing = request.opCode == .removeWatches
            connection.lastOperation = removing ? "REMW" : "CHKW"
            guard let kinds = WatchRegistry.kinds(for: type) else {
                return reply(to: connection, xid: xid, zxid: zxid, error: .marshallingError)
            }
            var found = false
            for kind in kinds {
                if removing {
                    if watches.remove(kind, path: path, watcher: connection.id) { found = true }
                } else if watches.contains(kind, path: path, watcher: connection.id) {
                    found = true
                }
            }
            reply(to: connection, xid: xid, zxid: zxid, error: found ? .ok : .noWatcher)

        case .setWatches(let request):
            connection.lastOperation = "SETW"
            restoreWatches(
                relativeZxid: request.relativeZxid, data: request.dataWatches, exist: request.existWatches,
                child: request.childWatches, persistent: [], recursive: [], for: connection)
            reply(to: connection, xid: xid, zxid: zxid)

        case .setWatches2(let request):
            connection.lastOperation = "STW2"
            restoreWatches(
                relativeZxid: request.relativeZxid, data: request.dataWatches, exist: request.existWatches,
                child: request.childWatches, persistent: request.persistentWatches,
                recursive: request.persistentRecursiveWatches, for: connection)
            reply(to: connection, xid: xid, zxid: zxid)

        case .auth(let packet):
            connection.lastOperation = "AUTH"
            authenticate(packet, xid: xid, connection: connection)

        case .multiRead(let ops):
            connection.lastOperation = "MLTR"
            let results = ops.map { readResult($0, identities: identities, connection: connection) }
            reply(to: connection, xid: xid, zxid: zxid) { MultiResult.encode(results, into: &$0) }

        case .multi(let ops):
            connection.lastOperation = "MULT"
            zxid += 1
            let results = applyMulti(ops, connection: connection)
            reply(to: connection, xid: xid, zxid: zxid) { MultiResult.encode(results, into: &$0) }

        case .reconfig:
            connection.lastOperation = "RECO"
            zxid += 1
            reply(to: connection, xid: xid, zxid: zxid, error: .reconfigDisabled)

        case .sasl(let token):
            processSASL(token: token, xid: xid, connection: connection)

        case .setACL(let path, let acl, let version):
            connection.lastOperation = "SETA"
            zxid += 1
            do {
                let stat = try tree.setACL(path, acl: acl, version: version, identities: identities)
                reply(to: connection, xid: xid, zxid: zxid) { stat.encode(into: &$0) }
            } catch {
                reply(to: connection, xid: xid, zxid: zxid, error: error.code)
            }

        case .create, .delete, .setData, .check:
            zxid += 1
            let result: MultiResult
            do {
                result = try applyWrite(request.asMultiOperation!, connection: connection)
            } catch {
                return reply(to: connection, xid: xid, zxid: zxid, error: error.code)
            }
            reply(to: connection, xid: xid, zxid: zxid) { buffer in
                switch result {
                case .create(let path): buffer.writeJuteString(path)
                case .create2(let path, let stat):
                    buffer.writeJuteString(path)
                    stat.encode(into: &buffer)
                case .setData(let stat): stat.encode(into: &buffer)
                default: break
                }
            }

        case .ping, .closeSession:
            break
        }
    }

    /// One write of create/delete/setData/setACL/check, alone or inside multi.
    func applyWrite(_ op: MultiOperation, connection: ServerConnection) throws(OperationError) -> MultiResult {
        let identities = connection.identities
        switch op {
        case .create(let request, let opCode):
            connection.lastOperation = "CREA"
            let path = try tree.create(
                request.path, data: request.data, acl: request.acl, mode: request.mode, opCode: opCode,
                ttl: request.ttl,
                session: connection.sessionID, identities: identities, zxid: zxid, time: wallClockMilliseconds())
            if opCode == .create { return .create(path: path) }
            return .create2(path: path, stat: tree[path]!.stat)
        case .delete(let path, let version):
            connection.lastOperation = "DELE"
            try tree.delete(path, version: version, identities: identities, zxid: zxid)
            return .delete
        case .setData(let path, let data, let version):
            connection.lastOperation = "SETD"
            let stat = try tree.setData(
                path, data: data, version: version, identities: identities, zxid: zxid, time: wallClockMilliseconds())
            return .setData(stat: stat)
        case .check(let path, let version):
            connection.lastOperation = "CHEC"
            try tree.check(path, version: version, identities: identities)
            return .check
        case .getData, .getChildren:
            throw OperationError(.badArguments)
        }
    }

    private func applyMulti(_ ops: [MultiOperation], connection: ServerConnection) -> [MultiResult] {
        let changesBefore = tree.changes.count
        tree.beginTransaction()
        var results: [MultiResult] = []
        results.reserveCapacity(ops.count)
        for (index, op) in ops.enumerated() {
            do {
                var result = try applyWrite(op, connection: connection)
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
                // Every result becomes an error: earlier ops 0, the failing one its code, later ones -2.
                return ops.indices.map { i in
                    .error(i < index ? .ok : i == index ? error.code : .runtimeInconsistency)
                }
            }
        }
        tree.commitTransaction()
        return results
    }

    private func readResult(_ op: MultiOperation, identities: [Id], connection: ServerConnection) -> MultiResult {
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

    /// setWatches/setWatches2: registers the watches and fires at once what the client missed.
    private func restoreWatches(
        relativeZxid: Int64, data: [String], exist: [String], child: [String], persistent: [String],
        recursive: [String], for connection: ServerConnection
    ) {
        func send(_ path: String, _ type: EventType) {
            connection.reuseEmptyOutbox()
            connection.outbox.writeImmutableBuffer(Self.notificationFrame(path: path, type: type))
            counters.packetsSent += 1
            connection.packetsSent += 1
            markForFlush(connection)
        }
        for path in data {
            if let node = tree[path] {
                if node.mzxid > relativeZxid {
                    send(path, .nodeDataChanged)
                } else {
                    watches.add(.data, path: path, watcher: connection.id)
                }
            } else {
                send(path, .nodeDeleted)
            }
        }
        for path in exist {
            if tree[path] != nil {
                send(path, .nodeCreated)
            } else {
                watches.add(.data, path: path, watcher: connection.id)
            }
        }
        for path in child {
            if let node = tree[path] {
                if node.pzxid > relativeZxid {
                    send(path, .nodeChildrenChanged)
                } else {
                    watches.add(.child, path: path, watcher: connection.id)
                }
            } else {
                send(path, .nodeDeleted)
            }
        }
        for path in persistent { watches.add(.persistent, path: path, watcher: connection.id) }
        for path in recursive { watches.add(.persistentRecursive, path: path, watcher: connection.id) }
    }

    /// addauth: digest and ip are known; anything else fails and closes the connection.
    private func authenticate(_ packet: AuthPacket, xid: Int32, connection: ServerConnection) {
        let identity: Id
        switch packet.scheme {
        case "digest":
            identity = Id(scheme: "digest", id: AccessControl.digestIdentity(credentials: packet.auth))
        case "ip":
            identity = Id(scheme: "ip", id: connection.remoteHost)
        default:
            counters.authFailures += 1
            reply(to: connection, xid: xid, zxid: 0, error: .authFailed)
            connection.closeAfterFlush = true
            return
        }
        // ZooKeeper lists authenticated ids before the connection's ip id (seen in whoAmI).
        if !connection.identities.contains(identity) {
            connection.identities.insert(identity, at: max(0, connection.identities.count - 1))
        }
        reply(to: connection, xid: xid, zxid: 0)
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
