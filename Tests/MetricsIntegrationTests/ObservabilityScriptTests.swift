import Foundation
import StormMetricsTestSupport
import Testing

@testable import StormMetrics

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// scripts/observability start|status|stop: a Pushgateway and a Prometheus that scrapes it.
@Suite struct ObservabilityScriptTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/observability").path

    /// Runs the script to completion. Its output goes through a file, not a pipe: the daemons it
    /// starts inherit the parent's descriptors and would keep a pipe open forever.
    static func run(_ arguments: [String], directory: URL) async throws -> (status: Int32, output: String) {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-observability-\(UUID().uuidString).out"
        )
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let handle = try FileHandle(forWritingTo: outputFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ZKSTORM_OBSERVABILITY_DIR"] = directory.path
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while process.isRunning && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { process.terminate() }
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return (process.isRunning ? -1 : process.terminationStatus, output)
    }

    @Test func startPushScrapeStatusStop() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-observability-\(UUID().uuidString)"
        )
        let started = try await Self.run(["start"], directory: directory)
        defer { stopLeftovers(directory) }
        try #require(started.status == 0, "scripts/observability start: \(started.output)")
        let gatewayURL = try #require(
            started.output.firstMatch(of: /pushgateway (http:\/\/127\.0\.0\.1:\d+)/)?.output.1
        )
        let prometheusURL = try #require(
            started.output.firstMatch(of: /prometheus  (http:\/\/127\.0\.0\.1:\d+)/)?.output.1
        )
        #expect(started.output.contains("export ZKSTORM_PUSHGATEWAY=\(gatewayURL)"))

        let again = try await Self.run(["start"], directory: directory)
        #expect(again.status == 69 && again.output.contains("already running"))

        let client = PushGatewayClient(
            configuration: PushConfiguration(url: String(gatewayURL), instance: "script", run: "r")
        )
        try await client.push(PrometheusExposition.render(SampleSnapshots.realistic()))
        await client.shutdown()
        // dashboards/prometheus.yml scrapes every 5 s with honor_labels: the pushed instance label survives.
        let query = "\(prometheusURL)/api/v1/query?query=zkstorm_sessions"
        let scraped = try await MetricsPusherTests.eventually(within: .seconds(20)) {
            let (data, _) = try await URLSessionGet.get(query)
            return data.contains(#""instance":"script""#)
        }
        #expect(scraped)

        let status = try await Self.run(["status"], directory: directory)
        #expect(status.output.contains("pushgateway pid") && status.output.contains("ready"))
        let stopped = try await Self.run(["stop"], directory: directory)
        #expect(
            stopped.status == 0 && stopped.output.contains("stopped prometheus")
                && stopped.output.contains("stopped pushgateway")
        )
        #expect(try await Self.run(["status"], directory: directory).output == "pushgateway down\nprometheus down\n")
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }
}

/// A plain GET: body text and HTTP status.
enum URLSessionGet {
    static func get(_ url: String) async throws -> (String, Int) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return (String(decoding: data, as: UTF8.self), (response as? HTTPURLResponse)?.statusCode ?? 0)
    }
}

/// If the test fails half-way, stop what the script started (by the pids it recorded) synchronously.
private func stopLeftovers(_ directory: URL) {
    for name in ["prometheus", "pushgateway"] {
        let pidFile = directory.appendingPathComponent("\(name).pid")
        if let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, SIGTERM)
        }
    }
    try? FileManager.default.removeItem(at: directory)
}
