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
    /// The storm of a shard that does not write: follows the writer's rounds until shard 0 is done.
    func follow(_ storm: WatchStorm, _ follow: StormFollow, measureStart: UInt64, end: UInt64) async {
        let barrier = follow.barrier
        let reader = follow.reader
        await storm.followRounds(
            reader: reader.client,
            toWriter: follow.toWriter,
            wallMinusMonotonic: ShardClock.wallMinusMonotonic(),
            measureStart: measureStart,
            end: end,
            stop: stop,
            writerDone: { await barrier.isDone(reader.client, shard: 0) }
        )
    }
}
