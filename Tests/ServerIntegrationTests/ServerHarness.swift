import Logging
import ZooKeeperServer

/// Starts a built-in server on an ephemeral loopback port for the duration of `body`; `configure` adjusts
/// the configuration (security, timeouts) before it starts.
func withServer<T>(
    tickMs: Int = 2000,
    sweep: Duration = .seconds(60),
    maxSessions: Int = 60_000,
    configure: (inout ZooKeeperServerConfiguration) -> Void = { _ in },
    _ body: (ZooKeeperServer) async throws -> T
) async throws -> T {
    var configuration = ZooKeeperServerConfiguration(host: "127.0.0.1", port: 0)
    configuration.tickTime = .milliseconds(tickMs)
    configuration.containerSweepInterval = sweep
    configuration.maxSessions = maxSessions
    var logger = Logger(label: "zkstorm.server.test")
    logger.logLevel = .warning
    configuration.logger = logger
    configure(&configuration)
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
