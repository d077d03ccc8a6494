import Logging
import NIOConcurrencyHelpers

/// Pushes the latest `MetricsSnapshot` to a Pushgateway every `interval`, from its own background task.
///
/// The run hands over snapshots with `update(_:)`, which only swaps a value under a lock: rendering,
/// gzip and HTTP all happen on the pusher's task and the client's thread. A slow, dead or refusing
/// gateway is logged once as a warning, counted in `statistics`, retried with capped exponential
/// back-off inside each interval, and never stops or slows the run; pushes resume when it comes back.
public final class MetricsPusher: Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Intervals whose push the gateway accepted (final push included).
        public var successfulPushes: UInt64 = 0
        /// Intervals whose push failed even after retries (final push included).
        public var failedPushes: UInt64 = 0
        /// Every failed HTTP attempt, retries included.
        public var failedAttempts: UInt64 = 0
        /// The last failure's description, kept after recovery for the run report.
        public var lastError: String?
        /// True from a failed push until the next accepted one.
        public var isFailing: Bool = false
    }

    /// The final push and delete in `finish()` give up after this long each.
    public static let finalRequestTimeout: Duration = .seconds(3)

    public let configuration: PushConfiguration
    public let client: PushGatewayClient
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var latest: MetricsSnapshot?
        /// Bumped by every `update`, so an unchanged snapshot is not rendered twice.
        var version: UInt64 = 0
        var statistics = Statistics()
        var loop: Task<Void, Never>?
        var finished = false
    }

    public init(configuration: PushConfiguration, logger: Logger = Logger(label: "zkstorm.metrics.push")) {
        self.configuration = configuration
        self.client = PushGatewayClient(configuration: configuration)
        var logger = logger
        logger[metadataKey: "pushgateway"] = "\(configuration.groupURL)"
        self.logger = logger
    }

    public var statistics: Statistics { state.withLockedValue { $0.statistics } }
    public var failedPushes: UInt64 { statistics.failedPushes }
    public var lastError: String? { statistics.lastError }

    /// Starts the background push loop (once; later calls do nothing).
    public func start() {
        state.withLockedValue { state in
            guard state.loop == nil, !state.finished else { return }
            state.loop = Task { [self] in await self.pushLoop() }
        }
    }

    /// Hands over the newest cumulative snapshot. Never waits on I/O: it swaps a value under a lock.
    public func update(_ snapshot: MetricsSnapshot) {
        var replaced: MetricsSnapshot? = snapshot
        state.withLockedValue { state in
            guard !state.finished else { return }
            swap(&state.latest, &replaced)
            state.version &+= 1
        }
        // `replaced` (the previous snapshot) is released here, outside the lock.
        _ = replaced
    }

    /// Stops the loop, pushes the latest snapshot one last time, then deletes the group if configured.
    /// Each of the two requests is bounded by `finalRequestTimeout`; a push hanging in the loop is aborted.
    /// Only the first call does anything, so every exit path of a run may call it.
    public func finish() async {
        let (firstCall, loop): (Bool, Task<Void, Never>?) = state.withLockedValue { state in
            defer {
                state.loop = nil
                state.finished = true
            }
            return (!state.finished, state.loop)
        }
        guard firstCall else { return }
        if let loop {
            client.abortRequests()
            loop.cancel()
            await loop.value
            client.resumeRequests()
        }
        let timeout = min(configuration.timeout, Self.finalRequestTimeout)
        if let body = await renderLatest()?.body {
            await attempt(body: body, timeout: timeout, final: true)
        }
        if configuration.deleteOnExit {
            do {
                try await client.delete(timeout: timeout)
                logger.debug("Pushgateway group deleted")
            } catch {
                logger.warning("Pushgateway delete at exit failed", metadata: ["error": "\(error)"])
            }
        }
        await client.shutdown()
    }

    // MARK: - Loop

    private func pushLoop() async {
        let clock = ContinuousClock()
        let interval = configuration.interval
        var nextTick = clock.now
        var lastPushed: (version: UInt64, body: [UInt8])?
        while !Task.isCancelled {
            let tickStart = clock.now
            if let latest = await renderLatest(reusing: lastPushed) {
                lastPushed = latest
                await pushWithRetries(body: latest.body, until: tickStart + interval * 0.75, clock: clock)
            }
            nextTick += interval
            // After a long stall, skip the missed ticks instead of pushing in a burst.
            if nextTick < clock.now { nextTick = clock.now + interval }
            do {
                try await Task.sleep(until: nextTick, clock: clock)
            } catch {
                return
            }
        }
    }

    /// The latest snapshot rendered and gzip'd, or the cached body when nothing changed since.
    /// The work runs on the client's own thread, so a large snapshot never occupies the run's tasks.
    private func renderLatest(
        reusing cached: (version: UInt64, body: [UInt8])? = nil
    ) async -> (version: UInt64, body: [UInt8])? {
        let (snapshot, version) = state.withLockedValue { ($0.latest, $0.version) }
        guard let snapshot else { return nil }
        if let cached, cached.version == version { return cached }
        let rendered: Result<[UInt8], GzipError>? = await client.runOnClientThread {
            Result { () throws(GzipError) in try Gzip.compress(Array(PrometheusExposition.render(snapshot).utf8)) }
        }
        switch rendered {
        case .success(let body):
            return (version, body)
        case .failure(let error):
            recordFailure(error.description, attempt: true, push: true)
            return nil
        case nil:
            return nil
        }
    }

    /// Attempts until accepted or no retry fits before `deadline`; back-off doubles from a small step,
    /// capped at a quarter of the interval. Each attempt gets the full configured timeout, so a slow but
    /// working gateway is not failed for being slower than a short interval: the loop skips ticks instead.
    private func pushWithRetries(body: [UInt8], until deadline: ContinuousClock.Instant, clock: ContinuousClock) async {
        let interval = configuration.interval
        var backoff = min(Duration.milliseconds(100), interval / 8)
        while !Task.isCancelled {
            let accepted = await attempt(body: body, timeout: configuration.timeout, final: false)
            // Cancelled by finish(): the final push decides, this interval counts for nothing.
            if accepted || Task.isCancelled { return }
            guard clock.now + backoff < deadline else {
                recordFailure(nil, attempt: false, push: true)
                return
            }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, interval / 4)
        }
    }

    /// One PUT; records success or the failed attempt. Returns whether the gateway accepted it.
    @discardableResult
    private func attempt(body: [UInt8], timeout: Duration, final: Bool) async -> Bool {
        do {
            try await client.push(gzippedBody: body, timeout: timeout)
        } catch {
            if Task.isCancelled && !final { return false }
            recordFailure(error.description, attempt: true, push: final)
            if final {
                logger.warning(
                    "Pushgateway final push failed; the run's last metrics are not on the gateway",
                    metadata: ["error": "\(error)"]
                )
            }
            return false
        }
        let recovered: (Bool, UInt64) = state.withLockedValue { state in
            let wasFailing = state.statistics.isFailing
            state.statistics.isFailing = false
            state.statistics.successfulPushes += 1
            return (wasFailing, state.statistics.failedPushes)
        }
        if recovered.0 {
            logger.info("Pushgateway push resumed", metadata: ["failed_pushes": "\(recovered.1)"])
        } else {
            logger.trace("Pushgateway push accepted", metadata: ["bytes": "\(body.count)"])
        }
        return true
    }

    private func recordFailure(_ description: String?, attempt: Bool, push: Bool) {
        let (firstFailure, finished, error) = state.withLockedValue { state in
            if attempt { state.statistics.failedAttempts += 1 }
            if let description { state.statistics.lastError = description }
            let first = push && !state.statistics.isFailing
            if push {
                state.statistics.failedPushes += 1
                state.statistics.isFailing = true
            }
            return (first, state.finished, state.statistics.lastError ?? "unknown error")
        }
        // finish() reports its own outcome; retries inside an interval are not worth a line each.
        guard push, !finished else { return }
        if firstFailure {
            // Once per outage: the run goes on, and the next accepted push logs "resumed".
            logger.warning(
                "Pushgateway push failed; the run continues and pushes retry every interval",
                metadata: ["error": "\(error)"]
            )
        } else {
            logger.debug("Pushgateway push failed again", metadata: ["error": "\(error)"])
        }
    }
}
