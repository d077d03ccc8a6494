import Foundation
import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient
import ZooKeeperProtocol

/// Creates the run's tree and removes it again. Nothing outside `layout.root` is ever written or
/// deleted, except the missing ancestors of the root (e.g. `/zkstorm`): the run creates them empty and
/// removes again exactly those it created, when nothing else has appeared in them.
struct RunRootSetup {
    let client: ZooKeeperClient
    let layout: RunLayout
    let logger: Logger
    /// What the root's data says about its owner (`zkstorm clean` reads it).
    var owner: RunRootOwner? = nil
    /// The ancestors this run created, outermost first (shared with `cleaner`'s copies).
    var createdAncestors = NIOLockedValueBox<[String]>([])

    /// Creates the root (refusing one that exists: it may belong to another run), its directories,
    /// the key space and the watched znodes. Once `stop` is set (Ctrl-C) it returns early with part
    /// of the tree made; cleanup removes whatever exists.
    func create(watchedKind: WatchKind?, stop: StopFlag? = nil, chroot: String? = nil) async throws {
        if let chroot, (try? await client.exists("/")) == nil {
            throw RunError(
                .usage,
                "the chroot \(chroot) of the connect string does not exist on the target; create it first (zkCli.sh create \(chroot)) or leave it out of --target"
            )
        }
        try await createAncestors()
        let data = owner.map { Array($0.encoded().utf8) } ?? Array("zkstorm run root".utf8)
        do {
            do {
                _ = try await client.create(layout.root, data: data, acl: layout.acl)
            } catch let error as ZooKeeperError where error.code == .noNode {
                // Another run removed an ancestor it had created between our check and our create.
                try await createAncestors()
                _ = try await client.create(layout.root, data: data, acl: layout.acl)
            }
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            throw RunError(
                .usage,
                "the run root \(layout.root) already exists (another run, or one that was killed); choose another --root or remove it with `zkstorm clean`"
            )
        } catch let error as ZooKeeperError {
            throw RunError(.unavailable, "cannot create the run root \(layout.root): \(error.message)")
        }
        // Lives as long as the control session: `zkstorm clean` leaves a root alone while it exists.
        if owner != nil {
            _ = try? await client.create(layout.root + "/" + RunRootOwner.liveNode, mode: .ephemeral)
        }
        for directory in layout.setupDirectories {
            try check(
                await PipelinedRequests.codes(
                    client,
                    [.create(CreateRequest(path: directory, data: nil, acl: layout.acl), opCode: .create)]
                ),
                "create \(directory)"
            )
        }
        // In chunks, so an interrupt does not wait for a large key space.
        for chunk in stride(from: 0, to: layout.keys.count, by: 1024) {
            if stop?.isSet == true { return }
            let keys = layout.keys[chunk..<min(chunk + 1024, layout.keys.count)].map {
                ZooKeeperRequest.create(CreateRequest(path: $0, data: layout.value, acl: layout.acl), opCode: .create)
            }
            try check(await PipelinedRequests.codes(client, keys), "create the key space under \(layout.keysDirectory)")
        }
        if stop?.isSet == true { return }
        let watched = layout.watched.map {
            ZooKeeperRequest.create(
                CreateRequest(path: $0, data: Array("zkstorm".utf8), acl: layout.acl),
                opCode: .create
            )
        }
        try check(
            await PipelinedRequests.codes(client, watched),
            "create the watched znodes under \(layout.watchedDirectory)"
        )
        let herd = layout.herd.map {
            ZooKeeperRequest.create(CreateRequest(path: $0, data: layout.value, acl: layout.acl), opCode: .create)
        }
        try check(await PipelinedRequests.codes(client, herd), "create the herd's tree under \(layout.herdDirectory)")
        logger.debug("run tree created", metadata: ["root": "\(layout.root)", "keys": "\(layout.keys.count)"])
    }

    private func createAncestors() async throws {
        var ancestors: [String] = []
        var parent = ZooKeeperPath.parent(of: layout.root)
        while parent != "/" {
            ancestors.insert(parent, at: 0)
            parent = ZooKeeperPath.parent(of: parent)
        }
        for ancestor in ancestors {
            do {
                _ = try await client.create(ancestor)
                createdAncestors.withLockedValue { if !$0.contains(ancestor) { $0.append(ancestor) } }
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                continue
            } catch let error as ZooKeeperError {
                throw RunError(.unavailable, "cannot create \(ancestor) on the target: \(error.message)")
            }
        }
    }

    private func check(_ codes: [ErrorCode], _ what: String) throws {
        if let failure = codes.first(where: { $0 != .ok }) {
            throw RunError(.unavailable, "could not \(what): \(failure.name)")
        }
    }

    /// The same tree handled through another session (the control session's replacement after expiry).
    func cleaner(_ client: ZooKeeperClient) -> RunRootSetup {
        RunRootSetup(
            client: client,
            layout: layout,
            logger: logger,
            owner: owner,
            createdAncestors: createdAncestors
        )
    }

    /// Deletes the ancestors this run created, innermost first, each only if empty (another run may
    /// have started under it meanwhile: then it stays, and so do its parents).
    private func removeCreatedAncestors() async {
        for ancestor in createdAncestors.withLockedValue({ $0 }).reversed() {
            do {
                try await client.delete(ancestor)
            } catch let error as ZooKeeperError where error.code == .noNode {
                continue
            } catch {
                logger.debug("created ancestor kept", metadata: ["path": "\(ancestor)", "error": "\(error)"])
                return
            }
        }
    }

    /// Every znode of the subtree at `path`, level by level (the root first), each level pipelined.
    static func subtree(_ client: ZooKeeperClient, of path: String) async throws -> [String] {
        var all: [String] = [path]
        var level = [path]
        while !level.isEmpty {
            let outcomes = await PipelinedRequests.run(client, level.map { .getChildren(path: $0, watch: false) })
            var next: [String] = []
            for (parent, outcome) in zip(level, outcomes) {
                if case .success(.children(let names)) = outcome { next += names.map { parent + "/" + $0 } }
            }
            all += next
            level = next
        }
        return all
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
                "cleanup of \(layout.root) did not finish: nodes keep appearing under it; delete it by hand"
            )
        } catch {
            throw RunError(.unavailable, "cleanup of \(layout.root) failed: \(error.code.name)")
        }
        await removeCreatedAncestors()
    }
}
