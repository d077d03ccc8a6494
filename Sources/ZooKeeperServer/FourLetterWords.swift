import Foundation
import NIOCore
import ZooKeeperProtocol

/// The four-letter admin words, in ZooKeeper 3.8's text formats. Runs under `ServerCore.lock`.
extension ServerCore {
    /// ZooKeeper's "VERSION, built on DATE" form, which clients split at the comma and the dash; a
    /// Swift build has no build date to report, so it says so instead of inventing one.
    static let versionText = "3.8.0-zkstorm, built on unknown date"

    func answerFourLetterWord(_ word: FourLetterWord, to connection: ServerConnection) {
        let text = fourLetterWordText(word, asking: connection)
        connection.outbox.writeString(text)
        counters.packetsSent += 1
        connection.closeAfterFlush = true
        markForFlush(connection)
    }

    func fourLetterWordText(_ word: FourLetterWord, asking: ServerConnection?) -> String {
        switch word {
        case .ruok: return "imok"
        case .isro: return "rw"
        case .srvr: return serverSummary(withClients: false)
        case .stat: return serverSummary(withClients: true)
        case .cons: return connectionList(detailed: true) + "\n"
        case .mntr: return monitorText()
        case .wchs: return watchSummary()
        case .wchc: return watchesByConnection()
        case .wchp: return watchesByPath()
        case .envi: return environmentText()
        case .conf: return configurationText()
        case .dump: return dumpText()
        case .crst:
            for connection in connections.values {
                connection.latency = LatencyStatistics()
                connection.packetsReceived = 0
                connection.packetsSent = 0
            }
            return "Connection stats reset.\n"
        case .srst:
            counters.latency = LatencyStatistics()
            counters.packetsReceived = 0
            counters.packetsSent = 0
            return "Server stats reset.\n"
        case .dirs, .gtmk, .stmk:
            return "\(word.rawValue) is not executed because it is not in the whitelist.\n"
        }
    }

    /// Connections not yet closing (an answered four-letter word's socket is on its way out).
    private var liveConnections: [ServerConnection] {
        connections.values.filter { !$0.closed }.sorted { $0.id < $1.id }
    }

    private var aliveConnections: Int { connections.values.reduce(0) { $0 + ($1.closed ? 0 : 1) } }

    private func serverSummary(withClients: Bool) -> String {
        var text = "Zookeeper version: \(Self.versionText)\n"
        if withClients { text += "Clients:\n" + connectionList(detailed: false) + "\n" }
        text +=
            "Latency min/avg/max: \(counters.latency.minimumMs)/\(counters.latency.averageMsText)/\(counters.latency.maximumMs)\n"
        text += "Received: \(counters.packetsReceived)\n"
        text += "Sent: \(counters.packetsSent)\n"
        text += "Connections: \(aliveConnections)\n"
        text += "Outstanding: 0\n"
        text += "Zxid: 0x\(String(zxid, radix: 16))\n"
        text += "Mode: standalone\n"
        text += "Node count: \(tree.nodeCount)\n"
        return text
    }

    private func connectionList(detailed: Bool) -> String {
        var text = ""
        for connection in liveConnections {
            text += " /\(connection.remoteHost):\(connection.remotePort)[\(connection.handshakeDone ? 1 : 0)]"
            text += "(queued=0,recved=\(connection.packetsReceived),sent=\(connection.packetsSent)"
            if detailed && connection.handshakeDone {
                let session = sessions[connection.sessionID]
                text +=
                    ",sid=0x\(String(connection.sessionID, radix: 16)),lop=\(connection.lastOpCode?.abbreviation ?? "NA")"
                text += ",est=\(connection.establishedAt),to=\(session?.timeoutMs ?? 0)"
                text +=
                    ",lcxid=0x\(String(connection.lastCxid, radix: 16)),lzxid=0x\(String(connection.lastZxid, radix: 16))"
                text += ",lresp=\(connection.lastResponseAt),llat=\(connection.lastLatency / 1_000_000)"
                text += ",minlat=\(connection.latency.minimumMs),avglat=\(connection.latency.averageMsText)"
                text += ",maxlat=\(connection.latency.maximumMs)"
            }
            text += ")\n"
        }
        return text
    }

    private func monitorText() -> String {
        let uptime = monotonicMilliseconds() - startedAtMonotonic
        let lines: [(String, String)] = [
            ("zk_version", Self.versionText),
            ("zk_server_state", "standalone"),
            ("zk_ephemerals_count", "\(tree.ephemeralCount)"),
            ("zk_num_alive_connections", "\(aliveConnections)"),
            ("zk_avg_latency", counters.latency.averageMsText),
            ("zk_outstanding_requests", "0"),
            ("zk_znode_count", "\(tree.nodeCount)"),
            ("zk_global_sessions", "\(sessions.count)"),
            ("zk_packets_sent", "\(counters.packetsSent)"),
            ("zk_packets_received", "\(counters.packetsReceived)"),
            ("zk_watch_count", "\(watches.watchCount)"),
            ("zk_auth_failed_count", "\(counters.authFailures)"),
            ("zk_min_latency", "\(counters.latency.minimumMs)"),
            ("zk_max_file_descriptor_count", "\(Self.maxFileDescriptors())"),
            ("zk_approximate_data_size", "\(tree.approximateDataSize)"),
            ("zk_open_file_descriptor_count", "\(Self.openFileDescriptors())"),
            ("zk_local_sessions", "0"),
            ("zk_uptime", "\(uptime)"),
            ("zk_max_latency", "\(counters.latency.maximumMs)"),
            ("zk_bytes_received_count", "\(counters.bytesReceived)"),
            ("zk_connection_rejected", "\(counters.connectionsRejected)"),
            ("zk_connection_drop_count", "\(counters.connectionsDropped)"),
            ("zk_unsuccessful_handshake", "\(counters.unsuccessfulHandshakes)"),
            ("zk_sessionless_connections_expired", "\(counters.sessionlessConnectionsExpired)"),
            ("zk_large_requests_rejected", "\(counters.largeRequestsRejected)"),
            ("zk_connections_closed_slow", "\(counters.connectionsClosedSlow)"),
            ("zk_request_throttle_wait_count", "\(counters.requestThrottleWaits)"),
        ]
        return lines.map { "\($0.0)\t\($0.1)\n" }.joined()
    }

    /// Watches as ZooKeeper's data table holds them, keyed by the watching session.
    private func dataWatchesBySession() -> [(session: Int64, paths: Set<String>)] {
        watches.dataTableByWatcher().compactMap { watcher, paths in
            connections[watcher].map { (session: $0.sessionID, paths: paths) }
        }.sorted { $0.session < $1.session }
    }

    private func watchSummary() -> String {
        let bySession = dataWatchesBySession()
        let paths = Set(bySession.flatMap(\.paths))
        let total = bySession.reduce(0) { $0 + $1.paths.count }
        return "\(bySession.count) connections watching \(paths.count) paths\nTotal watches:\(total)\n"
    }

    private func watchesByConnection() -> String {
        var text = ""
        for (session, paths) in dataWatchesBySession() {
            text += "0x\(String(session, radix: 16))\n"
            for path in paths.sorted() { text += "\t\(path)\n" }
        }
        return text + "\n"
    }

    private func watchesByPath() -> String {
        var byPath: [String: [Int64]] = [:]
        for (session, paths) in dataWatchesBySession() {
            for path in paths { byPath[path, default: []].append(session) }
        }
        var text = ""
        for path in byPath.keys.sorted() {
            text += "\(path)\n"
            for session in byPath[path]! { text += "\t0x\(String(session, radix: 16))\n" }
        }
        return text + "\n"
    }

    private func environmentText() -> String {
        let info = ProcessInfo.processInfo
        let env = info.environment
        var text = "Environment:\n"
        text += "zookeeper.version=\(Self.versionText)\n"
        text += "host.name=\(info.hostName)\n"
        text += "os.name=Linux\n"
        text += "os.version=\(info.operatingSystemVersionString)\n"
        text += "user.name=\(env["USER"] ?? "")\n"
        text += "user.home=\(env["HOME"] ?? "")\n"
        text += "user.dir=\(FileManager.default.currentDirectoryPath)\n"
        text += "process.id=\(info.processIdentifier)\n"
        text += "os.memory.physical=\(info.physicalMemory / 1_048_576)MB\n"
        return text
    }

    private func configurationText() -> String {
        """
        clientPort=\(boundPort)
        clientPortAddress=\(configuration.host)
        secureClientPort=-1
        dataDir=(in memory)
        tickTime=\(tickMs)
        maxClientCnxns=0
        maxSessions=\(configuration.maxSessions)
        minSessionTimeout=\(2 * tickMs)
        maxSessionTimeout=\(20 * tickMs)
        clientPortListenBacklog=1024
        serverId=0

        """
    }

    private func dumpText() -> String {
        let offset = wallClockMilliseconds() - monotonicMilliseconds()
        var text = "SessionTracker dump:\nSession Sets (\(sessions.buckets.count))/(\(sessions.count)):\n"
        for deadline in sessions.buckets.keys.sorted() {
            let ids = sessions.buckets[deadline]!.sorted()
            text += "\(ids.count) expire at \(Self.formatDate(ms: deadline + offset)):\n"
            for id in ids { text += "\t0x\(String(id, radix: 16))\n" }
        }
        let owners = tree.ephemerals.keys.sorted()
        text += "ephemeral nodes dump:\nSessions with Ephemerals (\(owners.count)):\n"
        for owner in owners {
            text += "0x\(String(owner, radix: 16)):\n"
            for path in tree.ephemerals[owner]!.sorted() { text += "\t\(path)\n" }
        }
        text += "Connections dump:\nConnections Sets (1)/(\(connections.count)):\n"
        for connection in liveConnections {
            text +=
                "\tip: /\(connection.remoteHost):\(connection.remotePort) sessionId: 0x\(String(connection.sessionID, radix: 16))\n"
        }
        return text
    }

    static func formatDate(ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM dd HH:mm:ss zzz yyyy"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func openFileDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    static func maxFileDescriptors() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        return Int(limit.rlim_cur)
    }
}
