import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Steps 3 and 4 of a run: warm-up and measurement (the drivers, the storm, the collector, the watchdogs),
/// then the watch ledger.
extension StormRun {
    /// Step 3: starts the drivers (closed loops with the first stage's sessions, later stages switched
    /// on time), warms up (and drops what was recorded), then starts the generator monitor and the
    /// request budget and measures until the duration or the storm's rounds end, `interrupt()`, the
    /// budget runs out, an `abort_on_fail` threshold fails, or the target is lost; collects an interval
    /// each second; drains the requests still in flight. In a shard that does not write (`follow` and
    /// not the writer), the storm follows the writer's rounds instead of writing them.
    func runMeasurement(
        load: GroupLoad,
        storm: StormSetup?,
        collector: IntervalCollector,
        counters: SessionCounters,
        connectString: String,
        startedAt: Date,
        follow: StormFollow? = nil
    ) async -> Measured {
        let stagePlan = load.stagePlan
        // Closed-loop sessions of each stage, shared among closed groups in proportion to their size.
        let closedTotal = load.closedDrivers.reduce(0) { $0 + $1.workers.count }
        let stageShares: [[Int?]] = stagePlan.steps.map { step in
            load.closedDrivers.map { driver in
                guard let sessions = step.stage.sessions, closedTotal > 0 else { return nil }
                return Int((Double(sessions) * Double(driver.workers.count) / Double(closedTotal)).rounded())
            }
        }
        let closedLoops = load.closedDrivers
        let origin = RunClock.now()
        let measureStart = origin + UInt64(workload.warmup.nanoseconds)
        let measureEnd = measureStart + UInt64(workload.duration.nanoseconds)
        let stop = self.stop
        let live = self.live
        let onTick = self.onTick
        let workers = load.workers
        let budget = load.budget
        let hasGroups = !workload.groups.isEmpty
        let abortThresholds = workload.thresholds.filter(\.abortOnFail)
        let abortedBy = self.abortedBy
        let generatorBounds = self.generatorBounds
        let monitorBox = NIOLockedValueBox<GeneratorMonitor?>(nil)
        let startWall = NIOLockedValueBox<Int64?>(nil)
        let (seconds, wasInterrupted) = await withTaskGroup(of: Void.self) { group -> (Double, Bool) in
            let firstShares = stageShares.first ?? Array(repeating: nil, count: closedLoops.count)
            for (driver, share) in zip(closedLoops, firstShares) { driver.start(sessions: share) }
            if stagePlan.steps.count > 1 {
                group.addTask {
                    for (step, shares) in zip(stagePlan.steps, stageShares).dropFirst() {
                        await Self.sleep(until: measureStart + step.start, stop: stop)
                        if stop.isSet { return }
                        for (driver, share) in zip(closedLoops, shares) {
                            if let share { driver.activate(share) }
                        }
                    }
                }
            }
            for driver in load.openDrivers {
                group.addTask { await driver.run(origin: origin, end: measureEnd) }
            }
            // Warm-up: run, then drop what was recorded.
            await Self.sleep(until: measureStart, stop: stop)
            let measuringFrom = RunClock.now()
            startWall.withLockedValue { $0 = ShardClock.wallNow() }
            // The budget opens with the measurement: warm-up replies stop being recorded, the warm-up
            // is dropped, then every send is one of the N.
            budget?.measurementBegins()
            collector.beginMeasurement(at: measuringFrom)
            budget?.begin()
            let monitor = GeneratorMonitor(
                loops: WatcherEventLoop.allLoops,
                origin: measuringFrom,
                bounds: generatorBounds
            )
            monitor.start()
            monitorBox.withLockedValue { $0 = monitor }
            if let (reconnectHerd, writer) = herd.withLockedValue({ $0 }) {
                group.addTask { await reconnectHerd.run(writer: writer, measureStart: measuringFrom, stop: stop) }
            }
            if let injector = faultInjector.withLockedValue({ $0 }) {
                // Above the sessions' own tasks: thousands of sessions replacing themselves at once must
                // not delay a fault's undo (a pause of 8 s ran 21 s at 10,000 sessions on 2 cores).
                group.addTask(priority: .high) {
                    await injector.run(measureStart: measuringFrom, stop: stop, failover: counters.failover) {
                        collector.lastFailureAt
                    }
                }
            }
            let collectorStop = StopFlag()
            group.addTask {
                await collector.run(stop: collectorStop) { tick in
                    counters.failover.interval(at: tick.point.t, cumulative: tick.cumulative)
                    var status = self.status(counters: counters, outstandingRequests: workers.outstanding)
                    status.generator = monitor.sample()
                    if live { LiveLine.draw(LiveLine.render(tick)) }
                    onTick?(tick, status)
                    if !abortThresholds.isEmpty,
                        let failed = self.failedAbortThreshold(abortThresholds, tick: tick, startedAt: startedAt)
                    {
                        abortedBy.withLockedValue { $0 = failed }
                        stop.set()
                    }
                }
            }
            group.addTask {
                await self.watchTarget(counters: counters, connectString: connectString, until: collectorStop)
            }
            if scrapeServers {
                group.addTask { [servers] in
                    while !collectorStop.isSet {
                        let scraped = await ServerStatsScraper.scrape(connectString: connectString)
                        servers.withLockedValue { $0 = scraped }
                        await Self.sleep(until: RunClock.now() + 5_000_000_000, stop: collectorStop)
                    }
                }
            }
            if let storm {
                await withTaskGroup(of: Void.self) { inner in
                    inner.addTask {
                        if let follow, storm.storm.follows {
                            await self.follow(follow, end: measureEnd)
                        } else {
                            await storm.storm.runRounds(
                                writer: storm.writer,
                                measureStart: measureStart,
                                end: measureEnd,
                                stop: stop
                            )
                        }
                    }
                    if hasGroups {
                        inner.addTask { await Self.sleep(until: measureEnd, stop: stop) }
                    }
                }
            } else {
                await Self.sleep(until: measureEnd, stop: stop)
            }
            let ended = RunClock.now()
            stop.set()
            for driver in closedLoops { driver.stopAll() }
            // Interrupted or target gone: the report and cleanup must follow at once (within 2 s of a signal).
            let quick = interrupted.withLockedValue { $0 } || counters.allDisconnected
            await workers.drain(timeout: quick ? .milliseconds(300) : .seconds(5))
            collectorStop.set()
            if live { LiveLine.finish() }
            return (Double(ended &- (collector.measureStart ?? ended)) / 1e9, interrupted.withLockedValue { $0 })
        }
        let lostAt: Double? = targetLost.withLockedValue { $0 }.map { at in
            max(0, Double(Int64(bitPattern: at &- (collector.measureStart ?? at))) / 1e9)
        }
        return Measured(
            seconds: seconds,
            interrupted: wasInterrupted,
            lostAt: lostAt,
            monitor: monitorBox.withLockedValue { $0 },
            startUnixNanoseconds: startWall.withLockedValue { $0 },
            start: collector.measureStart
        )
    }

    /// The target-lost watchdog of step 3: every session without a connection for longer than the
    /// session timeout means the target is gone, and so is every session on it. Ends the measurement;
    /// the result keeps what ran. Polls every 25 ms until `until` is set.
    func watchTarget(counters: SessionCounters, connectString: String, until collectorStop: StopFlag) async {
        let sessionTimeout = UInt64(workload.sessionTimeout.nanoseconds)
        // `since`: when every session was first seen without a connection; `counting`: from when the
        // session timeout counts (moved on while a fault of the run's own holds the target down, and
        // while a frozen or electing ensemble still accepts connections).
        var since: UInt64?
        var counting: UInt64?
        while !collectorStop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            if counters.allDisconnected {
                let start = since ?? now
                since = start
                targetLost.withLockedValue { $0 = start }
                if faultInjector.withLockedValue({ $0?.faultInForce }) == true {
                    counting = now
                } else {
                    let from = counting ?? start
                    counting = from
                    if now - from > sessionTimeout {
                        if await TargetReachability.anyAccepts(connectString) {
                            counting = RunClock.now()
                        } else {
                            targetGone.withLockedValue { $0 = true }
                            stop.set()
                            return
                        }
                    }
                }
            } else {
                since = nil
                counting = nil
                targetLost.withLockedValue { $0 = nil }
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Step 4: the storm's watch ledger, read through the writer's session (quickly when interrupted or
    /// the target is lost).
    func watchLedger(_ storm: StormSetup?, quick: Bool) async -> WatchLedger.Summary? {
        guard let storm else { return nil }
        let reader = await storm.writer.readyClient(timeout: quick ? .milliseconds(100) : .seconds(5))
        return await storm.storm.ledgerSummary(reader: reader, settle: quick ? .milliseconds(100) : .seconds(1))
    }

    static func sleep(until deadline: UInt64, stop: StopFlag) async {
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            guard now < deadline else { return }
            try? await Task.sleep(nanoseconds: min(deadline - now, 50_000_000))
        }
    }
}
