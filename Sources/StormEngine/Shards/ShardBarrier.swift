import Foundation
import Logging
import ZooKeeperClient
import ZooKeeperProtocol

/// The double barrier the shards of one run meet at, under the run root on the target itself:
///
/// ```
/// <root>/shards/setup       shard 0 made the run tree (data: the ancestors it created)
/// <root>/shards/clock-<i>   shard i's clock samples (ShardClock)
/// <root>/shards/ready-<i>   ephemeral: shard i's sessions are open (data: its clock offset to the target)
/// <root>/shards/start       shard 0 saw every shard ready (data: the start wall clock, its clock offset)
/// <root>/shards/stamps      the storm's writer (shard 0): each round's payload stamp, once it is done
/// <root>/shards/done-<i>    shard i ended its measurement
/// <root>/shards/cleanup     the last shard out claims the cleanup
/// ```
///
/// Shard 0 sets the run up and the others wait for it; every shard registers its ephemeral `ready`
/// node; once all are there, shard 0 publishes a start time a moment ahead (`startLead`) and every
/// shard begins its load at that wall-clock time (corrected by its clock offset to shard 0). After the
/// measurement each shard marks itself done and waits until every other shard is done or gone (its
/// ephemeral vanished with its session: it died); the last one to leave removes the run root. Every
/// wait is polled every 20 ms and bounded by `wait` (`--shard-wait`).
package struct ShardBarrier: Sendable {
    package let shard: ShardSpec
    package let directory: String
    package let wait: Duration
    let acl: [ACL]
    let logger: Logger
    /// How far ahead of "everyone is ready" shard 0 sets the start.
    static let startLead: Int64 = 300_000_000

    package init(shard: ShardSpec, root: String, wait: Duration, acl: [ACL] = ACL.openUnsafe, logger: Logger) {
        self.shard = shard
        self.directory = Self.directory(of: root)
        self.wait = wait
        self.acl = acl
        self.logger = logger
    }

    /// The barrier's directory under a run root.
    static func directory(of root: String) -> String { root + "/shards" }
    /// The prefix of the shards' ephemeral `ready-<i>` nodes.
    static let readyPrefix = "ready-"

    /// Whether any shard of the run at `root` is still registered (holds its ephemeral `ready` node):
    /// `zkstorm clean` leaves such a root alone, also when shard 0, the owner of the root's `owner`
    /// ephemeral, is gone. False when the barrier is not there or cannot be read.
    package static func isHeld(_ client: ZooKeeperClient, root: String) async -> Bool {
        guard let names = try? await client.getChildren(directory(of: root)) else { return false }
        return names.contains { $0.hasPrefix(readyPrefix) }
    }

    var setupPath: String { directory + "/setup" }
    var startPath: String { directory + "/start" }
    var cleanupPath: String { directory + "/cleanup" }
    func readyPath(_ index: Int) -> String { directory + "/" + Self.readyPrefix + "\(index)" }
    func donePath(_ index: Int) -> String { directory + "/done-\(index)" }
    package var clockPath: String { directory + "/clock-\(shard.index)" }

    /// What shard 0 publishes when everyone is ready.
    package struct Start: Codable, Sendable, Equatable {
        /// Wall clock of shard 0 at which every shard begins (warm-up first), ns since 1970.
        package var startUnixNanoseconds: Int64
        /// Shard 0's clock against the target's.
        package var leaderClock: ClockOffset

        enum CodingKeys: String, CodingKey {
            case startUnixNanoseconds = "start_unix_ns"
            case leaderClock = "leader_clock"
        }
    }

    // MARK: Setup

    /// Shard 0, after creating the run tree: the barrier's directory and the `setup` mark, holding the
    /// ancestors of the root it created (whichever shard cleans up removes them).
    package func publishSetup(_ client: ZooKeeperClient, createdAncestors: [String]) async throws {
        let data = (try? JSONEncoder().encode(createdAncestors)).map { Array($0) } ?? []
        do {
            _ = try await client.create(directory, acl: acl)
            _ = try await client.create(setupPath, data: data, acl: acl)
        } catch let error as ZooKeeperError {
            throw RunError(.unavailable, "cannot create the shard barrier \(directory): \(error.message)")
        }
    }

    /// Shards 1…N-1: waits for shard 0's `setup` mark and returns the ancestors it created (none when
    /// `stop` is set first).
    package func awaitSetup(_ client: ZooKeeperClient, stop: StopFlag) async throws -> [String] {
        let deadline = RunClock.now() + UInt64(wait.nanoseconds)
        while !stop.isSet {
            if let (data, _) = try? await client.getData(setupPath) {
                return (try? JSONDecoder().decode([String].self, from: Data(data))) ?? []
            }
            guard RunClock.now() < deadline else {
                throw RunError(
                    .unavailable,
                    "shard 0 of run \(shard.runId) has not set up \(directory) within \(DurationText.format(wait)) (--shard-wait): start shard 0 (--shard 0/\(shard.count) --run-id \(shard.runId)) against the same target, or raise --shard-wait"
                )
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Interrupted: the run ends before it began, and reports so.
        return []
    }

    // MARK: Ready, start

    /// Registers this shard (its ephemeral `ready` node, holding `clock`), waits for every shard and
    /// returns the start shard 0 published. Throws (exit 69) naming the shards that did not register
    /// within `wait`.
    package func meet(_ client: ZooKeeperClient, clock: ClockOffset, stop: StopFlag) async throws -> Start {
        let data = (try? JSONEncoder().encode(clock)).map { Array($0) } ?? []
        do {
            _ = try await client.create(readyPath(shard.index), data: data, acl: acl, mode: .ephemeral)
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            throw RunError(
                .usage,
                "shard \(shard.index) of run \(shard.runId) is already running (\(readyPath(shard.index)) exists): give each shard its own index"
            )
        } catch let error as ZooKeeperError {
            throw RunError(.unavailable, "cannot register at \(directory): \(error.message)")
        }
        let deadline = RunClock.now() + UInt64(wait.nanoseconds)
        if shard.isLeader {
            while true {
                let missing = await self.missing(client)
                if missing.isEmpty { break }
                if stop.isSet { return Start(startUnixNanoseconds: ShardClock.wallNow(), leaderClock: clock) }
                guard RunClock.now() < deadline else {
                    throw RunError(
                        .unavailable,
                        "\(Self.names(missing)) of \(shard.count) did not register at \(directory) within \(DurationText.format(wait)) (--shard-wait): start every shard with --run-id \(shard.runId) against the same target, or raise --shard-wait"
                    )
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            let start = Start(startUnixNanoseconds: ShardClock.wallNow() + Self.startLead, leaderClock: clock)
            let encoded = (try? JSONEncoder().encode(start)).map { Array($0) } ?? []
            do {
                _ = try await client.create(startPath, data: encoded, acl: acl)
            } catch let error as ZooKeeperError {
                throw RunError(.unavailable, "cannot publish the start at \(startPath): \(error.message)")
            }
            return start
        }
        while !stop.isSet {
            if let (data, _) = try? await client.getData(startPath),
                let start = try? JSONDecoder().decode(Start.self, from: Data(data))
            {
                return start
            }
            guard RunClock.now() < deadline else {
                let missing = await self.missing(client)
                let who = missing.isEmpty ? "shard 0 did not publish the start" : "\(Self.names(missing)) not ready"
                throw RunError(
                    .unavailable,
                    "the shards of run \(shard.runId) did not all get ready within \(DurationText.format(wait)) (--shard-wait): \(who); start every shard with --run-id \(shard.runId), or raise --shard-wait"
                )
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Interrupted: the measurement that follows ends at once.
        return Start(startUnixNanoseconds: ShardClock.wallNow(), leaderClock: clock)
    }

    /// Shards whose `ready` node is not there.
    func missing(_ client: ZooKeeperClient) async -> [Int] {
        guard let names = try? await client.getChildren(directory) else { return Array(0..<shard.count) }
        let present = Set(names)
        return (0..<shard.count).filter { !present.contains(Self.readyPrefix + "\($0)") }
    }

    /// "shard 2" or "shards 1, 2".
    static func names(_ indices: [Int]) -> String {
        (indices.count == 1 ? "shard " : "shards ") + indices.map(String.init).joined(separator: ", ")
    }

    /// Sleeps until shard 0's start time on this clock (`toLeader`: this clock against shard 0's).
    package static func sleep(until start: Start, toLeader: ClockOffset, stop: StopFlag) async {
        let local = start.startUnixNanoseconds &+ toLeader.offsetNanoseconds
        while !stop.isSet {
            let left = local - ShardClock.wallNow()
            guard left > 0 else { return }
            try? await Task.sleep(nanoseconds: UInt64(min(left, 20_000_000)))
        }
    }

    // MARK: Done, leave

    /// Marks this shard done and waits (up to `wait`, not at all when `quick`) until every other shard
    /// is done or gone. Returns the shards that are not done: gone (died), or still running when the
    /// wait ran out.
    package func finish(_ client: ZooKeeperClient, quick: Bool) async -> [Int] {
        do {
            _ = try await client.create(donePath(shard.index), acl: acl)
        } catch {
            logger.debug("could not mark the shard done", metadata: ["error": "\(error)"])
        }
        let deadline = RunClock.now() + (quick ? 0 : UInt64(wait.nanoseconds))
        while true {
            let names = Set((try? await client.getChildren(directory)) ?? [])
            let others = (0..<shard.count).filter { $0 != shard.index }
            let notDone = others.filter { !names.contains("done-\($0)") }
            let running = notDone.filter { names.contains(Self.readyPrefix + "\($0)") }
            if running.isEmpty || RunClock.now() >= deadline { return notDone }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    var stampsPath: String { directory + "/stamps" }

    /// Shard 0, the storm's writer, after its rounds: each round's payload stamp (round → wall ns).
    package func publishStamps(_ client: ZooKeeperClient, _ stamps: [Int: UInt64]) async {
        let encoded =
            (try? JSONEncoder().encode(Dictionary(uniqueKeysWithValues: stamps.map { (String($0.key), $0.value) }))).map
        { Array($0) } ?? []
        do {
            _ = try await client.create(stampsPath, data: encoded, acl: acl)
        } catch {
            logger.debug("could not publish the storm's stamps", metadata: ["error": "\(error)"])
        }
    }

    /// The writer's round stamps (empty when it published none: it died, or the run had no storm).
    package func stamps(_ client: ZooKeeperClient) async -> [Int: UInt64] {
        guard let (data, _) = try? await client.getData(stampsPath),
            let decoded = try? JSONDecoder().decode([String: UInt64].self, from: Data(data))
        else { return [:] }
        var stamps: [Int: UInt64] = [:]
        for (key, value) in decoded { if let round = Int(key) { stamps[round] = value } }
        return stamps
    }

    /// Whether shard `index` has marked itself done.
    package func isDone(_ client: ZooKeeperClient, shard index: Int) async -> Bool {
        (try? await client.exists(donePath(index))) != nil
    }

    /// Whether shard `index` is gone: its ephemeral `ready` node is not there (its session ended before
    /// it left), as far as the target answered (false when it did not).
    package func isGone(_ client: ZooKeeperClient, shard index: Int) async -> Bool {
        do {
            return try await client.exists(readyPath(index)) == nil
        } catch {
            return false
        }
    }

    /// Leaves the barrier (removes this shard's `ready` node); true when this shard is the last one out
    /// and has claimed the cleanup of the run root.
    package func leave(_ client: ZooKeeperClient) async -> Bool {
        do {
            try await client.delete(readyPath(shard.index))
        } catch let error as ZooKeeperError where error.code == .noNode {
            // Never registered (failed before), or its session ended.
        } catch {
            logger.debug("could not leave the shard barrier", metadata: ["error": "\(error)"])
            return false
        }
        guard let names = try? await client.getChildren(directory) else {
            // No barrier: shard 0 failed before it was made; the root (if any) is its to remove.
            return shard.isLeader
        }
        guard !names.contains(where: { $0.hasPrefix(Self.readyPrefix) }) else { return false }
        do {
            _ = try await client.create(cleanupPath, acl: acl)
            return true
        } catch {
            return false
        }
    }
}
