import Logging
import NIOCore
import NIOPosix
import ZooKeeperClient

/// Reads a ZooKeeper server's own statistics with the `mntr` four-letter word, falling back to `srvr`
/// where `mntr` is not in `4lw.commands.whitelist` (or not understood, as on old servers).
public enum ServerStatsScraper {
    /// What a server answers for a command missing from its whitelist.
    static let notWhitelisted = "is not executed because it is not in the whitelist"

    /// Statistics of the server at host:port, or nil when it cannot be reached within `timeout` or
    /// answers neither `mntr` nor `srvr`. Never throws: a missing scrape must not stop a run.
    public static func scrape(
        host: String,
        port: Int,
        timeout: Duration = .seconds(2),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "zkstorm.metrics.scrape")
    ) async -> ServerStats? {
        let server = "\(host):\(port)"
        do {
            let mntr = try await FourLetterWordClient.send(
                "mntr",
                host: host,
                port: port,
                timeout: timeout,
                eventLoopGroup: eventLoopGroup
            )
            if let stats = parseMntr(mntr, server: server) { return stats }
            logger.debug(
                "mntr refused, trying srvr",
                metadata: ["server": "\(server)", "reply": "\(mntr.prefix(120))"]
            )
            let srvr = try await FourLetterWordClient.send(
                "srvr",
                host: host,
                port: port,
                timeout: timeout,
                eventLoopGroup: eventLoopGroup
            )
            if let stats = parseSrvr(srvr, server: server) { return stats }
            logger.debug(
                "srvr refused too; whitelist mntr or srvr in 4lw.commands.whitelist",
                metadata: ["server": "\(server)", "reply": "\(srvr.prefix(120))"]
            )
        } catch {
            logger.debug("server statistics unavailable", metadata: ["server": "\(server)", "error": "\(error)"])
        }
        return nil
    }

    /// Scrapes every host of a connect string ("h1:2181,h2:2181/chroot") concurrently, in its order;
    /// none for a connect string that does not parse.
    public static func scrape(
        connectString: String,
        timeout: Duration = .seconds(2),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> [ServerStats] {
        let hosts = (try? ConnectString(parsing: connectString))?.hosts ?? []
        return await withTaskGroup(of: (Int, ServerStats?).self) { group in
            for (index, server) in hosts.enumerated() {
                group.addTask {
                    let stats = await scrape(
                        host: server.host,
                        port: server.port,
                        timeout: timeout,
                        eventLoopGroup: eventLoopGroup
                    )
                    return (index, stats)
                }
            }
            var results = [ServerStats?](repeating: nil, count: hosts.count)
            for await (index, stats) in group { results[index] = stats }
            return results.compactMap { $0 }
        }
    }

    // MARK: - Parsing

    /// mntr's tab-separated `zk_name<TAB>value` lines; nil when the text is not mntr output.
    public static func parseMntr(_ text: String, server: String) -> ServerStats? {
        var stats = ServerStats(host: server)
        var sawMntr = false
        for (key, value) in FourLetterWordClient.monitorValues(text) where key.hasPrefix("zk_") {
            sawMntr = true
            switch key {
            case "zk_server_state": stats.state = value
            case "zk_version": stats.version = shortVersion(Substring(value))
            default:
                if let number = Double(value), number.isFinite { stats.values[key] = number }
            }
        }
        return sawMntr ? stats : nil
    }

    /// srvr's `Name: value` lines mapped onto mntr's names; nil when the text is not srvr output.
    public static func parseSrvr(_ text: String, server: String) -> ServerStats? {
        var stats = ServerStats(host: server)
        var sawSrvr = false
        let simple: [String: String] = [
            "Received": "zk_packets_received", "Sent": "zk_packets_sent", "Connections": "zk_num_alive_connections",
            "Outstanding": "zk_outstanding_requests", "Node count": "zk_znode_count",
        ]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingPrefix(" ")
            switch name {
            case "Zookeeper version":
                sawSrvr = true
                stats.version = shortVersion(value)
            case "Mode":
                sawSrvr = true
                stats.state = String(value)
            case "Latency min/avg/max":
                let parts = value.split(separator: "/").compactMap { Double($0) }
                if parts.count == 3 {
                    stats.values["zk_min_latency"] = parts[0]
                    stats.values["zk_avg_latency"] = parts[1]
                    stats.values["zk_max_latency"] = parts[2]
                }
            case "Zxid":
                if value.hasPrefix("0x"), let zxid = UInt64(value.dropFirst(2), radix: 16) {
                    stats.values["zk_zxid"] = Double(zxid)
                }
            default:
                if let key = simple[name], let number = Double(value) { stats.values[key] = number }
            }
        }
        return sawSrvr ? stats : nil
    }

    /// "3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on ..." → "3.8.0"; other forms up to the comma.
    static func shortVersion(_ text: Substring) -> String {
        let beforeComma = text.prefix { $0 != "," }
        let numeric = beforeComma.prefix { $0.isNumber || $0 == "." }
        return numeric.isEmpty ? String(beforeComma) : String(numeric)
    }
}
