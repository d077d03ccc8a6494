import ZooKeeperProtocol

extension ZooKeeperRequest {
    /// The same request with every path passed through `transform` (used to prepend the chroot).
    func mappingPaths(_ transform: (String) -> String) -> ZooKeeperRequest {
        switch self {
        case .create(var c, let op):
            c.path = transform(c.path)
            return .create(c, opCode: op)
        case .delete(let p, let v): return .delete(path: transform(p), version: v)
        case .exists(let p, let w): return .exists(path: transform(p), watch: w)
        case .getData(let p, let w): return .getData(path: transform(p), watch: w)
        case .setData(let p, let d, let v): return .setData(path: transform(p), data: d, version: v)
        case .getACL(let p): return .getACL(path: transform(p))
        case .setACL(let p, let a, let v): return .setACL(path: transform(p), acl: a, version: v)
        case .getChildren(let p, let w): return .getChildren(path: transform(p), watch: w)
        case .getChildren2(let p, let w): return .getChildren2(path: transform(p), watch: w)
        case .sync(let p): return .sync(path: transform(p))
        case .check(let p, let v): return .check(path: transform(p), version: v)
        case .multi(let ops): return .multi(ops.map { $0.mappingPaths(transform) })
        case .multiRead(let ops): return .multiRead(ops.map { $0.mappingPaths(transform) })
        case .checkWatches(let p, let t): return .checkWatches(path: transform(p), type: t)
        case .removeWatches(let p, let t): return .removeWatches(path: transform(p), type: t)
        case .getEphemerals(let p): return .getEphemerals(prefixPath: transform(p))
        case .getAllChildrenNumber(let p): return .getAllChildrenNumber(path: transform(p))
        case .addWatch(let p, let m): return .addWatch(path: transform(p), mode: m)
        case .setWatches, .setWatches2, .reconfig, .whoAmI, .ping, .auth, .sasl, .closeSession:
            return self
        }
    }

    /// Every path the request names (multi ops included), for validation.
    var allPaths: [String] {
        switch self {
        case .multi(let ops), .multiRead(let ops): ops.map(\.path)
        default: path.map { [$0] } ?? []
        }
    }
}

extension MultiOperation {
    func mappingPaths(_ transform: (String) -> String) -> MultiOperation {
        switch self {
        case .create(var c, let op):
            c.path = transform(c.path)
            return .create(c, opCode: op)
        case .delete(let p, let v): return .delete(path: transform(p), version: v)
        case .setData(let p, let d, let v): return .setData(path: transform(p), data: d, version: v)
        case .check(let p, let v): return .check(path: transform(p), version: v)
        case .getData(let p): return .getData(path: transform(p))
        case .getChildren(let p): return .getChildren(path: transform(p))
        }
    }
}

extension ZooKeeperResponse {
    /// The same response with server paths turned into client paths.
    func strippingChroot(_ session: ClientSession) -> ZooKeeperResponse {
        switch self {
        case .create(let path): return .create(path: session.clientPath(path))
        case .create2(let path, let stat): return .create2(path: session.clientPath(path), stat: stat)
        case .sync(let path): return .sync(path: session.clientPath(path))
        case .ephemerals(let paths): return .ephemerals(paths.map(session.clientPath))
        case .multi(let results):
            return .multi(
                results.map { result in
                    switch result {
                    case .create(let path): .create(path: session.clientPath(path))
                    case .create2(let path, let stat): .create2(path: session.clientPath(path), stat: stat)
                    default: result
                    }
                }
            )
        default:
            return self
        }
    }
}
