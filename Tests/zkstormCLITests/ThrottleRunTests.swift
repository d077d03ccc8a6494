import Foundation
import Testing
import ZooKeeperTestSupport

/// Throttle detection end to end (issue 15): a run that meets a per-address connection limit says so
/// and names maxClientCnxns with the number it measured, on the built-in server (`zkstorm serve
/// --max-client-cnxns`) and on real ZooKeeper (`maxClientCnxns=10` in zoo.cfg); a run whose offered
/// load rises past the server's request cap (`zkstorm serve --max-request-rate`) reports the server's
/// throttle count and the latency plateau with the rate it stopped at.
@Suite("zkstorm run throttle detection", .serialized)
struct ThrottleRunTests {
    /// 50 closed-loop sessions from 127.0.0.1, far more than the 10 the server admits: ZooKeeper's check
    /// races its selector threads, so a burst of connects gets a few past the limit (21 of 20 were
    /// admitted on a loaded machine), never dozens.
    static let manySessions = """
        name: many-sessions
        sessions: 50
        duration: 2s
        warmup: 0s
        keyspace: {count: 20}
        groups:
          - name: readers
            ops: {get: 1}
            load: {model: closed, concurrency: 1}

        """

    /// The `≈ N` the message states.
    static func suspectedLimit(_ stderr: String) -> Int? {
        guard let range = stderr.range(of: "maxClientCnxns ≈ ") else { return nil }
        return Int(stderr[range.upperBound...].prefix { $0.isNumber })
    }

    @Test(arguments: [
        (["--max-outbox", "lots"], "--max-outbox lots: expected a size in bytes such as 4MiB"),
        (["--max-client-cnxns=-1"], "--max-client-cnxns must be 0 (no limit) or a positive count"),
    ])
    func badServeLimitsExit64(_ flags: [String], _ message: String) async throws {
        let result = try await ZkstormProcess.run(["serve", "--port", "0"] + flags)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func builtInServerWithMaxClientCnxns() async throws {
        let port = FreePort.allocate()
        let serve = try ZkstormProcess(["serve", "--port", "\(port)", "--max-client-cnxns", "10"])
        defer { if serve.process.isRunning { serve.process.terminate() } }
        try await ServeCommandTests.waitUntilServing(port: port)
        let result = try await ZkstormProcess.runWorkload(Self.manySessions, ["--target", "127.0.0.1:\(port)"])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("closes connections from this address at accept"), "\(result.stderr)")
        #expect(Self.suspectedLimit(result.stderr) == 10, "\(result.stderr)")
        serve.process.terminate()
        let served = try await serve.finish(timeout: .seconds(10))
        #expect(served.stderr.contains("at most 10 connections per address"), "\(served.stderr)")
    }

    @Test func realZooKeeperWithMaxClientCnxns() async throws {
        let server = try await RealZooKeeper.start(extraConfiguration: "maxClientCnxns=10")
        defer { Task { try? await server.destroy() } }
        let result = try await ZkstormProcess.runWorkload(Self.manySessions, ["--target", server.connectString])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("closes connections from this address at accept"), "\(result.stderr)")
        // ZooKeeper counts a connection until its selector thread has let go of it: one of the run's may
        // still be counted while the probe opens its own.
        let limit = Self.suspectedLimit(result.stderr)
        #expect(limit.map { (9...10).contains($0) } == true, "\(result.stderr)")
        try await server.destroy()
    }

    /// ZooKeeper's RequestThrottler at 2 requests in flight (`request_throttle_max_requests=2` in
    /// zoo.cfg becomes the `zookeeper.` system property), under 3000 ops/s: its mntr counts the waits.
    @Test func realZooKeepersRequestThrottlerIsReported() async throws {
        let server = try await RealZooKeeper.start(extraConfiguration: "request_throttle_max_requests=2")
        defer { Task { try? await server.destroy() } }
        let result = try await ZkstormProcess.runWorkload(
            """
            name: throttled
            sessions: 8
            duration: 3s
            warmup: 0s
            keyspace: {count: 50}
            groups:
              - name: open
                ops: {get: 1, set: 1}
                load: {model: open, rate: 3000, arrivals: constant}

            """,
            ["--target", server.connectString]
        )
        let throttles = result.json["throttles"] as? [[String: Any]] ?? []
        let throttled = throttles.first { $0["kind"] as? String == "server_throttled" }
        let evidence = throttled?["evidence"] as? String ?? ""
        #expect(evidence.contains("zk_request_throttle_wait_count"), "\(throttles) \(result.stderr)")
        #expect(evidence.contains("throttler queue time p99"), "\(evidence)")
        let suspect = throttled?["suspect"] as? String ?? ""
        #expect(suspect.contains("request_throttle_max_requests"), "\(suspect)")
        try await server.destroy()
    }

    static let risingLoad = """
        name: rising-load
        sessions: 4
        warmup: 0s
        keyspace: {count: 50}
        groups:
          - name: open
            ops: {get: 1}
            load: {model: open, rate: 100, arrivals: constant}
        stages:
          - {duration: 3s, rate: 150}
          - {duration: 3s, rate: 1200}
          - {duration: 3s, rate: 2400}

        """

    @Test func risingLoadPastTheServersRequestCapIsReportedAsAPlateau() async throws {
        let port = FreePort.allocate()
        let serve = try ZkstormProcess(["serve", "--port", "\(port)", "--max-request-rate", "400"])
        defer { if serve.process.isRunning { serve.process.terminate() } }
        try await ServeCommandTests.waitUntilServing(port: port)
        let result = try await ZkstormProcess.runWorkload(Self.risingLoad, ["--target", "127.0.0.1:\(port)"])
        serve.process.terminate()
        _ = try await serve.finish(timeout: .seconds(10))
        let throttles = result.json["throttles"] as? [[String: Any]] ?? []
        let kinds = throttles.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("server_throttled"), "\(throttles) \(result.stderr)")
        let plateau = throttles.first { $0["kind"] as? String == "latency_plateau" }
        let limit = plateau?["limit"] as? Double ?? 0
        #expect((300...500).contains(limit), "plateau \(String(describing: plateau)); all: \(throttles)")
        let suspect = plateau?["suspect"] as? String ?? ""
        #expect(suspect.contains("globalOutstandingLimit"), "\(suspect)")
    }
}
