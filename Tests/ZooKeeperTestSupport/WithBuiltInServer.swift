import Logging
import ZooKeeperServer

/// A built-in server configuration for tests: loopback, port `port` (0 picks a free one when the server
/// starts), and a server log that shows warnings and errors only.
public func builtInServerConfiguration(port: Int = 0) -> ZooKeeperServerConfiguration {
    var configuration = ZooKeeperServerConfiguration(host: "127.0.0.1", port: port)
    var logger = Logger(label: "zkstorm.server.test")
    logger.logLevel = .warning
    configuration.logger = logger
    return configuration
}

/// Starts a built-in server (`builtInServerConfiguration(port:)`, then `configure`) for the duration of
/// `body`, and shuts it down afterwards, also when `body` throws.
///
/// - Parameters:
///   - port: the plaintext port; 0 picks a free one. Pass `FreePort.allocate()` when the test restarts
///     the server and its clients must find it on the same port.
///   - tickMs: the server's tick (sessions' timeout bounds are 2 and 20 ticks).
///   - sweep: how often containers and TTL nodes are swept.
///   - maxSessions: the session limit.
///   - security: TLS and SASL settings (none: plaintext, no SASL users).
///   - configure: adjusts the configuration (security, limits, timeouts) before the server starts.
///   - body: the test, given the started server.
public func withBuiltInServer<T>(
    port: Int = 0,
    tickMs: Int = 2000,
    sweep: Duration = .seconds(60),
    maxSessions: Int = 60_000,
    security: ServerSecurityConfiguration? = nil,
    configure: (inout ZooKeeperServerConfiguration) throws -> Void = { _ in },
    _ body: (ZooKeeperServer) async throws -> T
) async throws -> T {
    var configuration = builtInServerConfiguration(port: port)
    configuration.tickTime = .milliseconds(tickMs)
    configuration.containerSweepInterval = sweep
    configuration.maxSessions = maxSessions
    if let security { configuration.security = security }
    try configure(&configuration)
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
