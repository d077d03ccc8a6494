import Logging
import ZooKeeperServer

/// Starts a built-in server on an ephemeral loopback port for the duration of `body`.
func withServer<T>(
    tickMs: Int = 2000,
    sweep: Duration = .seconds(60),
    maxSessions: Int = 60_000,
    _ body: (ZooKeeperServer) async throws -> T
) async throws -> T {
    var configuration = ZooKeeperServerConfiguration(host: "127.0.0.1", port: 0)
    configuration.tickTime = .milliseconds(tickMs)
    configuration.containerSweepInterval = sweep
    configuration.maxSessions = maxSessions
    var logger = Logger(label: "zkstorm.server.test")
    logger.logLevel = .warning
    configuration.logger = logger
    let server = ZooKeeperServer(configuration: configuration)
    try await server.start()
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

/// Parses `mntr` output into key → value.
func monitorValues(_ text: String) -> [String: String] {
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: "\t", maxSplits: 1)
        if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
    }
    return values
}
