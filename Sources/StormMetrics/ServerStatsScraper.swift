import Logging
import NIOCore
import NIOPosix

/// A four-letter-word exchange that could not complete.
public struct FourLetterWordError: Error, Sendable, CustomStringConvertible {
    public var server: String
    public var command: String
    public var message: String
    public var description: String { "\(command) to \(server): \(message)" }
}

/// Reads a ZooKeeper server's own statistics with the `mntr` four-letter word, falling back to `srvr`
/// where `mntr` is not in `4lw.commands.whitelist` (or not understood, as on old servers).
public enum ServerStatsScraper {
    /// What a server answers for a command missing from its whitelist.
    static let notWhitelisted = "is not executed because it is not in the whitelist"
    static let maximumReply = 1 << 20

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
            let mntr = try await fourLetterWord(
                "mntr", host: host, port: port, timeout: timeout, eventLoopGroup: eventLoopGroup)
            if let stats = parseMntr(mntr, server: server) { return stats }
            logger.debug(
                "mntr refused, trying srvr", metadata: ["server": "\(server)", "reply": "\(mntr.prefix(120))"])
            let srvr = try await fourLetterWord(
                "srvr", host: host, port: port, timeout: timeout, eventLoopGroup: eventLoopGroup)
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

    /// Scrapes every host of a connect string ("h1:2181,h2:2181/chroot") concurrently, in its order.
    public static func scrape(
        connectString: String,
        timeout: Duration = .seconds(2),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> [ServerStats] {
        let hosts = hostsAndPorts(connectString)
        return await withTaskGroup(of: (Int, ServerStats?).self) { group in
            for (index, (host, port)) in hosts.enumerated() {
                group.addTask {
                    (index, await scrape(host: host, port: port, timeout: timeout, eventLoopGroup: eventLoopGroup))
                }
            }
            var results = [ServerStats?](repeating: nil, count: hosts.count)
            for await (index, stats) in group { results[index] = stats }
            return results.compactMap { $0 }
        }
    }

    /// "h1:2181,[::1]:2182,h3/chroot" → [(h1, 2181), (::1, 2182), (h3, 2181)].
    static func hostsAndPorts(_ connectString: String) -> [(String, Int)] {
        let hostList = connectString.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return hostList.split(separator: ",").compactMap { entry in
            let entry = entry.trimmingPrefix(" ")
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                let host = String(entry[entry.index(after: entry.startIndex)..<close])
                let rest = entry[entry.index(after: close)...]
                return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? 2181 : 2181)
            }
            let parts = entry.split(separator: ":")
            guard let host = parts.first, !host.isEmpty else { return nil }
            return (String(host), parts.count > 1 ? Int(parts[1]) ?? 2181 : 2181)
        }
    }

    /// Sends `command` on a fresh connection and returns everything the server writes before closing.
    public static func fourLetterWord(
        _ command: String,
        host: String,
        port: Int,
        timeout: Duration = .seconds(2),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(FourLetterWordError) -> String {
        let server = "\(host):\(port)"
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(
                    .nanoseconds(
                        Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds
                            / 1_000_000_000)
                )
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw FourLetterWordError(
                server: server, command: command, message: "cannot connect (\(error)); check the host and port")
        }
        let result: Result<String, FourLetterWordError> = await withTaskGroup(
            of: Result<String, FourLetterWordError>?.self
        ) { group in
            group.addTask {
                do {
                    return .success(try await exchange(command, on: channel))
                } catch {
                    return .failure(
                        FourLetterWordError(server: server, command: command, message: "connection failed: \(error)"))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                // Closing the channel ends the read loop of the exchange task.
                channel.channel.close(promise: nil)
            }
            group.cancelAll()
            return first
                ?? .failure(
                    FourLetterWordError(
                        server: server, command: command, message: "no complete reply within \(timeout)"))
        }
        return try result.get()
    }

    private static func exchange(
        _ command: String, on channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    ) async throws -> String {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: command))
            var reply = ByteBuffer()
            for try await var chunk in inbound {
                reply.writeBuffer(&chunk)
                if reply.readableBytes > maximumReply { break }
            }
            return String(buffer: reply)
        }
    }

    // MARK: - Parsing

    /// mntr's tab-separated `zk_name<TAB>value` lines; nil when the text is not mntr output.
    public static func parseMntr(_ text: String, server: String) -> ServerStats? {
        var stats = ServerStats(host: server)
        var sawMntr = false
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, fields[0].hasPrefix("zk_") else { continue }
            sawMntr = true
            let key = String(fields[0])
            let value = fields[1].trimmingPrefix(" ")
            switch key {
            case "zk_server_state": stats.state = String(value)
            case "zk_version": stats.version = shortVersion(value)
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
