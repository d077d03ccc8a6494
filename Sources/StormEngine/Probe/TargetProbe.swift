import Logging
import ZooKeeperClient
import ZooKeeperProtocol

/// `zkstorm check` as a library: probes a ZooKeeper-compatible target feature by feature — every
/// operation, each watch kind and its events, multi, TTL and container nodes, the four-letter words —
/// and says of each whether it is supported, refused or answered differently from ZooKeeper 3.8.
/// Everything it creates lives under `/zkstorm/check-<random>` and is removed at the end.
package final class TargetProbe {
    package let connectString: ConnectString
    package let eventTimeout: Duration
    package let root: String
    let logger: Logger
    /// TLS, SASL and digest auth for the probe's sessions.
    package var security = ClientSecurity()
    private var results: [ProbeResult] = []

    package init(
        connectString: ConnectString,
        eventTimeout: Duration = .seconds(2),
        logger: Logger = Logger(label: "zkstorm.check")
    ) {
        self.connectString = connectString
        self.eventTimeout = eventTimeout
        self.logger = logger
        self.root = "/zkstorm/check-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// Connects two sessions (one acts, one watches), runs every check in order, cleans up.
    /// - Returns: one result per feature, in the order they ran.
    /// - Throws: `ZooKeeperError` only when the target cannot be reached (the error names the hosts).
    package func run() async throws -> [ProbeResult] {
        var configuration = ZooKeeperConfiguration(connectString: connectString.description)
        configuration.sessionTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(3)
        security.apply(to: &configuration)
        let client = try await ZooKeeperClient.connect(configuration)
        let watcher: ZooKeeperClient
        do {
            watcher = try await ZooKeeperClient.connect(configuration)
        } catch {
            try? await client.close()
            throw error
        }
        let events = ProbeEventLog()
        let checks = FeatureChecks(
            client: client,
            watcher: watcher,
            events: events,
            eventTimeout: eventTimeout,
            root: root,
            fourLetterWordServer: connectString.hosts[0]
        )
        results = []
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await events.consume(watcher.events) }
            await runChecks(checks)
            try? await watcher.close()
            try? await client.close()
            group.cancelAll()
        }
        return results
    }

    private func runChecks(_ checks: FeatureChecks) async {
        let createdParent = await prepareRoot(checks)
        if results.contains(where: { $0.core && $0.outcome != .supported }) { return }
        await record("create2", "operations", core: false, checks.create2)
        await record("exists", "operations", core: true, checks.exists)
        await record("getData", "operations", core: true, checks.getData)
        await record("setData", "operations", core: true, checks.setData)
        await record("getChildren", "operations", core: true, checks.getChildren)
        await record("getChildren2", "operations", core: false, checks.getChildren2)
        await record("delete", "operations", core: true, checks.delete)
        await record("create errors", "operations", core: true, checks.createErrors)
        await record("sequential", "nodes", core: true, checks.sequential)
        await record("ephemeral", "nodes", core: true, checks.ephemeral)
        await record("getACL/setACL", "operations", core: true, checks.acl)
        await record("sync", "operations", core: true, checks.sync)
        await record("digest auth", "operations", core: false, checks.digestAuth)

        await record("multi", "multi", core: true, checks.multi)
        await record("multi failure", "multi", core: true, checks.multiFailure)
        await record("multiRead", "multi", core: false, checks.multiRead)

        await record("TTL nodes", "nodes", core: false, checks.ttlNodes)
        await record("containers", "nodes", core: false, checks.containers)
        await record("getEphemerals", "operations", core: false, checks.getEphemerals)
        await record("getAllChildrenNumber", "operations", core: false, checks.getAllChildrenNumber)
        await record("whoAmI", "operations", core: false, checks.whoAmI)

        _ = try? await checks.client.create(checks.watchDirectory)
        await record("exists watch (missing node)", "watches", core: true, checks.existsWatchOnMissingNode)
        await record("exists watch (node)", "watches", core: true, checks.existsWatchOnNode)
        await record("getData watch", "watches", core: true, checks.getDataWatch)
        await record("one-shot", "watches", core: true, checks.oneShot)
        await record("getChildren watch", "watches", core: true, checks.getChildrenWatch)
        await record(
            "delete fires data+child watches once",
            "watches",
            core: true,
            checks.deleteFiresDataAndChildWatchesOnce
        )
        await record("setACL fires nothing", "watches", core: false, checks.setACLFiresNothing)
        await record("checkWatches/removeWatches", "watches", core: false, checks.checkAndRemoveWatches)
        await record("persistent watch", "watches", core: false, checks.persistentWatch)
        await record("persistent recursive watch", "watches", core: false, checks.persistentRecursiveWatch)

        // While the watcher still holds its persistent watches, so wchc/wchp have something to list.
        // Four-letter words are plaintext; a TLS port would only time out on them.
        if security.tls == nil {
            for expectation in checks.fourLetterWords {
                await record(expectation.word, "four-letter words", core: false) {
                    try await checks.fourLetterWord(expectation)
                }
            }
        }
        await record("cleanup", "operations", core: false) {
            try await self.cleanUp(checks.client, removeParent: createdParent)
        }
    }

    /// Creates /zkstorm (if missing) and the check root; true when /zkstorm was created here.
    private func prepareRoot(_ checks: FeatureChecks) async -> Bool {
        var createdParent = false
        await record("create", "operations", core: true) {
            do {
                _ = try await checks.client.create("/zkstorm")
                createdParent = true
            } catch let error as ZooKeeperError where error.code == .nodeExists {
            }
            return try await checks.create()
        }
        return createdParent
    }

    /// Removes the check root, and /zkstorm when this probe created it and nothing else lives there.
    private func cleanUp(_ client: ZooKeeperClient, removeParent: Bool) async throws -> String {
        try await client.deleteRecursive(root)
        if removeParent, try await client.getChildren("/zkstorm").isEmpty {
            try await client.delete("/zkstorm")
        }
        return "removed \(root)"
    }

    /// Runs one check and records its outcome: supported with the check's detail, wrong for a
    /// `ProbeMismatch`, unsupported for any other error.
    private func record(
        _ feature: String,
        _ category: String,
        core: Bool,
        _ check: () async throws -> String
    ) async {
        let outcome: ProbeResult.Outcome
        let detail: String
        do {
            detail = try await check()
            outcome = .supported
        } catch let mismatch as ProbeMismatch {
            (outcome, detail) = (.wrong, mismatch.description)
        } catch let error as ZooKeeperError {
            (outcome, detail) = (.unsupported, error.message)
        } catch {
            (outcome, detail) = (.unsupported, "\(error)")
        }
        logger.debug("probed", metadata: ["feature": "\(feature)", "outcome": "\(outcome.rawValue)"])
        results.append(ProbeResult(feature: feature, category: category, core: core, outcome: outcome, detail: detail))
    }
}
