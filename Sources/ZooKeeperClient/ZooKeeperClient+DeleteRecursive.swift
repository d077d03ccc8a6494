import ZooKeeperProtocol

extension ZooKeeperClient {
    /// Deletes `path` and every znode below it.
    ///
    /// Lists the tree breadth first, one pipelined `getChildren` per node of a level, then deletes the
    /// levels deepest first, each level's deletes pipelined with at most `window` in flight. A node that
    /// is already gone (NONODE) counts as deleted; a node that gained children meanwhile (NOTEMPTY, e.g. an
    /// ephemeral of a session still closing) makes it start again, up to `attempts` times. Nothing outside
    /// `path` is touched. A missing `path` is not an error.
    ///
    /// - Parameters:
    ///   - path: the top of the tree to delete (client path, chroot applied on the wire); not "/".
    ///   - window: the most requests in flight at once.
    ///   - attempts: how many times to list and delete again while nodes keep appearing.
    /// - Returns: how many znodes this call deleted.
    /// - Throws: `ZooKeeperError` with the code of the first delete that failed for another reason than
    ///   NONODE (NOAUTH, CONNECTIONLOSS, …) and its path; NOTEMPTY when nodes still kept appearing after
    ///   the last attempt.
    ///
    /// On the wire: `getChildren` (opcode 8, no watch) per listed node, then `delete` (opcode 2, version
    /// -1) per node, pipelined.
    @discardableResult
    public func deleteRecursive(
        _ path: String,
        window: Int = 512,
        attempts: Int = 3
    ) async throws(ZooKeeperError)
        -> Int
    {
        guard path != "/" else {
            throw .badArguments("deleteRecursive(\"/\") would delete the whole tree: name a node below /", path: path)
        }
        var deleted = 0
        for _ in 1...max(attempts, 1) {
            var levels: [[String]] = [[path]]
            while let last = levels.last, !last.isEmpty {
                let outcomes = await pipeline(last.map { .getChildren(path: $0, watch: false) }, window: window)
                var next: [String] = []
                for (parent, outcome) in zip(last, outcomes) {
                    if case .success(.children(let names)) = outcome {
                        next += names.map { ZooKeeperPath.join(parent, $0) }
                    }
                }
                levels.append(next)
            }
            var appeared = false
            for level in levels.reversed() where !level.isEmpty {
                let outcomes = await pipeline(level.map { .delete(path: $0, version: -1) }, window: window)
                for (node, outcome) in zip(level, outcomes) {
                    switch outcome {
                    case .success:
                        deleted += 1
                    case .failure(let error) where error.code == .noNode:
                        continue
                    case .failure(let error) where error.code == .notEmpty:
                        appeared = true
                    case .failure(let error):
                        throw ZooKeeperError(
                            code: error.code,
                            path: node,
                            message: "deleting \(path) recursively: cannot delete \(node): \(error.message)"
                        )
                    }
                }
            }
            if !appeared { return deleted }
        }
        throw ZooKeeperError(
            code: .notEmpty,
            path: path,
            message:
                "deleting \(path) recursively: nodes keep appearing under it after \(attempts) attempts; stop what creates them and retry"
        )
    }
}
