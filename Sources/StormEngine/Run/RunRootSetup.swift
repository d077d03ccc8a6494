import Logging
import ZooKeeperClient
import ZooKeeperProtocol

/// Creates the run's tree and removes it again. Nothing outside `layout.root` is ever written or
/// deleted, except that missing ancestors of the root (e.g. `/zkstorm`) are created, empty, and left.
struct RunRootSetup {
    let client: ZooKeeperClient
    let layout: RunLayout
    let logger: Logger

    /// Creates the root (refusing one that exists: it may belong to another run), its directories,
    /// the key space and the watched znodes. Once `stop` is set (Ctrl-C) it returns early with part
    /// of the tree made; cleanup removes whatever exists.
    func create(watchedKind: WatchKind?, stop: StopFlag? = nil) async throws {
        var ancestors: [String] = []
        var parent = ZooKeeperPath.parent(of: layout.root)
        while parent != "/" {
            ancestors.insert(parent, at: 0)
            parent = ZooKeeperPath.parent(of: parent)
        }
        for ancestor in ancestors {
            do {
                _ = try await client.create(ancestor)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                continue
            } catch let error as ZooKeeperError {
                throw RunError(.unavailable, "cannot create \(ancestor) on the target: \(error.message)")
            }
        }
        do {
            _ = try await client.create(layout.root, data: Array("zkstorm run root".utf8))
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            throw RunError(
                .usage,
                "the run root \(layout.root) already exists (another run, or one that was killed); choose another --root or delete it"
            )
        } catch let error as ZooKeeperError {
            throw RunError(.unavailable, "cannot create the run root \(layout.root): \(error.message)")
        }
        for directory in layout.setupDirectories {
            try check(
                await PipelinedRequests.codes(
                    client, [.create(CreateRequest(path: directory, data: nil), opCode: .create)]),
                "create \(directory)")
        }
        // In chunks, so an interrupt does not wait for a large key space.
        for chunk in stride(from: 0, to: layout.keys.count, by: 1024) {
            if stop?.isSet == true { return }
            let keys = layout.keys[chunk..<min(chunk + 1024, layout.keys.count)].map {
                ZooKeeperRequest.create(CreateRequest(path: $0, data: layout.value), opCode: .create)
            }
            try check(await PipelinedRequests.codes(client, keys), "create the key space under \(layout.keysDirectory)")
        }
        if stop?.isSet == true { return }
        let watched = layout.watched.map {
            ZooKeeperRequest.create(CreateRequest(path: $0, data: Array("zkstorm".utf8)), opCode: .create)
        }
        try check(
            await PipelinedRequests.codes(client, watched), "create the watched znodes under \(layout.watchedDirectory)"
        )
        logger.debug("run tree created", metadata: ["root": "\(layout.root)", "keys": "\(layout.keys.count)"])
    }

    private func check(_ codes: [ErrorCode], _ what: String) throws {
        if let failure = codes.first(where: { $0 != .ok }) {
            throw RunError(.unavailable, "could not \(what): \(failure.name)")
        }
    }

    /// The same tree handled through another session (the control session's replacement after expiry).
    func cleaner(_ client: ZooKeeperClient) -> RunRootSetup {
        RunRootSetup(client: client, layout: layout, logger: logger)
    }

    /// Deletes the root and everything below it (the client's pipelined `deleteRecursive`, which never
    /// leaves the root and retries while a node gains children, e.g. an ephemeral of a closing session).
    func removeAll() async throws {
        do {
            let deleted = try await client.deleteRecursive(layout.root)
            logger.debug("run tree removed", metadata: ["root": "\(layout.root)", "znodes": "\(deleted)"])
        } catch  where error.code == .notEmpty {
            throw RunError(
                .unavailable,
                "cleanup of \(layout.root) did not finish: nodes keep appearing under it; delete it by hand")
        } catch {
            throw RunError(.unavailable, "cleanup of \(layout.root) failed: \(error.code.name)")
        }
    }
}
