import Foundation
import ZooKeeperClient

/// A standalone ZooKeeper 3.8 configured as secured deployments run it: a plaintext port and a TLS
/// `secureClientPort` served by `NettyServerCnxnFactory` from PEM files (`ssl.clientAuth=need` unless
/// told otherwise), SASL DIGEST-MD5 users in a JAAS `Server` section, and
/// `SASLAuthenticationProvider`. The netty jars are listed one by one: Debian's netty-all.jar alone
/// fails the TLS channel with NoClassDefFoundError.
public final class SecureRealZooKeeper: @unchecked Sendable {
    // @unchecked: `javaPid` and `watcher` are guarded by `lock`; everything else is immutable.
    public let port: Int
    public let securePort: Int
    public let directory: URL
    private let lock = NSLock()
    private var javaPid: pid_t = 0
    private var watcher: Process?

    public static let classpath: String = {
        let java = "/usr/share/java/"
        let netty = [
            "buffer", "codec", "common", "handler", "resolver", "transport", "transport-native-epoll",
            "transport-native-unix-common",
        ].map { "netty-\($0).jar" }
        return
            ([
                "zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar", "metrics-core.jar",
                "commons-cli.jar",
            ] + netty).map { java + $0 }.joined(separator: ":")
    }()

    private init(port: Int, securePort: Int, directory: URL) {
        self.port = port
        self.securePort = securePort
        self.directory = directory
    }

    /// Starts the server: `keyStore` is the server certificate and key in one PEM file, `trustStore`
    /// the CA PEM; `saslUsers` become `user_<name>="<password>"` lines.
    public static func start(
        keyStore: String,
        trustStore: String,
        saslUsers: [String: String],
        clientAuth: String = "need",
        extraConfiguration: String = ""
    ) async throws -> SecureRealZooKeeper {
        for jar in classpath.split(separator: ":") where !FileManager.default.fileExists(atPath: String(jar)) {
            throw TestServerError("\(jar) is missing: run scripts/install-deps (installs Debian's zookeeper package)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-securezk-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("data"),
            withIntermediateDirectories: true
        )
        let server = SecureRealZooKeeper(
            port: FreePort.allocate(),
            securePort: FreePort.allocate(),
            directory: directory
        )
        let config = """
            tickTime=2000
            dataDir=\(directory.appendingPathComponent("data").path)
            clientPort=\(server.port)
            clientPortAddress=127.0.0.1
            secureClientPort=\(server.securePort)
            secureClientPortAddress=127.0.0.1
            serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
            ssl.keyStore.location=\(keyStore)
            ssl.keyStore.type=PEM
            ssl.trustStore.location=\(trustStore)
            ssl.trustStore.type=PEM
            ssl.clientAuth=\(clientAuth)
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            4lw.commands.whitelist=*
            admin.enableServer=false
            \(extraConfiguration)
            """
        try config.write(to: directory.appendingPathComponent("zoo.cfg"), atomically: true, encoding: .utf8)
        let users = saslUsers.sorted { $0.key < $1.key }.map { "user_\($0.key)=\"\($0.value)\"" }
        let jaas =
            "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required \(users.joined(separator: " "));\n};\n"
        try jaas.write(to: directory.appendingPathComponent("jaas.conf"), atomically: true, encoding: .utf8)
        try await server.launch()
        return server
    }

    private func launch() async throws {
        let dir = directory.path
        let pidFile = "\(dir)/java.pid"
        let process = try startJVMWithWatchdog(
            arguments: [
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.security.auth.login.config=\(dir)/jaas.conf", "-cp", Self.classpath,
                "org.apache.zookeeper.server.ZooKeeperServerMain", "\(dir)/zoo.cfg",
            ],
            logFile: "\(dir)/zookeeper.log",
            pidFile: pidFile
        )
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
                throw TestServerError("ZooKeeper exited during start-up; log:\n\(logTail())")
            }
            // The secure port is bound after the plaintext one; the log says when both serve.
            if let status = try? await FourLetterWordClient.send(
                "srvr",
                host: "127.0.0.1",
                port: port,
                timeout: .seconds(1)
            ), status.contains("Mode:"),
                logTail(lines: 400).contains("bound to port \(securePort)")
            {
                return
            }
            if ContinuousClock.now - started > .seconds(40) {
                kill(pid, SIGKILL)
                throw TestServerError("secure ZooKeeper did not start within 40 s; log:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOf: directory.appendingPathComponent("zookeeper.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Stops the JVM and deletes its directory.
    public func destroy() async {
        let pid = lock.withLock { () -> pid_t in
            defer { javaPid = 0 }
            return javaPid
        }
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            let started = ContinuousClock.now
            while kill(pid, 0) == 0, ContinuousClock.now - started < .seconds(5) {
                _ = waitpid(pid, &status, WNOHANG)
                try? await Task.sleep(for: .milliseconds(20))
            }
            RunningProcesses.unregister(pid)
        }
        let process = lock.withLock { () -> Process? in
            defer { watcher = nil }
            return watcher
        }
        if let process, process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        if javaPid > 0 {
            kill(javaPid, SIGKILL)
            RunningProcesses.unregister(javaPid)
        }
    }
}
