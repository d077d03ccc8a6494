import NIOConcurrencyHelpers
import ZooKeeperClient

/// A watch storm in a shard that does not write (shards 1…N-1): shard 0 writes the rounds, and this
/// shard's watchers count. Round r's write makes version r of each watched znode (cversion r for child
/// watches), so each notification belongs to the round of the version it reports: a one-shot watch
/// fires for the version after the one its last (re-)arming read returned, a persistent watch reports
/// every version in turn. The writer stamps each round's payload with its wall clock and, once done,
/// publishes those stamps under the barrier (`stamps`); this shard then times every notification
/// against its round's stamp, moved onto its own monotonic clock with its clock offset to the writer
/// (whose error bar the result reports), so a round still arriving here while the writer has moved on
/// is counted whole and in the right round.
extension WatchStorm {
    /// Under the state lock, on the reading event loop: files `arrival` under its round.
    func followed(_ state: inout State, _ arrival: StormArrival) {
        let index = Int(arrival.watcher) * spec.znodes + Int(arrival.znode)
        let round: Int
        if spec.kind.isOneShot {
            round = Int(state.armedVersion[index]) + 1
        } else {
            if state.seenVersion.isEmpty { state.seenVersion = Array(repeating: 0, count: state.armedVersion.count) }
            state.seenVersion[index] += 1
            round = Int(state.seenVersion[index])
        }
        let watchers = state.active
        let znodes = spec.znodes
        state.followed[round, default: StormRoundTracker(round: round, watchers: watchers, znodes: znodes)]
            .notification(watcher: Int(arrival.watcher), znode: Int(arrival.znode), receivedAt: arrival.at)
    }

    /// On a re-arming getData's reply: the writer's stamp of the round whose payload `data` is, kept
    /// for `znode` (the first reader of a round keeps it; every reader reads the same payload).
    func notePayloadStamp(_ data: [UInt8], znode: Int) {
        guard let payload = StormPayload(bytes: data), payload.sequence > 0, payload.sequence <= UInt64(Int.max)
        else { return }
        state.withLockedValue { state in
            if state.payloadStamps.isEmpty { state.payloadStamps = Array(repeating: [:], count: spec.znodes) }
            if state.payloadStamps[znode][Int(payload.sequence)] == nil {
                state.payloadStamps[znode][Int(payload.sequence)] = payload.wallClockNanoseconds
            }
        }
    }

    /// The writer's stamps of the rounds it wrote (round → wall-clock ns), to publish for the others.
    var sentWallStamps: [Int: UInt64] { state.withLockedValue { $0.sentWall } }

    /// After the writer is done (or gone): times every round this shard followed against the writer's
    /// stamps, those read from the payloads or else the published `stamps`, and records the lags and
    /// the rounds (a round with a stamp and no notification here counts every watcher missing; a znode
    /// without a stamp in a round, e.g. the writer died before writing it, counts only what arrived).
    /// `toWriter` is this clock against the writer's; `wallMinusMonotonic` converts wall to RunClock.
    func recordFollowedRounds(
        stamps: [Int: UInt64],
        toWriter: ClockOffset,
        wallMinusMonotonic: Int64,
        measureStart: UInt64
    ) {
        let (followed, watchers, read) = state.withLockedValue { state in
            defer { state.followed.removeAll() }
            return (state.followed, state.active, state.payloadStamps)
        }
        let payloadRounds = read.flatMap(\.keys)
        for round in Set(followed.keys).union(stamps.keys).union(payloadRounds).sorted() {
            var tracker = followed[round] ?? StormRoundTracker(round: round, watchers: watchers, znodes: spec.znodes)
            for z in 0..<spec.znodes {
                if let wall = (z < read.count ? read[z][round] : nil) ?? stamps[round] {
                    let sent = Int64(bitPattern: wall) &+ toWriter.offsetNanoseconds &- wallMinusMonotonic
                    tracker.writeSent(znode: z, at: UInt64(max(0, sent)))
                } else {
                    tracker.writeFailed(znode: z)
                }
            }
            for lag in tracker.lags { recorder.recordWatchEvent(spec.kind, lagNanoseconds: lag) }
            var summary = tracker.summary()
            if let sent = tracker.writeSentAt.compactMap({ $0 }).min() {
                summary.atS = Double(Int64(bitPattern: sent &- measureStart)) / 1e9
            }
            recorder.recordRound(summary)
        }
    }
}
