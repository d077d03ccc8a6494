import Logging
import ZooKeeperClient

extension StormRun {
    /// Before the load starts in a sharded run: this shard's clock against the target's, the barrier
    /// (every shard registered with its sessions open), then the wait until shard 0's start time, so
    /// every shard begins its warm-up, and so its measurement, at the same moment.
    func meet(_ barrier: ShardBarrier, shard: ShardContext, layout: RunLayout, control: SupervisedSession) async throws
    {
        let own: ClockOffset
        do {
            own = try await ShardClock.offsetToTarget(client: control.client, path: barrier.clockPath, acl: layout.acl)
        } catch let error as ZooKeeperError {
            throw RunError(
                .unavailable,
                "cannot measure the clock offset to the target at \(barrier.clockPath): \(error.message)"
            )
        }
        let start = try await barrier.meet(control.client, clock: own, stop: stop)
        let toWriter = barrier.shard.isLeader ? ClockOffset.zero : own.relative(to: start.leaderClock)
        shard.toWriter = toWriter
        logger.debug(
            "shards met",
            metadata: [
                "shard": "\(barrier.shard.index)/\(barrier.shard.count)",
                "clock_offset_ns": "\(toWriter.offsetNanoseconds)", "clock_error_ns": "\(toWriter.errorNanoseconds)",
            ]
        )
        await ShardBarrier.sleep(until: start, toLeader: toWriter, stop: stop)
    }
}

extension StormRun {
    /// The storm of a shard that does not write, during the measurement: its watchers' notifications
    /// are filed by round as they arrive (WatchStorm+Follower.swift); this waits until shard 0 is done
    /// writing or gone (its session ended: it died; checked every 100 ms), the measurement ends, or the
    /// run is stopped.
    func follow(_ follow: StormFollow, end: UInt64) async {
        while !stop.isSet && RunClock.now() < end {
            let client = follow.reader.client
            if await follow.barrier.isDone(client, shard: 0) { return }
            if await follow.barrier.isGone(client, shard: 0) {
                logger.warning("shard 0, the storm's writer, is gone (its session ended): no more rounds to follow")
                return
            }
            await Self.sleep(until: min(end, RunClock.now() + 100_000_000), stop: stop)
        }
    }

    /// After the measurement, before the done mark: shard 0 publishes its rounds' stamps; after the
    /// barrier's end, every other shard times its followed rounds against them.
    func shareStormStamps(_ storm: WatchStorm, barrier: ShardBarrier, control: SupervisedSession) async {
        guard !storm.follows else { return }
        await barrier.publishStamps(control.client, storm.sentWallStamps)
    }

    /// A following shard, once every shard is done: its rounds timed against the writer's stamps.
    func recordFollowedRounds(
        _ storm: WatchStorm,
        barrier: ShardBarrier,
        control: SupervisedSession,
        toWriter: ClockOffset,
        measureStart: UInt64
    ) async {
        guard storm.follows else { return }
        let stamps = await barrier.stamps(control.client)
        storm.recordFollowedRounds(
            stamps: stamps,
            toWriter: toWriter,
            wallMinusMonotonic: ShardClock.wallMinusMonotonic(),
            measureStart: measureStart
        )
    }
}
