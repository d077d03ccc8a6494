import Atomics
import Logging
import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// The herd of `herd:`: every session keeps a tree cache of the run's herd tree (ZooKeeperCache.tree:
/// a re-read of everything after each reconnect), a writer changes one of its znodes `rate` times a
/// second, and each share of the sessions reconnects with its own policy. It counts the caches' reads
/// in 100 ms buckets per share, so a fault shows read amplification (peak read rate over the steady
/// one), the time to drain back, and the caches' lag (write sent → the cache holding the new data)
/// before and after the fault.
final class ReconnectHerd: Sendable {
    let spec: HerdSpec
    let layout: RunLayout
    let logger: Logger
    static let bucketNanos: UInt64 = 100_000_000

    private let clients = NIOLockedValueBox<[ZooKeeperClient]>([])
    private let caches = NIOLockedValueBox<[Task<Void, Never>]>([])
    private let loaded = ManagedAtomic<Int>(0)
    private let state: NIOLockedValueBox<State>

    struct State {
        /// RunClock ns when measurement began (0 before: setup reads are not counted).
        var origin: UInt64 = 0
        /// Per share: reads per 100 ms bucket since `origin`.
        var buckets: [[Int]]
        /// Per share: cache lag (ns) of each change seen, with when it was seen (s since origin).
        var lags: [[(at: Double, nanos: UInt64)]]
        /// Per share: when each cache finished its re-read after a reconnect (s since origin).
        var rereads: [[Double]]
        /// When the last write to each herd znode was sent.
        var sentAt: [String: UInt64] = [:]
    }

    init(spec: HerdSpec, layout: RunLayout, logger: Logger) {
        self.spec = spec
        self.layout = layout
        self.logger = logger
        let shares = spec.policies.count
        state = NIOLockedValueBox(
            State(
                buckets: Array(repeating: [], count: shares),
                lags: Array(repeating: [], count: shares),
                rereads: Array(repeating: [], count: shares)
            )
        )
    }

    /// Connects every share's sessions with its policy, starts their caches and waits (at most a
    /// minute) until each has read the tree once.
    func open(pool: SessionConnector, stop: StopFlag) async throws {
        for (share, policy) in spec.policies.enumerated() {
            var connector = pool
            connector.reconnectPolicy = policy
            var configuration = connector.configuration
            configuration.eventBufferHighWatermark = max(configuration.eventBufferHighWatermark, 4 * spec.znodes)
            let config = configuration
            let opened = try await SessionConnector.openInParallel(
                count: spec.sessions(ofShare: share),
                parallelism: pool.connectParallelism,
                open: { _ in try await ZooKeeperClient.connect(config, eventLoopGroup: pool.eventLoopGroup) },
                closeOpened: { for client in $0 { try? await client.close() } }
            )
            clients.withLockedValue { $0 += opened }
            let tasks = opened.map { client in Task { await self.follow(client, share: share) } }
            caches.withLockedValue { $0 += tasks }
        }
        let deadline = RunClock.now() + 60_000_000_000
        while loaded.load(ordering: .relaxed) < spec.sessions && RunClock.now() < deadline && !stop.isSet {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        if loaded.load(ordering: .relaxed) < spec.sessions && !stop.isSet {
            throw RunError(
                .unavailable,
                "the herd's caches did not load within 60 s (\(loaded.load(ordering: .relaxed)) of \(spec.sessions))"
            )
        }
    }

    /// One cache: counts its reads into the share's buckets and times the changes it sees.
    private func follow(_ client: ZooKeeperClient, share: Int) async {
        var reads = 0
        do {
            for try await snapshot in ZooKeeperCache.tree(layout.herdDirectory, client: client) {
                let now = RunClock.now()
                let sent = snapshot.reads - reads
                reads = snapshot.reads
                state.withLockedValue { state in
                    guard state.origin > 0, now >= state.origin else { return }
                    let bucket = Int((now - state.origin) / Self.bucketNanos)
                    if state.buckets[share].count <= bucket {
                        state.buckets[share] += Array(repeating: 0, count: bucket + 1 - state.buckets[share].count)
                    }
                    state.buckets[share][bucket] += sent
                    let at = Double(now - state.origin) / 1e9
                    switch snapshot.cause {
                    case .initialLoad:
                        break
                    case .event(let type, let path):
                        if type == .nodeDataChanged, let sentAt = state.sentAt[path], now > sentAt {
                            state.lags[share].append((at, now - sentAt))
                        }
                    case .reconnected:
                        state.rereads[share].append(at)
                    }
                }
                if snapshot.cause == .initialLoad { loaded.wrappingIncrement(ordering: .relaxed) }
            }
        } catch {
            logger.debug("a herd cache ended", metadata: ["error": "\(error)"])
        }
    }

    /// From `measureStart` until `stop`: the writer changes the herd's znodes, round robin, `rate`
    /// times a second.
    func run(writer: SupervisedSession, measureStart: UInt64, stop: StopFlag) async {
        state.withLockedValue { $0.origin = measureStart }
        guard spec.rate > 0, !layout.herd.isEmpty else { return }
        let interval = UInt64(1e9 / spec.rate)
        var next = measureStart
        var index = 0
        while !stop.isSet {
            await StormRun.sleep(until: next, stop: stop)
            if stop.isSet { break }
            let path = layout.herd[index % layout.herd.count]
            index += 1
            state.withLockedValue { $0.sentAt[path] = RunClock.now() }
            writer.client.send(.setData(path: path, data: Array("herd \(index)".utf8), version: -1)) { _, _, _ in }
            next += interval
        }
    }

    func close() async {
        for task in caches.withLockedValue({ $0 }) { task.cancel() }
        for client in clients.withLockedValue({ $0 }) { try? await client.close() }
    }

    /// Per share: steady and peak read rates, amplification, time to drain and cache lag, around the
    /// first fault at `faultAt` (seconds since measurement began; nil without faults).
    func summary(faultAt: Double?, durationSeconds: Double) -> RunResult.HerdSummary {
        let state = self.state.withLockedValue { $0 }
        let bucket = Double(Self.bucketNanos) / 1e9
        let groups = spec.policies.enumerated().map { share, policy -> RunResult.HerdGroup in
            let buckets = state.buckets[share]
            let rates = buckets.map { Double($0) / bucket }
            func mean(_ range: Range<Int>) -> Double? {
                let slice = range.clamped(to: 0..<rates.count)
                return slice.isEmpty ? nil : slice.reduce(0.0) { $0 + rates[$1] } / Double(slice.count)
            }
            let total = Int((durationSeconds / bucket).rounded(.up))
            var group = RunResult.HerdGroup(
                policy: WorkloadYAML.reconnectText(policy),
                sessions: spec.sessions(ofShare: share),
                readsPerSecond: rates
            )
            let lags = state.lags[share]
            func percentiles(_ values: [(at: Double, nanos: UInt64)]) -> RunResult.Percentiles? {
                guard !values.isEmpty else { return nil }
                var histogram = LatencyHistogram()
                for value in values { histogram.record(nanoseconds: value.nanos) }
                return RunResult.Percentiles(histogram)
            }
            guard let faultAt else {
                group.steadyReadsPerSecond = mean(0..<total)
                group.lagUs = percentiles(lags)
                return group
            }
            let faultBucket = Int(faultAt / bucket)
            // The first second warms the caches' connections; steady state is after it when there is room.
            let steadyStart = faultBucket > 20 ? 10 : 0
            let steady = mean(steadyStart..<faultBucket) ?? 0
            group.steadyReadsPerSecond = steady
            let after = Array(rates.dropFirst(faultBucket))
            let peak = after.max() ?? 0
            group.peakReadsPerSecond = peak
            group.amplification = steady > 0 ? peak / steady : nil
            // Drained: after the last 100 ms above twice the steady rate (and 10 reads/s over it).
            let busy = after.lastIndex { $0 > max(2 * steady, steady + 10) }
            group.drainSeconds = busy.map { Double($0 + 1) * bucket } ?? 0
            group.extraReads = Int(after.prefix((busy ?? -1) + 1).reduce(0.0) { $0 + ($1 - steady) * bucket })
            group.reread = state.rereads[share].count
            group.lastRereadSeconds = state.rereads[share].max().map { $0 - faultAt }
            group.lagUs = percentiles(lags.filter { $0.at < faultAt })
            group.lagAfterFaultUs = percentiles(lags.filter { $0.at >= faultAt })
            return group
        }
        return RunResult.HerdSummary(
            znodes: spec.znodes,
            writesPerSecond: spec.rate,
            faultAtS: faultAt,
            bucketS: bucket,
            groups: groups
        )
    }
}
