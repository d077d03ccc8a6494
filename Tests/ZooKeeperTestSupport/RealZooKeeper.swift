import Foundation
import ZooKeeperClient

/// A standalone Apache ZooKeeper (Debian's 3.8 package) started for a test on a free loopback port,
/// with a temporary dataDir, four-letter words allowed and the admin server off.
///
/// The JVM runs under a small shell that kills it when the test process goes away, so a crashed or
/// killed test run leaves no server behind; `stop()` and process exit kill it too.
public final class RealZooKeeper: ZooKeeperTestServer, @unchecked Sendable {
    // @unchecked: `javaPid` and `watcher` are guarded by `lock`; everything else is immutable.
    public let port: Int
    public let dataDir: URL
    public let tickTime: Int
    public let extendedTypes: Bool
    /// TLS and SASL (nil: plaintext only). A secured server still listens in plaintext on `port`, for the
    /// four-letter words that tell when it is ready.
    public let secure: SecureZooKeeperSettings?
    /// `secureClientPort` (0 when not secured).
    public let securePort: Int
    /// zoo.cfg lines appended after the defaults (a later key wins), e.g. `maxClientCnxns=10`.
    public let extraConfiguration: String
    private let lock = NSLock()
    private var javaPid: pid_t = 0
    private var watcher: Process?

    public var connectString: String { "127.0.0.1:\(port)" }
    /// The TLS port's connect string.
    public var secureConnectString: String { "127.0.0.1:\(securePort)" }

    static let jars = [
        "/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar", "/usr/share/java/slf4j-api.jar",
        "/usr/share/java/slf4j-simple.jar", "/usr/share/java/netty-all.jar", "/usr/share/java/metrics-core.jar",
    ]

    /// The class path of a secured server, and of the Java client over TLS (`ClientCnxnSocketNetty`).
    public static var secureClasspath: String { (jars + nettyJars).joined(separator: ":") }

    /// The Netty server factory (the only one that serves TLS) needs the individual netty jars.
    static let nettyJars = [
        "netty-buffer", "netty-codec", "netty-common", "netty-handler", "netty-resolver", "netty-transport",
        "netty-transport-native-epoll", "netty-transport-native-unix-common",
    ].map { "/usr/share/java/\($0).jar" }

    private init(
        port: Int,
        dataDir: URL,
        tickTime: Int,
        extendedTypes: Bool,
        secure: SecureZooKeeperSettings? = nil,
        securePort: Int = 0,
        extraConfiguration: String = ""
    ) {
        self.extraConfiguration = extraConfiguration
        self.secure = secure
        self.securePort = securePort
        self.port = port
        self.dataDir = dataDir
        self.tickTime = tickTime
        self.extendedTypes = extendedTypes
    }

    /// Starts a server and waits until it answers `ruok` with `imok`. `extraConfiguration`: zoo.cfg lines
    /// that override the defaults (e.g. `maxClientCnxns=10`).
    public static func start(
        extendedTypes: Bool = true,
        tickTime: Int = 2000,
        secure: SecureZooKeeperSettings? = nil,
        extraConfiguration: String = ""
    ) async throws -> RealZooKeeper {
        for jar in jars where !FileManager.default.fileExists(atPath: jar) {
            throw TestServerError("\(jar) is missing: run scripts/install-deps (installs Debian's zookeeper package)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/java") else {
            throw TestServerError("/usr/bin/java is missing: run scripts/install-deps (installs a JRE and zookeeper)")
        }
        // Another process may take the chosen port before the JVM binds it: try a few ports.
        var attempt = 0
        while true {
            attempt += 1
            let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zkstorm-zk-\(UUID().uuidString)"
            )
            try FileManager.default.createDirectory(
                at: dataDir.appendingPathComponent("data"),
                withIntermediateDirectories: true
            )
            let server = RealZooKeeper(
                port: FreePort.allocate(),
                dataDir: dataDir,
                tickTime: tickTime,
                extendedTypes: extendedTypes,
                secure: secure,
                securePort: secure == nil ? 0 : FreePort.allocate(),
                extraConfiguration: extraConfiguration
            )
            try server.writeConfig()
            do {
                try await server.launch()
                return server
            } catch let error as TestServerError
                where error.description.contains("Address already in use") && attempt < 4
            {
                try? FileManager.default.removeItem(at: dataDir)
            }
        }
    }

    private func writeConfig() throws {
        let config = """
            tickTime=\(tickTime)
            dataDir=\(dataDir.appendingPathComponent("data").path)
            clientPort=\(port)
            clientPortAddress=127.0.0.1
            maxClientCnxns=0
            4lw.commands.whitelist=*
            admin.enableServer=false
            minSessionTimeout=\(2 * tickTime)
            maxSessionTimeout=\(20 * tickTime)

            """
        let extra = extraConfiguration.isEmpty ? "" : extraConfiguration + "\n"
        try (config + secureConfig() + extra).write(
            to: dataDir.appendingPathComponent("zoo.cfg"),
            atomically: true,
            encoding: .utf8
        )
    }

    /// zoo.cfg lines and the JAAS file for TLS (PEM stores) and SASL DIGEST-MD5, as issue 12 describes.
    private func secureConfig() throws -> String {
        guard let secure else { return "" }
        var lines = """
            secureClientPort=\(securePort)
            secureClientPortAddress=127.0.0.1
            serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
            ssl.keyStore.location=\(secure.certificates.serverKeyStore)
            ssl.keyStore.type=PEM
            ssl.trustStore.location=\(secure.certificates.caCertificate)
            ssl.trustStore.type=PEM
            ssl.clientAuth=\(secure.clientAuth)

            """
        if !secure.saslUsers.isEmpty {
            lines += "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
            let users = secure.saslUsers.sorted { $0.key < $1.key }.map { "user_\($0.key)=\"\($0.value)\"" }
            let jaas = """
                Server {
                    org.apache.zookeeper.server.auth.DigestLoginModule required
                    \(users.joined(separator: "\n    "));
                };

                """
            try jaas.write(to: dataDir.appendingPathComponent("jaas.conf"), atomically: true, encoding: .utf8)
        }
        if !secure.extraConfiguration.isEmpty { lines += secure.extraConfiguration + "\n" }
        return lines
    }

    private func launch() async throws {
        let dir = dataDir.path
        let pidFile = "\(dir)/java.pid"
        try? FileManager.default.removeItem(atPath: pidFile)
        var javaArgs = [
            "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=*",
            "-Dznode.container.checkIntervalMs=500",
        ]
        if extendedTypes { javaArgs.append("-Dzookeeper.extendedTypesEnabled=true") }
        var classPath = Self.jars
        if let secure {
            classPath += Self.nettyJars
            if !secure.saslUsers.isEmpty {
                javaArgs.append("-Djava.security.auth.login.config=\(dir)/jaas.conf")
            }
        }
        javaArgs += [
            "-cp", classPath.joined(separator: ":"), "org.apache.zookeeper.server.ZooKeeperServerMain",
            "\(dir)/zoo.cfg",
        ]
        let process = try startJVMWithWatchdog(arguments: javaArgs, logFile: "\(dir)/zookeeper.log", pidFile: pidFile)
        lock.withLock { watcher = process }

        let started = ContinuousClock.now
        var pid: pid_t = 0
        while pid == 0 {
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let value = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                pid = value
            } else if ContinuousClock.now - started > .seconds(10) {
                throw TestServerError("ZooKeeper launcher wrote no pid in 10 s (\(dir))")
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        lock.withLock { javaPid = pid }
        RunningProcesses.register(pid)

        while true {
            if kill(pid, 0) != 0 {
                // The JVM may still be flushing its last lines.
                try await Task.sleep(for: .milliseconds(200))
                throw TestServerError("ZooKeeper exited during start-up on port \(port); log:\n\(logTail())")
            }
            // `ruok` answers imok as soon as the port listens; `srvr` shows a Mode only once the
            // server really serves requests; `conf` names our dataDir, so the answer is not from
            // another process that got the port first (ours then dies of BindException).
            if let answer = try? await FourLetterWordClient.send(
                "ruok",
                host: "127.0.0.1",
                port: port,
                timeout: .seconds(1)
            ),
                answer == "imok",
                let status = try? await FourLetterWordClient.send(
                    "srvr",
                    host: "127.0.0.1",
                    port: port,
                    timeout: .seconds(1)
                ),
                status.contains("Mode:"),
                let conf = try? await FourLetterWordClient.send(
                    "conf",
                    host: "127.0.0.1",
                    port: port,
                    timeout: .seconds(1)
                )
            {
                guard conf.contains(dataDir.appendingPathComponent("data").path) else {
                    kill(pid, SIGKILL)
                    throw TestServerError("port \(port) is served by another process: Address already in use")
                }
                // The TLS port is bound after the plaintext one; the log says when.
                if secure == nil || logTail(lines: 400).contains("bound to port \(securePort)") { return }
            }
            if ContinuousClock.now - started > .seconds(40) {
                kill(pid, SIGKILL)
                throw TestServerError("ZooKeeper did not answer ruok within 40 s on port \(port); log:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The last lines of the server's log, for failure messages.
    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOf: dataDir.appendingPathComponent("zookeeper.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Stops the JVM (SIGTERM, then SIGKILL after 5 s) and waits until it is gone.
    public func stop() async throws {
        let pid = lock.withLock { () -> pid_t in
            defer { javaPid = 0 }
            return javaPid
        }
        guard pid > 0 else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let started = ContinuousClock.now
        while kill(pid, 0) == 0 {
            if ContinuousClock.now - started > .seconds(5) { kill(pid, SIGKILL) }
            try await Task.sleep(for: .milliseconds(20))
            // Reap the JVM if it became our child's orphan; harmless otherwise.
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            if ContinuousClock.now - started > .seconds(10) { break }
        }
        RunningProcesses.unregister(pid)
        let process = lock.withLock { () -> Process? in
            defer { watcher = nil }
            return watcher
        }
        if let process, process.isRunning { process.terminate() }
    }

    /// Starts the server again on the same port with the same dataDir (sessions and data survive).
    public func restart() async throws {
        try await stop()
        try await launch()
    }

    /// Freezes the JVM (SIGSTOP): connections stay open but nothing is answered.
    public func pause() async throws {
        let pid = lock.withLock { javaPid }
        guard pid > 0 else { throw TestServerError("ZooKeeper on port \(port) is not running") }
        kill(pid, SIGSTOP)
    }

    public func resume() async throws {
        let pid = lock.withLock { javaPid }
        guard pid > 0 else { throw TestServerError("ZooKeeper on port \(port) is not running") }
        kill(pid, SIGCONT)
    }

    public func fourLetterWord(_ word: String) async throws -> String {
        try await FourLetterWordClient.send(word, host: "127.0.0.1", port: port)
    }

    /// Stops the server and deletes its dataDir.
    public func destroy() async throws {
        try await stop()
        try? FileManager.default.removeItem(at: dataDir)
    }

    deinit {
        if javaPid > 0 {
            kill(javaPid, SIGKILL)
            RunningProcesses.unregister(javaPid)
        }
    }
}

/// A test server could not be started or controlled; the message says what to do.
public struct TestServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Server processes to kill when the test process exits normally.
enum RunningProcesses {
    nonisolated(unsafe) private static var pids: Set<pid_t> = []
    private static let lock = NSLock()
    private static let installExitHook: Void = {
        atexit {
            RunningProcesses.killAll()
        }
    }()

    static func register(_ pid: pid_t) {
        _ = installExitHook
        lock.withLock { _ = pids.insert(pid) }
    }

    static func unregister(_ pid: pid_t) {
        lock.withLock { _ = pids.remove(pid) }
    }

    static func killAll() {
        let all = lock.withLock { pids }
        for pid in all { kill(pid, SIGKILL) }
    }
}
