import StormMetricsTestSupport
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

@Suite struct MetricsPusherTests {
    /// Polls `condition` every 50 ms until true or `timeout`; returns whether it became true.
    static func eventually(
        within timeout: Duration = .seconds(10),
        _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func pushesTheLatestSnapshotEveryIntervalAndDeletesAtExit() async throws {
        let gateway = try await Pushgateway.start()
        var configuration = PushConfiguration(url: gateway.url, instance: "worker-1", run: "run-7")
        configuration.interval = .milliseconds(300)
        configuration.deleteOnExit = true
        let pusher = MetricsPusher(configuration: configuration)
        pusher.start()
        let series = #"zkstorm_requests_total{instance="worker-1",job="zkstorm",op="get",result="ok",run="run-7"}"#
        pusher.update(SampleSnapshots.realistic(scale: 1))
        #expect(try await Self.eventually { try await gateway.metricsText().contains("\(series) 400\n") })
        pusher.update(SampleSnapshots.realistic(scale: 3))
        #expect(try await Self.eventually { try await gateway.metricsText().contains("\(series) 1200\n") })
        await pusher.finish()
        await pusher.finish()  // a second call (another exit path) does nothing
        let statistics = pusher.statistics
        #expect(statistics.successfulPushes >= 3, "two interval pushes and the final one")
        #expect(statistics.failedPushes == 0)
        #expect(statistics.lastError == nil)
        #expect(try await !gateway.metricsText().contains("zkstorm_requests_total"), "deleted at exit")
        await gateway.stop()
    }

    @Test func deadGatewayNeverSlowsUpdatesIsCountedAndPushesResumeWhenItReturns() async throws {
        let port = try await RawHTTPListener().closedPort()
        var configuration = PushConfiguration(url: "http://127.0.0.1:\(port)", instance: "worker-1", run: "run-dead")
        configuration.interval = .milliseconds(200)
        let pusher = MetricsPusher(configuration: configuration)
        pusher.start()

        // While every push fails, update() stays a lock and a swap. Each call hands over a fresh
        // snapshot (built outside the timing), so the replaced one is released inside update() as in a run.
        let clock = ContinuousClock()
        var durations: [Duration] = []
        let measureUntil = clock.now + .milliseconds(800)
        while clock.now < measureUntil && durations.count < 2_000 {
            let snapshot = SampleSnapshots.realistic(scale: durations.count % 4 + 1)
            let start = clock.now
            pusher.update(snapshot)
            durations.append(clock.now - start)
        }
        durations.sort()
        let p95 = durations[durations.count * 95 / 100]
        let p99 = durations[durations.count * 99 / 100]
        let median = durations[durations.count / 2]
        print(
            "MetricsPusher.update with a dead gateway: \(durations.count) calls, median \(median), p95 \(p95), p99 \(p99), max \(durations.last!)"
        )
        #expect(durations.count >= 20)
        // p95, not the maximum: on this shared 2-core machine any call can be preempted for milliseconds.
        #expect(p95 < .milliseconds(1))
        #expect(median < .microseconds(100))

        #expect(await Self.eventually { pusher.statistics.failedPushes >= 2 })
        let failing = pusher.statistics
        #expect(failing.isFailing)
        #expect(failing.failedAttempts >= failing.failedPushes, "retries within each interval")
        #expect(
            failing.lastError?.contains("http://127.0.0.1:\(port)/metrics/job/zkstorm/instance/worker-1/run/run-dead")
                == true
        )

        // The gateway comes up on that port: pushes resume without anything done by the run.
        let gateway = try await Pushgateway.start(port: port)
        let series = #"zkstorm_requests_total{instance="worker-1",job="zkstorm",op="get",result="ok",run="run-dead"}"#
        #expect(try await Self.eventually { try await gateway.metricsText().contains(series) })
        #expect(await Self.eventually { !pusher.statistics.isFailing && pusher.statistics.successfulPushes >= 1 })

        // It dies and restarts empty on the same port: the next interval fills it again.
        await gateway.stop()
        let before = pusher.statistics.failedPushes
        #expect(await Self.eventually { pusher.statistics.failedPushes > before })
        try await gateway.restart()
        #expect(try await Self.eventually { try await gateway.metricsText().contains(series) })
        await pusher.finish()
        await gateway.stop()
    }

    @Test func hangingGatewayDoesNotHoldFinishBeyondItsBound() async throws {
        let listener = try await RawHTTPListener(respond: false)
        var configuration = PushConfiguration(url: listener.url, instance: "i", run: "r")
        configuration.interval = .seconds(1)
        configuration.timeout = .seconds(30)
        let pusher = MetricsPusher(configuration: configuration)
        pusher.update(SampleSnapshots.realistic())
        pusher.start()
        #expect(await listener.nextRequest() != nil, "a push is in flight and will never be answered")
        let clock = ContinuousClock()
        let start = clock.now
        await pusher.finish()
        let elapsed = clock.now - start
        print("MetricsPusher.finish with a hanging gateway: \(elapsed)")
        // Abort of the hanging push (curl checks about once a second) plus the 3 s final push bound.
        #expect(elapsed < .seconds(6))
        #expect(pusher.statistics.failedPushes >= 1)
        #expect(
            pusher.statistics.lastError?.contains("timed out") == true
                || pusher.statistics.lastError?.contains("Timeout") == true
        )
        await listener.close()
    }
}
