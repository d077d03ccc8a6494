import ArgumentParser
import Dispatch
import Logging
import StormEngine
import ZooKeeperServer

#if canImport(Glibc)
import Glibc
#endif

/// `zkstorm serve`: runs the built-in ZooKeeper-compatible server until Ctrl-C or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the built-in ZooKeeper-compatible server (standalone, in memory).",
        discussion: """
            Speaks the ZooKeeper 3.8 client protocol and the four-letter words over TCP. State lives in \
            memory only and is gone when the server stops. Stop it with Ctrl-C or SIGTERM. SIGUSR1 drops \
            every client connection at once, as a network blip would (sessions live on, and their clients \
            reconnect with their watches), for failover drills: kill -USR1 <pid>.
            """
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port: Int = 2181

    @Option(help: "Tick time in milliseconds; session timeouts are clamped to [2, 20] ticks.")
    var tick: Int = 2000

    @Option(name: .customLong("max-sessions"), help: "Most sessions at once; further handshakes are refused.")
    var maxSessions: Int = 60_000

    @Option(
        name: .customLong("max-request-rate"),
        help:
            "Process at most this many requests per second over all connections; later ones wait (for testing capacity searches)."
    )
    var maxRequestRate: Double?

    @Option(
        name: .customLong("max-outbox"),
        help: ArgumentHelp(
            "Close a connection whose client stops reading once this much output waits for it, e.g. 4MiB or 65536 (counted as zk_connections_closed_slow in mntr; 0: no limit).",
            valueName: "BYTES"
        )
    )
    var maxOutbox: String = "4MiB"

    @Option(
        name: .customLong("max-client-cnxns"),
        help: ArgumentHelp(
            "At most this many connections at once from one client address; further ones are closed at accept, as ZooKeeper's maxClientCnxns (0: no limit).",
            valueName: "N"
        )
    )
    var maxClientCnxns: Int = 0

    @Option(
        name: .customLong("handshake-timeout"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Close a connection that has not completed its session handshake within this long, e.g. 10s or 500ms (counted as zk_sessionless_connections_expired in mntr).",
            valueName: "DURATION"
        )
    )
    var handshakeTimeout: String = "10s"

    @OptionGroup(title: "Security")
    var security: ServeSecurityOptions

    func validate() throws {
        guard (0...65535).contains(port) else {
            throw ValidationError("--port must be between 0 and 65535, got \(port).")
        }
        guard tick > 0 else { throw ValidationError("--tick must be a positive number of milliseconds, got \(tick).") }
        guard maxSessions > 0 else { throw ValidationError("--max-sessions must be positive, got \(maxSessions).") }
        if let maxRequestRate, !(maxRequestRate > 0 && maxRequestRate.isFinite) {
            throw ValidationError(
                "--max-request-rate must be a positive number of requests per second, got \(maxRequestRate)."
            )
        }
        _ = try handshakeTimeoutValue()
        _ = try maxOutboxValue()
        guard maxClientCnxns >= 0 else {
            throw ValidationError("--max-client-cnxns must be 0 (no limit) or a positive count, got \(maxClientCnxns).")
        }
        try security.validate()
    }

    func handshakeTimeoutValue() throws(ValidationError) -> Duration {
        guard let value = DurationText.parse(handshakeTimeout), value >= .milliseconds(10) else {
            throw ValidationError(
                "--handshake-timeout \(handshakeTimeout): expected a duration of at least 10ms such as 10s or 500ms"
            )
        }
        return value
    }

    func maxOutboxValue() throws(ValidationError) -> Int {
        guard let value = ByteSizeText.parse(maxOutbox) else {
            throw ValidationError(
                "--max-outbox \(maxOutbox): expected a size in bytes such as 4MiB, 512KiB or 65536 (0: no limit)"
            )
        }
        return value
    }

    func run() async throws {
        let logger = Logger(label: "zkstorm.serve")
        var configuration = ZooKeeperServerConfiguration(host: host, port: port)
        configuration.tickTime = .milliseconds(tick)
        configuration.maxSessions = maxSessions
        configuration.maxRequestRate = maxRequestRate
        configuration.handshakeTimeout = try handshakeTimeoutValue()
        configuration.maxOutboxBytes = try maxOutboxValue()
        configuration.maxClientConnectionsPerHost = maxClientCnxns
        do {
            configuration.security = try security.configuration()
        } catch {
            logger.error("zkstorm serve: \(error.message)")
            throw ExitCode(error.exitCode)
        }
        let server = ZooKeeperServer(configuration: configuration)
        do {
            try await server.start()
        } catch {
            logger.error("zkstorm serve could not start: \(error)")
            throw ExitCode(69)
        }
        logger.info(
            "zkstorm serve listening on \(server.connectString) (tick \(tick) ms, max sessions \(maxSessions), handshake timeout \(DurationText.format(configuration.handshakeTimeout)), max outbox \(maxOutbox)\(maxClientCnxns > 0 ? ", at most \(maxClientCnxns) connections per address" : "")\(maxRequestRate.map { ", at most \($0) requests/s" } ?? ""))"
        )
        if let securePort = server.securePort {
            logger.info("zkstorm serve: TLS on \(host):\(securePort) \(security.summary)")
        }
        let drops = ConnectionDropSignal(server: server, logger: logger)
        let signal = await TerminationSignals.next()
        drops.cancel()
        try await server.shutdown()
        logger.info("zkstorm serve stopped on \(signal)")
    }
}

/// SIGUSR1 to `zkstorm serve`: every client connection dropped at once
/// (``ZooKeeperServer/dropAllConnections()``), each time the signal comes.
private struct ConnectionDropSignal {
    private let source: any DispatchSourceSignal

    init(server: ZooKeeperServer, logger: Logger) {
        signal(SIGUSR1, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        source.setEventHandler {
            Task {
                let dropped = await server.dropAllConnections()
                logger.info("zkstorm serve: SIGUSR1 dropped \(dropped) connections (their sessions live on)")
            }
        }
        source.resume()
    }

    func cancel() { source.cancel() }
}
