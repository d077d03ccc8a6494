import ArgumentParser
import Foundation
import NIOCore
import StormEngine
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Micro-benchmarks that `scripts/bench` runs beside the peers (C client, kazoo, real ZooKeeper) on the
/// same work. Each prints one JSON line in the peers' format, so the script can put them side by side.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Peer micro-benchmarks (used by scripts/bench); each prints one JSON line.",
        shouldDisplay: false,
        subcommands: [ClientBench.self, FanoutBench.self, FootprintBench.self, ZnodesBench.self, WatchScaleBench.self]
    )
}

/// Pipelined getData or setData on one znode, `inflight` requests outstanding per session.
struct ClientBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client")

    @Option(help: "Connect string of the server to measure.") var target: String
    @Option(help: "get or set.") var op: String = "get"
    @Option(help: "Requests in flight per session.") var inflight: Int = 64
    @Option(help: "Measured requests per session (a tenth more run first as warm-up).") var count: Int = 50_000
    @Option(help: "Value size in bytes.") var valueSize: Int = 100
    @Option(help: "Sessions, each on its own connection.") var sessions: Int = 1
    @Option(help: "The znode (created if missing).") var path: String = "/zkbench/one"
    @OptionGroup(title: "Security (TLS, SASL, digest)") var security: SecurityOptions

    func validate() throws {
        guard op == "get" || op == "set" else { throw ValidationError("--op must be get or set") }
        guard inflight >= 1, count >= 1, sessions >= 1, valueSize >= 0 else {
            throw ValidationError("--inflight, --count and --sessions must be at least 1")
        }
    }

    func run() async throws {
        try await exitingOnRefusal(command: "bench client") { try await measure() }
    }

    func measure() async throws {
        var configuration = ZooKeeperConfiguration(connectString: target)
        try security.resolve(command: "bench client").apply(to: &configuration)
        var clients: [ZooKeeperClient] = []
        for _ in 0..<sessions {
            clients.append(try await ZooKeeperClient.connect(configuration))
        }
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        let parent = ZooKeeperPath.parent(of: path)
        if parent != "/" { _ = try? await clients[0].create(parent) }
        _ = try? await clients[0].create(path, data: value)

        let request: ZooKeeperRequest =
            op == "get" ? .getData(path: path, watch: false) : .setData(path: path, data: value, version: -1)
        // Warm-up: connections, allocator and server caches, then the measured window.
        _ = await PipelinedRequests.load(clients: clients, request: request, perSession: count / 10, window: inflight)
        let started = NIODeadline.now().uptimeNanoseconds
        let result = await PipelinedRequests.load(
            clients: clients,
            request: request,
            perSession: count,
            window: inflight
        )
        let seconds = Double(NIODeadline.now().uptimeNanoseconds - started) / 1e9
        for client in clients { try? await client.close() }

        let total = count * sessions
        printJSONLine([
            "tool": "zkstorm", "op": op, "inflight": inflight, "sessions": sessions, "ops": total,
            "errors": result.errors, "seconds": seconds, "ops_per_sec": Double(total) / seconds,
            "p50_us": Double(result.latency.value(atPercentile: 50)),
            "p99_us": Double(result.latency.value(atPercentile: 99)),
        ])
        if result.errors > 0 { throw ExitCode(70) }
    }
}

/// N sessions each hold a data watch on one znode; a writer sets it; time until the last notification.
struct FanoutBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fanout")

    @Option(help: "Connect string of the server to measure.") var target: String
    @Option(help: "Watching sessions.") var watchers: Int = 1000
    @Option(help: "Rounds (each re-arms every watch, then writes once).") var rounds: Int = 5
    @Option(help: "The watched znode.") var path: String = "/zkbench/fanout"
    @Option(help: "Seconds to wait for every notification of a round.") var timeout: Double = 30
    @OptionGroup(title: "Security (TLS, SASL, digest)") var security: SecurityOptions

    func run() async throws {
        try await exitingOnRefusal(command: "bench fanout") { try await measure() }
    }

    func measure() async throws {
        let result = try await FanoutBenchmark.run(
            target: target,
            watchers: watchers,
            rounds: rounds,
            path: path,
            timeout: .nanoseconds(Int64(timeout * 1e9)),
            security: try security.resolve(command: "bench fanout")
        )
        printJSONLine([
            "tool": "zkstorm", "bench": "fanout", "watchers": watchers, "rounds": rounds, "missing": result.missing,
            "last_p50_us": Double(result.lastLag.value(atPercentile: 50)), "last_max_us": Double(result.lastLag.max),
            "first_p50_us": Double(result.firstLag.value(atPercentile: 50)),
        ])
        if result.missing > 0 { throw ExitCode(70) }
    }
}

/// Fills a server with `count` sequential znodes of `valueSize` bytes under one parent, pipelined, so a
/// script can read the server's resident memory before and after (the built-in server's 1M-znode budget).
struct ZnodesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "znodes")

    @Option(help: "Connect string of the server to fill.") var target: String
    @Option(help: "Znodes to create.") var count: Int = 1_000_000
    @Option(help: "Value size in bytes.") var valueSize: Int = 100
    @Option(help: "Parent of the created znodes (created if missing).") var parent: String = "/zkbench/mass"
    @Option(help: "Sessions, each with 64 creates in flight.") var sessions: Int = 4
    @OptionGroup(title: "Security (TLS, SASL, digest)") var security: SecurityOptions

    func validate() throws {
        guard count >= sessions, sessions >= 1 else { throw ValidationError("--count must be at least --sessions") }
    }

    func run() async throws {
        try await exitingOnRefusal(command: "bench znodes") { try await measure() }
    }

    func measure() async throws {
        var configuration = ZooKeeperConfiguration(connectString: target)
        try security.resolve(command: "bench znodes").apply(to: &configuration)
        var clients: [ZooKeeperClient] = []
        for _ in 0..<sessions {
            clients.append(try await ZooKeeperClient.connect(configuration))
        }
        let grandparent = ZooKeeperPath.parent(of: parent)
        if grandparent != "/" { _ = try? await clients[0].create(grandparent) }
        _ = try? await clients[0].create(parent)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        let create = ZooKeeperRequest.create(
            CreateRequest(path: parent + "/n-", data: value, mode: .persistentSequential),
            opCode: .create
        )
        let started = NIODeadline.now().uptimeNanoseconds
        let result = await PipelinedRequests.load(
            clients: clients,
            request: create,
            perSession: count / sessions,
            window: 64
        )
        let seconds = Double(NIODeadline.now().uptimeNanoseconds - started) / 1e9
        let created = (count / sessions) * sessions
        for client in clients { try? await client.close() }
        printJSONLine([
            "tool": "zkstorm", "bench": "znodes", "znodes": created - result.errors, "value_size": valueSize,
            "errors": result.errors, "seconds": seconds, "creates_per_sec": Double(created) / seconds,
        ])
        if result.errors > 0 { throw ExitCode(70) }
    }
}

/// Resident memory the generator spends per idle session holding one watch.
struct FootprintBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "footprint")

    @Option(help: "Connect string of the server to measure.") var target: String
    @Option(help: "Sessions to open, each with one exists watch.") var sessions: Int = 10_000
    @Option(help: "How long to hold the sessions idle after opening them, counting their pings (e.g. 30s).")
    var hold: String = "0s"
    @Option(help: "Session timeout asked for; idle sessions ping after a third of it.")
    var sessionTimeout: String = "30s"
    @OptionGroup(title: "Security (TLS, SASL, digest)") var security: SecurityOptions

    func validate() throws {
        guard sessions >= 1 else { throw ValidationError("--sessions must be at least 1") }
        guard DurationText.parse(hold) != nil else {
            throw ValidationError("--hold \(hold): expected a duration such as 30s")
        }
        guard let timeout = DurationText.parse(sessionTimeout), timeout >= .seconds(1) else {
            throw ValidationError("--session-timeout \(sessionTimeout): expected a duration of at least 1s")
        }
    }

    func run() async throws {
        try await exitingOnRefusal(command: "bench footprint") { try await measure() }
    }

    func measure() async throws {
        var configuration = ZooKeeperConfiguration(connectString: target)
        configuration.sessionTimeout = DurationText.parse(sessionTimeout) ?? .seconds(30)
        try security.resolve(command: "bench footprint").apply(to: &configuration)
        let setup = try await ZooKeeperClient.connect(configuration)
        _ = try? await setup.create("/zkbench")
        _ = try? await setup.create("/zkbench/footprint")
        let before = ProcessMemory.residentBytes()
        var clients: [ZooKeeperClient] = []
        clients.reserveCapacity(sessions)
        for index in 0..<sessions {
            // Spread over 127.0.0.x as a run does: one source address runs out of ports first.
            var sessionConfiguration = configuration
            sessionConfiguration.sourceAddress = SessionConnector.sourceAddress(
                forSession: index,
                connectString: target
            )
            let c = try await ZooKeeperClient.connect(sessionConfiguration)
            _ = try await c.exists("/zkbench/footprint", watch: true)
            clients.append(c)
        }
        let after = ProcessMemory.residentBytes()
        // Idle, every session must keep itself alive with pings on its own schedule: count them, how late
        // the latest left, the slowest answer, and any connection lost meanwhile.
        let holdFor = DurationText.parse(hold) ?? .zero
        if holdFor > .zero { try await Task.sleep(for: holdFor) }
        let stats = clients.map(\.stats)
        let negotiatedMs =
            clients.first.map {
                Int(
                    $0.negotiatedTimeout.components.seconds * 1000 + $0.negotiatedTimeout.components.attoseconds
                        / 1_000_000_000_000_000
                )
            } ?? 0
        for c in clients { try? await c.close() }
        try? await setup.close()
        printJSONLine([
            "tool": "zkstorm", "bench": "footprint", "sessions": sessions,
            "rss_before_bytes": before, "rss_after_bytes": after,
            "bytes_per_session": Double(after - before) / Double(sessions),
            "hold_s": Double(holdFor.components.seconds) + Double(holdFor.components.attoseconds) / 1e18,
            "negotiated_timeout_ms": negotiatedMs,
            "pings_sent": stats.map(\.pingsSent).reduce(0, +),
            "pings_answered": stats.map(\.pingsAnswered).reduce(0, +),
            "max_ping_lateness_ms": Double(stats.map(\.maxPingLatenessNanos).max() ?? 0) / 1e6,
            "max_ping_round_trip_ms": Double(stats.map(\.maxPingRoundTripNanos).max() ?? 0) / 1e6,
            "connection_losses": stats.map(\.connectionLosses).reduce(0, +),
            "reconnects": stats.map(\.reconnects).reduce(0, +),
        ])
    }
}

func printJSONLine(_ fields: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
}
