import Foundation
import Testing
import ZooKeeperClient

@testable import StormMetrics

@Suite struct ServerStatsScraperTests {
    @Test func deadOrSilentServersGiveNilWithinTheTimeout() async throws {
        let deadPort = try await RawHTTPListener().closedPort()
        #expect(await ServerStatsScraper.scrape(host: "127.0.0.1", port: deadPort) == nil)

        let silent = try await RawHTTPListener(respond: false)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(
            await ServerStatsScraper.scrape(host: "127.0.0.1", port: silent.port, timeout: .milliseconds(300)) == nil
        )
        // Far below "forever", with room for this shared 2-core machine running JVMs in parallel tests.
        #expect(clock.now - start < .seconds(5))
        await silent.close()
    }

    @Test func scrapesRealZooKeeperWithMntrAndFallsBackToSrvrWhenMntrIsNotWhitelisted() async throws {
        // Both servers start at once: the JVMs' start-up dominates this test.
        async let open = StandaloneZooKeeper.start(whitelist: "*")
        async let restricted = StandaloneZooKeeper.start(whitelist: "srvr,ruok")
        let full = try await open
        let limited = try await restricted
        defer {
            full.stop()
            limited.stop()
        }

        let stats = try #require(await ServerStatsScraper.scrape(host: "127.0.0.1", port: full.port))
        #expect(stats.host == "127.0.0.1:\(full.port)")
        #expect(stats.state == "standalone")
        #expect(stats.version?.hasPrefix("3.8") == true)
        #expect((stats.values["zk_znode_count"] ?? 0) >= 4)
        #expect(stats.values["zk_watch_count"] != nil)
        #expect(stats.values["zk_ephemerals_count"] != nil)
        #expect(stats.values["zk_approximate_data_size"] != nil)
        #expect(stats.values.count > 40)

        let mntr = try await FourLetterWordClient.send("mntr", host: "127.0.0.1", port: limited.port)
        #expect(mntr.contains(ServerStatsScraper.notWhitelisted))
        let fallback = try #require(await ServerStatsScraper.scrape(host: "127.0.0.1", port: limited.port))
        #expect(fallback.state == "standalone")
        #expect((fallback.values["zk_znode_count"] ?? 0) >= 4)
        #expect(fallback.values["zk_packets_received"] != nil)

        let both = await ServerStatsScraper.scrape(
            connectString: "127.0.0.1:\(full.port),127.0.0.1:\(limited.port)/chroot"
        )
        #expect(both.map(\.host) == ["127.0.0.1:\(full.port)", "127.0.0.1:\(limited.port)"])
        #expect(
            PrometheusExposition.render(
                {
                    var snapshot = MetricsSnapshot(runId: "r", instance: "i", workload: "w", target: "t")
                    snapshot.servers = both
                    return snapshot
                }()
            ).contains("zkstorm_server_znodes{server=\"127.0.0.1:\(limited.port)\"}")
        )
    }
}

/// A real standalone ZooKeeper 3.8 (Debian's jars, the command line from PROTOCOL.md) with the given
/// four-letter-word whitelist, in a temp dir on a free loopback port.
private final class StandaloneZooKeeper: Sendable {
    let port: Int
    let process: Process
    let directory: URL

    private init(port: Int, process: Process, directory: URL) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    static let classPath = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple", "netty-all", "metrics-core"]
        .map { "/usr/share/java/\($0).jar" }

    static func start(whitelist: String) async throws -> StandaloneZooKeeper {
        for jar in classPath where !FileManager.default.fileExists(atPath: jar) {
            throw ScrapeTestError("\(jar) is missing; run scripts/install-deps (Debian package zookeeper)")
        }
        let port = try await RawHTTPListener().closedPort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-scrape-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("data"),
            withIntermediateDirectories: true
        )
        let config = """
            tickTime=2000
            clientPort=\(port)
            clientPortAddress=127.0.0.1
            dataDir=\(directory.appendingPathComponent("data").path)
            4lw.commands.whitelist=\(whitelist)
            admin.enableServer=false

            """
        let configFile = directory.appendingPathComponent("zoo.cfg")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/java")
        process.arguments = [
            "-cp", classPath.joined(separator: ":"), "org.apache.zookeeper.server.ZooKeeperServerMain", configFile.path,
        ]
        let log = directory.appendingPathComponent("zookeeper.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let server = StandaloneZooKeeper(port: port, process: process, directory: directory)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline && process.isRunning {
            // ruok answers imok before the server serves; srvr says "not currently serving" until it does.
            let srvr = try? await FourLetterWordClient.send(
                "srvr",
                host: "127.0.0.1",
                port: port,
                timeout: .milliseconds(500)
            )
            if srvr?.contains("Mode: ") == true {
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        server.stop()
        throw ScrapeTestError("ZooKeeper on 127.0.0.1:\(port) did not answer ruok within 30 s; its log:\n\(output)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

private struct ScrapeTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
