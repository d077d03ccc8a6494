import NIOConcurrencyHelpers
import ZooKeeperClient

/// A watch storm in a shard that does not write (shards 1…N-1): shard 0 writes the rounds, and this
/// shard's watchers count. A round opens on the first notification that arrives with none open; the
/// shard then reads each watched znode's payload once (StormPayload: the writer's wall-clock send
/// stamp) and times every notification of the round against it, moved onto this shard's monotonic
/// clock with the shard's clock offset to the writer (whose error bar the result reports). The round
/// closes when every watcher of this shard has heard every write, or `storm.timeout` after it opened.
extension WatchStorm {
    /// Under the state lock: the first notification with no round open opens the next one.
    func openFollowedRound(_ state: inout State, at arrival: UInt64) {
        state.followedRounds += 1
        state.tracker = StormRoundTracker(round: state.followedRounds, watchers: state.active, znodes: spec.znodes)
        state.roundOpenedAt = arrival
    }

    /// Follows the writer's rounds until it has written them all (`writerDone`, checked every 100 ms
    /// between rounds), this shard has closed `storm.rounds` of them, `end` passes or `stop` is set.
    /// `reader` reads the payloads; `toWriter` is this clock against the writer's; `wallMinusMonotonic`
    /// converts this shard's wall clock to RunClock.
    func followRounds(
        reader: ZooKeeperClient,
        toWriter: ClockOffset,
        wallMinusMonotonic: Int64,
        measureStart: UInt64,
        end: UInt64,
        stop: StopFlag,
        writerDone: @escaping @Sendable () async -> Bool
    ) async {
        let timeout = UInt64(spec.storm.timeout.nanoseconds)
        var closed = 0
        var fetched = 0
        var sequence: UInt64?
        // The writer's sequence of the last round closed: a payload not above it is the previous
        // round's (this round's write to that znode has not landed yet).
        var previous: UInt64 = 0
        var lastCheck: UInt64 = 0
        while !stop.isSet && RunClock.now() < end && closed < spec.storm.rounds {
            let open = state.withLockedValue { state in
                state.tracker == nil ? nil : (round: state.followedRounds, at: state.roundOpenedAt ?? 0)
            }
            if let open {
                if fetched != open.round {
                    fetched = open.round
                    var stamps: [StormPayload?] = []
                    for z in layout.watched.indices {
                        var stamp = await payload(reader, znode: z)
                        while (stamp?.sequence ?? 0) <= previous && RunClock.now() < open.at &+ timeout && !stop.isSet {
                            try? await Task.sleep(nanoseconds: 1_000_000)
                            stamp = await payload(reader, znode: z)
                        }
                        stamps.append((stamp?.sequence ?? 0) > previous ? stamp : nil)
                    }
                    sequence = stamps.lazy.compactMap { $0?.sequence }.max()
                    state.withLockedValue { state in
                        for (z, stamp) in stamps.enumerated() {
                            if let stamp {
                                let local = Int64(bitPattern: stamp.wallClockNanoseconds) &+ toWriter.offsetNanoseconds
                                let sent = local &- wallMinusMonotonic
                                state.tracker?.writeSent(znode: z, at: UInt64(max(0, sent)))
                            } else {
                                state.tracker?.writeFailed(znode: z)
                            }
                        }
                    }
                }
                let settled = state.withLockedValue { $0.tracker?.isSettled ?? true }
                if settled || RunClock.now() > open.at &+ timeout {
                    closeFollowedRound(sequence: sequence, measureStart: measureStart)
                    previous = max(previous, sequence ?? previous)
                    closed += 1
                    continue
                }
            } else if RunClock.now() &- lastCheck > 100_000_000 {
                lastCheck = RunClock.now()
                if await writerDone(), state.withLockedValue({ $0.tracker == nil }) { break }
            }
            try? await Task.sleep(nanoseconds: 500_000)
        }
        // A round still open when the run ends counts what arrived (the rest as missing).
        if state.withLockedValue({ $0.tracker != nil }) && fetched > 0 {
            closeFollowedRound(sequence: sequence, measureStart: measureStart)
        }
        state.withLockedValue { $0.tracker = nil }
    }

    /// Ends the open round: re-arms what `rearm: after-round` deferred, records the lags and the round
    /// (numbered by the writer's sequence).
    private func closeFollowedRound(sequence: UInt64?, measureStart: UInt64) {
        guard
            let (tracker, deferred) = state.withLockedValue({ state -> (StormRoundTracker, [StormArrival])? in
                defer {
                    state.tracker = nil
                    state.roundOpenedAt = nil
                    state.deferredRearms.removeAll()
                }
                return state.tracker.map { ($0, state.deferredRearms) }
            })
        else { return }
        for arrival in deferred {
            rearm(watcher: Int(arrival.watcher), znode: Int(arrival.znode), eventAt: arrival.at)
        }
        for lag in tracker.lags { recorder.recordWatchEvent(spec.kind, lagNanoseconds: lag) }
        var summary = tracker.summary()
        if let sequence { summary.round = Int(clamping: sequence) }
        if let sent = tracker.writeSentAt.compactMap({ $0 }).min() {
            summary.atS = Double(Int64(bitPattern: sent &- measureStart)) / 1e9
        }
        recorder.recordRound(summary)
    }

    /// The payload of the write that fired znode `z`'s watch: the znode's data (its newest child's for
    /// child watches); nil when it cannot be read or is not a storm payload.
    private func payload(_ reader: ZooKeeperClient, znode z: Int) async -> StormPayload? {
        var path = layout.watched[z]
        if spec.kind == .child {
            guard let names = try? await reader.getChildren(path),
                let newest = names.compactMap({ $0.hasPrefix("c") ? Int($0.dropFirst()) : nil }).max()
            else { return nil }
            path += "/c\(newest)"
        }
        guard let (data, _) = try? await reader.getData(path) else { return nil }
        return StormPayload(bytes: data)
    }
}
