import Foundation
import ZooKeeperClient

/// A real ZooKeeper 3.8 quorum (Debian's package) on free loopback ports, for failover tests: the same
/// java command line as scripts/ensemble (QuorumPeerMain with the individual netty jars, because
/// Debian's netty-all.jar is an empty wrapper on quorum code paths), one temporary directory per node.
///
/// Each JVM runs under a small shell that kills it once the test process is gone, so a crashed test
/// leaves no server behind; `stop()` and normal process exit kill them too. Nodes are numbered 1...N
/// like `server.N` in zoo.cfg and scripts/ensemble.
public final class RealEnsemble: @unchecked Sendable {
    // @unchecked: `pids` and `watchers` are guarded by `lock`; everything else is immutable.
    public let size: Int
    public let tickTime: Int
    public let directory: URL
    /// Client port of node i at index i - 1.
    public let clientPorts: [Int]
    /// TLS (`secureClientPort`, Netty) port of node i at index i - 1; empty unless started `secure`.
    public let securePorts: [Int]
    /// TLS and SASL users of every node (nil: plaintext only).
    public let secure: SecureZooKeeperSettings?
    private let peerPorts: [(quorum: Int, election: Int)]
    private let lock = NSLock()
    private var pids: [Int: pid_t] = [:]
    private var watchers: [Int: Process] = [:]

    static let javaDirectory = "/usr/share/java"
    static let jarNames = [
        "zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple", "metrics-core", "commons-cli", "snappy-java",
        "netty-buffer", "netty-codec", "netty-common", "netty-handler", "netty-resolver", "netty-transport",
        "netty-transport-native-epoll", "netty-transport-native-unix-common",
    ]

    /// "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3".
    public var connectString: String { clientPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    public func connectString(node: Int) -> String { "127.0.0.1:\(clientPorts[node - 1])" }

    /// The TLS ports: "127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3" (started `secure` only).
    public var secureConnectString: String { securePorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    private init(size: Int, tickTime: Int, directory: URL, secure: SecureZooKeeperSettings?) {
        self.size = size
        self.tickTime = tickTime
        self.directory = directory
        self.secure = secure
        var ports: [Int] = []
        let perNode = secure == nil ? 3 : 4
        // FreePort releases each port at once; asking for all of them before binding any could hand
        // out the same one twice, so duplicates are drawn again.
        while ports.count < perNode * size {
            let port = FreePort.allocate()
            if !ports.contains(port) { ports.append(port) }
        }
        clientPorts = Array(ports[0..<size])
        peerPorts = (0..<size).map { (ports[size + $0], ports[2 * size + $0]) }
        securePorts = secure == nil ? [] : Array(ports[(3 * size)..<(4 * size)])
    }

    /// Starts `size` nodes and waits until every one serves as leader or follower.
    /// `tickTime` (ms) bounds session timeouts to 2–20 ticks, as in zoo.cfg. With `secure`, every node
    /// also serves TLS on its `securePorts` entry (Netty factory, PEM stores, `ssl.clientAuth` as given)
    /// and SASL DIGEST-MD5 for `secure.saslUsers`, as secured production ensembles run.
    public static func start(
        size: Int = 3,
        tickTime: Int = 500,
        secure: SecureZooKeeperSettings? = nil
    ) async throws -> RealEnsemble {
        for name in jarNames where !FileManager.default.fileExists(atPath: "\(javaDirectory)/\(name).jar") {
            throw TestServerError(
                "\(javaDirectory)/\(name).jar is missing: run scripts/install-deps (installs Debian's zookeeper package)"
            )
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/java") else {
            throw TestServerError("/usr/bin/java is missing: run scripts/install-deps (installs a JRE and zookeeper)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-ensemble-\(UUID().uuidString)"
        )
        let ensemble = RealEnsemble(size: size, tickTime: tickTime, directory: directory, secure: secure)
        EnsembleDirectories.removeAtExit(directory)
        do {
            for node in 1...size { try ensemble.writeConfig(node: node) }
            for node in 1...size { try ensemble.launch(node: node) }
            try await ensemble.waitForQuorum(timeout: .seconds(60))
        } catch {
            ensemble.killAll()
            throw error
        }
        return ensemble
    }

    private func nodeDirectory(_ node: Int) -> URL { directory.appendingPathComponent("node\(node)") }

    private func writeConfig(node: Int) throws {
        let nodeDir = nodeDirectory(node)
        let data = nodeDir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try "\(node)\n".write(to: data.appendingPathComponent("myid"), atomically: true, encoding: .utf8)
        var lines = [
            "tickTime=\(tickTime)", "initLimit=10", "syncLimit=2", "dataDir=\(data.path)",
            "clientPort=\(clientPorts[node - 1])", "clientPortAddress=127.0.0.1", "4lw.commands.whitelist=*",
            "admin.enableServer=false", "maxClientCnxns=0", "minSessionTimeout=\(2 * tickTime)",
            "maxSessionTimeout=\(20 * tickTime)",
        ]
        for (index, ports) in peerPorts.enumerated() {
            lines.append("server.\(index + 1)=127.0.0.1:\(ports.quorum):\(ports.election)")
        }
        if let secure {
            let certificates = secure.certificates
            lines += [
                "secureClientPort=\(securePorts[node - 1])", "secureClientPortAddress=127.0.0.1",
                "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
                "ssl.keyStore.location=\(certificates.serverKeyStore)", "ssl.keyStore.type=PEM",
                "ssl.trustStore.location=\(certificates.caCertificate)", "ssl.trustStore.type=PEM",
                "ssl.clientAuth=\(secure.clientAuth)",
            ]
            if !secure.saslUsers.isEmpty {
                lines.append("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider")
                let users = secure.saslUsers.sorted { $0.key < $1.key }.map { "user_\($0.key)=\"\($0.value)\"" }
                let jaas =
                    "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required \(users.joined(separator: " "));\n};\n"
                try jaas.write(to: nodeDir.appendingPathComponent("jaas.conf"), atomically: true, encoding: .utf8)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(
            to: nodeDir.appendingPathComponent("zoo.cfg"),
            atomically: true,
            encoding: .utf8
        )
    }

    private func launch(node: Int) throws {
        let dir = nodeDirectory(node).path
        let pidFile = "\(dir)/java.pid"
        try? FileManager.default.removeItem(atPath: pidFile)
        let classpath = Self.jarNames.map { "\(Self.javaDirectory)/\($0).jar" }.joined(separator: ":")
        var javaArgs = [
            "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dzookeeper.extendedTypesEnabled=true",
            "-Dzookeeper.admin.enableServer=false",
        ]
        if secure?.saslUsers.isEmpty == false { javaArgs.append("-Djava.security.auth.login.config=\(dir)/jaas.conf") }
        javaArgs += ["-cp", classpath, "org.apache.zookeeper.server.quorum.QuorumPeerMain", "\(dir)/zoo.cfg"]
        let process = try startJVMWithWatchdog(arguments: javaArgs, logFile: "\(dir)/zookeeper.log", pidFile: pidFile)
        let started = Date()
        var pid: pid_t = 0
        while pid == 0 {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let value = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                pid = value
            } else if Date().timeIntervalSince(started) > 10 {
                process.terminate()
                throw TestServerError("the launcher of ensemble node \(node) wrote no pid in 10 s (\(dir))")
            } else {
                usleep(10_000)
            }
        }
        RunningProcesses.register(pid)
        lock.withLock {
            pids[node] = pid
            watchers[node] = process
        }
    }

    /// The node's mode from `srvr`: "leader", "follower", "standalone", or nil when it does not serve
    /// (down, paused, or looking for a leader).
    public func mode(_ node: Int) async -> String? {
        guard
            let text = try? await FourLetterWordClient.send(
                "srvr",
                host: "127.0.0.1",
                port: clientPorts[node - 1],
                timeout: .milliseconds(800)
            )
        else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Mode: ") {
            return String(line.dropFirst("Mode: ".count))
        }
        return nil
    }

    /// The node that is leader now, if one serves.
    public func leader() async -> Int? {
        for node in 1...size where await mode(node) == "leader" { return node }
        return nil
    }

    /// Waits until every running, unpaused node serves (leader or follower).
    public func waitForQuorum(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let running = lock.withLock { pids.keys.sorted() }
            var serving = 0
            for node in running {
                if let mode = await mode(node), mode == "leader" || mode == "follower" { serving += 1 }
            }
            if serving == running.count { return }
            for node in running where !isAlive(node) {
                throw TestServerError("ensemble node \(node) exited; log:\n\(logTail(node: node))")
            }
            if ContinuousClock.now > deadline {
                throw TestServerError(
                    "the quorum did not form within \(timeout) (\(serving) of \(running.count) nodes serve); logs in \(directory.path)"
                )
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Waits until `node` serves again (after `restart` or `resume`).
    public func waitUntilServing(_ node: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let mode = await mode(node), mode == "leader" || mode == "follower" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServerError("ensemble node \(node) did not serve within \(timeout); log:\n\(logTail(node: node))")
    }

    private func pid(_ node: Int) throws -> pid_t {
        guard let pid = lock.withLock({ pids[node] }) else {
            throw TestServerError("ensemble node \(node) is not running (killed or stopped)")
        }
        return pid
    }

    private func isAlive(_ node: Int) -> Bool {
        guard let pid = lock.withLock({ pids[node] }) else { return false }
        return sendSignal(pid, 0) == 0
    }

    /// SIGKILL: the node vanishes without closing its connections cleanly from the JVM's side.
    public func kill(_ node: Int) async throws {
        let pid = try pid(node)
        sendSignal(pid, SIGKILL)
        await waitGone(pid)
        forget(node, pid)
    }

    /// SIGSTOP: connections stay open, nothing is answered (sessions on it time out).
    public func pause(_ node: Int) throws {
        sendSignal(try pid(node), SIGSTOP)
    }

    /// SIGCONT after `pause`.
    public func resume(_ node: Int) throws {
        sendSignal(try pid(node), SIGCONT)
    }

    /// Starts a killed node again on the same ports and data, and waits until it serves.
    public func restart(_ node: Int) async throws {
        if let pid = lock.withLock({ pids[node] }) {
            sendSignal(pid, SIGCONT)
            sendSignal(pid, SIGKILL)
            await waitGone(pid)
            forget(node, pid)
        }
        try launch(node: node)
        try await waitUntilServing(node)
    }

    /// Kills every node and removes the directory.
    public func stop() async {
        let all = lock.withLock { pids }
        for (node, pid) in all {
            sendSignal(pid, SIGCONT)
            sendSignal(pid, SIGKILL)
            await waitGone(pid)
            forget(node, pid)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private func killAll() {
        for (_, pid) in lock.withLock({ pids }) { sendSignal(pid, SIGKILL) }
    }

    private func waitGone(_ pid: pid_t) async {
        for _ in 0..<500 where sendSignal(pid, 0) == 0 {
            // The JVM is the launcher shell's child; the shell reaps it. Poll until it is gone.
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func forget(_ node: Int, _ pid: pid_t) {
        RunningProcesses.unregister(pid)
        let watcher = lock.withLock { () -> Process? in
            pids[node] = nil
            return watchers.removeValue(forKey: node)
        }
        if let watcher, watcher.isRunning { watcher.terminate() }
    }

    /// The last lines of a node's log, for failure messages.
    public func logTail(node: Int, lines: Int = 30) -> String {
        let url = nodeDirectory(node).appendingPathComponent("zookeeper.log")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    deinit {
        killAll()
    }
}

/// `kill(2)`, outside the type whose `kill(_:)` method would shadow it.
@discardableResult
private func sendSignal(_ pid: pid_t, _ signal: Int32) -> Int32 {
    kill(pid, signal)
}

/// Quorum directories to delete when the test process exits (shared quorums live until then).
enum EnsembleDirectories {
    nonisolated(unsafe) private static var directories: Set<URL> = []
    private static let lock = NSLock()
    private static let installExitHook: Void = {
        atexit {
            EnsembleDirectories.removeAll()
        }
    }()

    static func removeAtExit(_ directory: URL) {
        _ = installExitHook
        lock.withLock { _ = directories.insert(directory) }
    }

    static func removeAll() {
        for directory in lock.withLock({ directories }) { try? FileManager.default.removeItem(at: directory) }
    }
}
