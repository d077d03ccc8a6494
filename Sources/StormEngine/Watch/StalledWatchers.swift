import Foundation
import Logging
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// The slow-consumer half of a watch storm (`watches.stall`): from round `fromRound` the last
/// `stall.watchers` watcher sessions stop reading their socket (``ZooKeeperClient/setReadsStalled(_:)``)
/// and each round send `reads` getData requests of a ballast znode whose replies pile up for them. The
/// storm's rounds then go to the healthy watchers only, and this records their lag before and after
/// the stall, the stalled sessions' connection losses (what the client sees when the server closes
/// them) and the server's own count of connections it closed for not reading (`mntr`
/// `zk_connections_closed_slow`, which zkstorm's server reports and ZooKeeper does not: it buffers
/// without bound).
final class StalledWatchers: Sendable {
    let spec: StallSpec
    /// Watcher sessions of the storm (the stalled ones are the last `spec.watchers`).
    let watchers: Int
    let ballastPath: String
    let acl: [ACL]
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var before = Phase()
        var after = Phase()
        var stalled: [ZooKeeperClient] = []
        var lossesAtStall: Int = 0
        var lossesAtEnd: Int?
        var serverClosedAtStall: Int?
        var serverClosedAtEnd: Int?
        var readsSent = 0
        var readsFailed = 0
        var stalledAtS: Double?
        var ended = false
        /// The target, for `mntr` (set when the watchers connect).
        var connectString = ""
    }

    /// Healthy watchers' figures over one side of the stall.
    struct Phase {
        var lag = LatencyHistogram()
        var fanout = LatencyHistogram()
        var rounds = 0
        var missing = 0
    }

    init(spec: StallSpec, watchers: Int, layout: RunLayout, logger: Logger) {
        self.spec = spec
        self.watchers = watchers
        ballastPath = layout.root + "/stall-ballast"
        acl = layout.acl
        self.logger = logger
    }

    func setConnectString(_ connectString: String) {
        state.withLockedValue { $0.connectString = connectString }
    }

    /// Watchers a round goes to: every active one before the stall, the healthy ones from it on.
    func roundWatchers(round: Int, active: Int) -> Int {
        round >= spec.fromRound ? max(active - spec.watchers, 0) : active
    }

    /// At the start of each round: at `fromRound` the stalled sessions stop reading (after the ballast
    /// znode is written and the baseline counters read); from then on each sends its reads.
    func roundStarting(_ round: Int, sessions: [SupervisedSession], writer: ZooKeeperClient, atS: Double) async {
        guard round >= spec.fromRound else { return }
        if round == spec.fromRound { await begin(sessions: sessions, writer: writer, atS: atS) }
        let stalled = state.withLockedValue { $0.ended ? [] : $0.stalled }
        for client in stalled {
            for _ in 0..<spec.reads {
                state.withLockedValue { $0.readsSent += 1 }
                client.send(.getData(path: ballastPath, watch: false)) { [state] result, _, _ in
                    if case .failure = result { state.withLockedValue { $0.readsFailed += 1 } }
                }
            }
        }
    }

    private func begin(sessions: [SupervisedSession], writer: ZooKeeperClient, atS: Double) async {
        if spec.reads > 0 {
            let value = [UInt8](repeating: UInt8(ascii: "s"), count: spec.value)
            do {
                _ = try await writer.create(ballastPath, data: value, acl: acl)
            } catch let error as ZooKeeperError where error.code == .nodeExists {
                _ = try? await writer.setData(ballastPath, data: value)
            } catch {
                logger.warning(
                    "slow consumers: could not write the ballast znode; stalled watchers read nothing large",
                    metadata: ["path": "\(ballastPath)", "error": "\(error)"]
                )
            }
        }
        let closed = await serverClosedSlow()
        let stalled = sessions.suffix(spec.watchers).map(\.client)
        let losses = stalled.reduce(0) { $0 + $1.stats.connectionLosses }
        state.withLockedValue {
            $0.stalled = stalled
            $0.lossesAtStall = losses
            $0.serverClosedAtStall = closed
            $0.stalledAtS = atS
        }
        for client in stalled { client.setReadsStalled(true) }
    }

    /// After a round: the healthy watchers' lags and fan-out, on the side of the stall the round was.
    func roundDone(_ round: Int, tracker: StormRoundTracker, summary: StormRoundSummary) {
        state.withLockedValue { state in
            let after = round >= spec.fromRound
            var phase = after ? state.after : state.before
            for lag in tracker.lags { phase.lag.record(nanoseconds: lag) }
            if let last = summary.lastNanoseconds { phase.fanout.record(nanoseconds: last) }
            phase.rounds += 1
            phase.missing += summary.missing
            if after { state.after = phase } else { state.before = phase }
        }
    }

    /// After the rounds: the final counters, then the stalled sessions read again (so they can close).
    func end() async {
        let stalled = state.withLockedValue { state -> [ZooKeeperClient] in
            guard !state.ended else { return [] }
            state.ended = true
            return state.stalled
        }
        guard !stalled.isEmpty else { return }
        let losses = stalled.reduce(0) { $0 + $1.stats.connectionLosses }
        let closed = await serverClosedSlow()
        state.withLockedValue {
            $0.lossesAtEnd = losses
            $0.serverClosedAtEnd = closed
        }
        for client in stalled { client.setReadsStalled(false) }
    }

    /// `zk_connections_closed_slow` summed over the target's servers; nil when none reports it.
    private func serverClosedSlow() async -> Int? {
        let stats = await ServerStatsScraper.scrape(connectString: state.withLockedValue { $0.connectString })
        let values = stats.compactMap { $0.values["zk_connections_closed_slow"] }
        return values.isEmpty ? nil : Int(values.reduce(0, +))
    }

    /// The figures for the result.
    func summary() -> SlowConsumerSummary {
        state.withLockedValue { state in
            SlowConsumerSummary(
                stalledWatchers: spec.watchers,
                healthyWatchers: watchers - spec.watchers,
                fromRound: spec.fromRound,
                stalledAtS: state.stalledAtS,
                readsPerRound: spec.reads,
                valueBytes: spec.value,
                readsSent: state.readsSent,
                readsFailed: state.readsFailed,
                before: SlowConsumerSummary.Lag(state.before),
                after: SlowConsumerSummary.Lag(state.after),
                stalledConnectionsLost: state.lossesAtEnd.map { max($0 - state.lossesAtStall, 0) },
                serverClosedSlow: state.serverClosedAtEnd.map { $0 - (state.serverClosedAtStall ?? 0) }
            )
        }
    }
}

extension SlowConsumerSummary.Lag {
    init(_ phase: StalledWatchers.Phase) {
        self.init(
            rounds: phase.rounds,
            notifications: phase.lag.count,
            missing: phase.missing,
            p50Us: phase.lag.isEmpty ? nil : phase.lag.value(atPercentile: 50),
            p99Us: phase.lag.isEmpty ? nil : phase.lag.value(atPercentile: 99),
            fanoutP50Us: phase.fanout.isEmpty ? nil : phase.fanout.value(atPercentile: 50),
            fanoutMaxUs: phase.fanout.isEmpty ? nil : phase.fanout.max
        )
    }
}
