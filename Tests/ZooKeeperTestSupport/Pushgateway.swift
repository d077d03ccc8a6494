import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real Prometheus Pushgateway (Debian's /usr/bin/prometheus-pushgateway) on a free loopback port,
/// in memory only (no persistence file), for integration tests. `stop()` it when done.
public final class Pushgateway: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`.
    public static let binary = "/usr/bin/prometheus-pushgateway"

    /// Serve HTTPS with this certificate, and optionally require basic auth (the gateway's web config).
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        /// user → bcrypt hash of the password.
        public var basicAuthUsers: [String: String]

        public init(certificateFile: String, keyFile: String, basicAuthUsers: [String: String] = [:]) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.basicAuthUsers = basicAuthUsers
        }
    }

    public let port: Int
    public let tls: TLS?
    public var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }
    private let lock = NSLock()
    private var process: ObservabilityProcess?

    private init(port: Int, tls: TLS?, process: ObservabilityProcess) {
        self.port = port
        self.tls = tls
        self.process = process
    }

    /// Starts a gateway on `port`, or on a free one when nil, and waits until it is ready.
    public static func start(port: Int? = nil, tls: TLS? = nil) async throws -> Pushgateway {
        var lastError: (any Error)?
        // A free port can be taken between choosing and binding it: try a few fresh ones.
        for _ in 0..<(port == nil ? 3 : 1) {
            let chosen = port ?? FreePort.allocate()
            do {
                let process = try await launch(port: chosen, tls: tls)
                return Pushgateway(port: chosen, tls: tls, process: process)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    private static func launch(port: Int, tls: TLS?) async throws -> ObservabilityProcess {
        let directory = try makeTemporaryDirectory(prefix: "zkstorm-pushgateway")
        var arguments = ["--web.listen-address=127.0.0.1:\(port)", "--persistence.file="]
        if let tls {
            var config = "tls_server_config:\n  cert_file: \(tls.certificateFile)\n  key_file: \(tls.keyFile)\n"
            if !tls.basicAuthUsers.isEmpty {
                config += "basic_auth_users:\n"
                for (user, hash) in tls.basicAuthUsers.sorted(by: { $0.key < $1.key }) {
                    config += "  \(user): '\(hash)'\n"
                }
            }
            let configFile = directory.appendingPathComponent("web.yml")
            try config.write(to: configFile, atomically: true, encoding: .utf8)
            // Info level: readiness over TLS is read from the "TLS is enabled." line.
            arguments += ["--web.config.file=\(configFile.path)", "--log.level=info"]
        } else {
            arguments += ["--log.level=warn"]
        }
        let process = try ObservabilityProcess.launch(
            name: "pushgateway",
            binary: binary,
            arguments: arguments,
            directory: directory
        )
        if tls == nil {
            try await process.waitUntilReady(url: "http://127.0.0.1:\(port)/-/ready", timeout: .seconds(15))
        } else {
            try await process.waitUntilLogged("TLS is enabled.", timeout: .seconds(15))
        }
        return process
    }

    /// Stops the gateway (SIGTERM, then SIGKILL after 5 s). Its pushed metrics are gone.
    public func stop() async {
        let process = lock.withLock { () -> ObservabilityProcess? in
            defer { self.process = nil }
            return self.process
        }
        await process?.stop()
    }

    /// Stops it if running and starts a fresh, empty gateway on the same port.
    public func restart() async throws {
        await stop()
        var lastError: (any Error)?
        // The old socket may linger for a moment; the port is ours, so retry briefly.
        for _ in 0..<20 {
            do {
                let process = try await Self.launch(port: port, tls: tls)
                lock.withLock { self.process = process }
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        throw lastError!
    }

    /// The gateway's own /metrics page: every pushed series with its grouping labels.
    public func metricsText() async throws -> String {
        guard tls == nil else { throw ObservabilityServiceError("metricsText() reads plain-HTTP gateways only") }
        let (status, body) = try await httpGet("\(url)/metrics")
        guard status == 200 else {
            throw ObservabilityServiceError("GET \(url)/metrics answered HTTP \(status): \(body)")
        }
        return body
    }

    deinit {
        process?.kill()
    }
}

/// A test service that failed to start or answer; says what to do.
public struct ObservabilityServiceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A child process with its output in a log file, for Pushgateway and Prometheus.
final class ObservabilityProcess: @unchecked Sendable {
    // @unchecked: Foundation's Process is thread-safe for the calls used here (isRunning, terminate,
    // processIdentifier); everything else is immutable.
    let name: String
    let process: Process
    let logFile: URL
    let directory: URL

    private init(name: String, process: Process, logFile: URL, directory: URL) {
        self.name = name
        self.process = process
        self.logFile = logFile
        self.directory = directory
    }

    static func launch(
        name: String,
        binary: String,
        arguments: [String],
        directory: URL? = nil
    ) throws -> ObservabilityProcess {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ObservabilityServiceError(
                "\(binary) is missing; run scripts/install-deps (Debian package \(name == "pushgateway" ? "prometheus-pushgateway" : "prometheus"))"
            )
        }
        let directory = try directory ?? makeTemporaryDirectory(prefix: "zkstorm-\(name)")
        let logFile = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        return ObservabilityProcess(name: name, process: process, logFile: logFile, directory: directory)
    }

    var log: String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// Polls `url` until it answers 200; fails early with the log when the process exits.
    func waitUntilReady(url: String, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            guard process.isRunning else {
                throw ObservabilityServiceError(
                    "\(name) exited with status \(process.terminationStatus) before it was ready; its log:\n\(log)"
                )
            }
            if let (status, _) = try? await httpGet(url), status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        throw ObservabilityServiceError("\(name) did not answer \(url) within \(timeout); its log:\n\(log)")
    }

    /// Polls the log until it contains `line`; fails early with the log when the process exits.
    func waitUntilLogged(_ line: String, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if log.contains(line) { return }
            guard process.isRunning else {
                throw ObservabilityServiceError(
                    "\(name) exited with status \(process.terminationStatus) during start-up; its log:\n\(log)"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        throw ObservabilityServiceError("\(name) did not log \"\(line)\" within \(timeout); its log:\n\(log)")
    }

    func stop() async {
        if process.isRunning {
            process.terminate()
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(5)
            while process.isRunning && clock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    func kill() {
        if process.isRunning {
            #if canImport(Glibc)
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            #else
            _ = Darwin.kill(process.processIdentifier, SIGKILL)
            #endif
        }
    }
}

func makeTemporaryDirectory(prefix: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// A plain GET with a short timeout: status and body text.
func httpGet(_ url: String) async throws -> (Int, String) {
    guard let target = URL(string: url) else { throw ObservabilityServiceError("bad URL \(url)") }
    var request = URLRequest(url: target)
    request.timeoutInterval = 5
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    return (status, String(decoding: data, as: UTF8.self))
}
