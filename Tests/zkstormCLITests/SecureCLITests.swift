import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// A secured real ZooKeeper 3.8 (Netty, PEM, `ssl.clientAuth=need`, SASL user bob/secret) for the CLI tests.
actor SecureCLIServer {
    static let shared = SecureCLIServer()
    private var started: (server: RealZooKeeper, pki: TestCertificates, passwordFile: String)?

    func get() async throws -> (server: RealZooKeeper, pki: TestCertificates, passwordFile: String) {
        if let started { return started }
        let pki = try TestCertificates.make()
        let server = try await RealZooKeeper.start(
            secure: SecureZooKeeperSettings(certificates: pki, saslUsers: ["bob": "secret"])
        )
        let passwordFile = pki.directory.appendingPathComponent("bob.password").path
        try "secret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        started = (server, pki, passwordFile)
        return (server, pki, passwordFile)
    }
}

/// Integration tests: the built `zkstorm` binary against real ZooKeeper 3.8 over TLS and SASL.
@Suite("zkstorm over TLS and SASL end to end", .serialized)
struct SecureCLITests {
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> ZkstormProcess.Outcome {
        try await ZkstormProcess.run(arguments, environment: environment)
    }

    /// The full set of flags for the shared secured server.
    static func secureFlags(
        _ s: (server: RealZooKeeper, pki: TestCertificates, passwordFile: String),
        ca: String? = nil,
        clientCertificate: Bool = true,
        serverName: String = TestCertificates.serverName
    ) -> [String] {
        var flags = ["--target", s.server.secureConnectString, "--tls-ca", ca ?? s.pki.caCertificate]
        if clientCertificate { flags += ["--tls-cert", s.pki.clientCertificate, "--tls-key", s.pki.clientKey] }
        flags += ["--tls-server-name", serverName]
        flags += ["--sasl-user", "bob", "--sasl-password-file", s.passwordFile]
        return flags
    }

    @Test func checkReportsTLSClientCertificateSASLAndIdentities() async throws {
        let s = try await SecureCLIServer.shared.get()
        let result = try await Self.run(["check", "--json"] + Self.secureFlags(s))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let rows = report?["results"] as? [[String: Any]] ?? []
        func detail(_ feature: String) -> String {
            rows.first { $0["feature"] as? String == feature }?["detail"] as? String ?? "<missing>"
        }
        #expect(detail("TLS").contains("TLSv1."), "\(detail("TLS"))")
        #expect(detail("TLS").contains(", TLS_"), "no cipher suite: \(detail("TLS"))")
        #expect(detail("client certificate").contains("required"), "\(detail("client certificate"))")
        #expect(detail("SASL").contains("DIGEST-MD5") && detail("SASL").contains("bob"), "\(detail("SASL"))")
        #expect(detail("whoAmI").contains("sasl:bob") && detail("whoAmI").contains("x509:"), "\(detail("whoAmI"))")
        #expect(detail("connect phases").contains("SASL"), "\(detail("connect phases"))")
        #expect(report?["coreOK"] as? Bool == true, "\(result.stdout)")
    }

    @Test func watchStormRunOverTLSAndSASLRecordsConnectPhases() async throws {
        let s = try await SecureCLIServer.shared.get()
        let json = s.pki.directory.appendingPathComponent("storm-\(UUID().uuidString).json").path
        let workload = s.pki.directory.appendingPathComponent("storm.yaml").path
        try """
        name: secure-storm
        sessions: 0
        duration: 2s
        warmup: 0s
        watches:
          kind: data
          watchers: 20
          znodes: 1
          storm: {rounds: 5, interval: 200ms, writer: dedicated, timeout: 3s}
        """.write(toFile: workload, atomically: true, encoding: .utf8)
        let result = try await Self.run(["run", workload, "--quiet", "--json", json] + Self.secureFlags(s))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("connect phases"), "\(result.stdout)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        let phases = (object as? [String: Any])?["connect_phases_us"] as? [String: Any] ?? [:]
        for phase in ["tcp", "tls", "handshake", "sasl", "total"] {
            #expect(phases[phase] != nil, "\(phase) missing: \(phases.keys.sorted())")
        }
        let watch = (object as? [String: Any])?["watch"] as? [String: Any]
        #expect((watch?["notifications"] as? Int ?? 0) > 0, "\(String(describing: watch))")
        #expect((watch?["missed"] as? Int) == 0, "\(String(describing: watch))")
        try await Self.expectNoRunRootsLeft(s)
    }

    @Test func mixedRunOverTLSAndSASLFromAWorkloadTargetSection() async throws {
        let s = try await SecureCLIServer.shared.get()
        let workload = s.pki.directory.appendingPathComponent("mixed-\(UUID().uuidString).yaml").path
        try """
        name: secure-mixed
        target:
          hosts: \(s.server.secureConnectString)
          tls: {ca: \(s.pki.caCertificate), cert: \(s.pki.clientCertificate), key: \(s.pki.clientKey), server_name: localhost}
          sasl: {user: bob, password_file: \(s.passwordFile)}
        sessions: 4
        duration: 2s
        warmup: 0s
        keyspace: {count: 50, value_size: 32}
        groups:
          - name: readers
            sessions: 3
            ops: {get: 80, exists: 20}
            load: {model: closed, concurrency: 1, window: 4}
          - name: writers
            ops: {set: 60, create: {weight: 20, under: churn}, delete: {weight: 20, under: churn, target: own}}
            load: {model: closed, concurrency: 1, window: 2}
        """.write(toFile: workload, atomically: true, encoding: .utf8)
        let result = try await Self.run(["run", workload, "--quiet"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        for op in ["get", "set", "create"] {
            #expect(result.stdout.contains("\n\(op) "), "\(op) missing:\n\(result.stdout)")
        }
        #expect(result.stdout.contains("SASL DIGEST-MD5 as bob"), "\(result.stdout)")
        try await Self.expectNoRunRootsLeft(s)
    }

    /// `bench fanout`, `bench znodes` and `bench footprint` take the same security flags as `bench client`;
    /// a refusal exits 77 naming the command.
    @Test func benchCommandsTakeTheSecurityFlags() async throws {
        let s = try await SecureCLIServer.shared.get()
        let flags = Self.secureFlags(s)
        let commands: [[String]] = [
            ["bench", "fanout", "--watchers", "5", "--rounds", "1", "--path", "/zkbench/secure-fanout"],
            ["bench", "znodes", "--count", "20", "--sessions", "2", "--parent", "/zkbench/secure-znodes"],
            ["bench", "footprint", "--sessions", "3"],
        ]
        for command in commands {
            let result = try await Self.run(command + flags)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(result.stdout.contains("\"bench\":\"\(command[1])\""), "\(command): \(result.stdout)")
            let refused = try await Self.run(command + Self.secureFlags(s, clientCertificate: false))
            #expect(refused.status == 77, "\(command): \(refused.stderr)")
            #expect(
                refused.stderr.contains("zkstorm bench \(command[1])") && refused.stderr.contains("TLS"),
                "\(refused.stderr)"
            )
        }
    }

    @Test func wrongPasswordExits77NamingSASLAndTheHost() async throws {
        let s = try await SecureCLIServer.shared.get()
        var flags = Self.secureFlags(s)
        flags.removeLast(2)  // no password file: the environment variable supplies the wrong password
        let result = try await Self.run(["check"] + flags, environment: ["ZKSTORM_SASL_PASSWORD": "wrong"])
        #expect(result.status == 77, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains("SASL") && result.stderr.contains(s.server.secureConnectString),
            "\(result.stderr)"
        )
        let run = try await Self.run(
            ["run", "--preset", "read-heavy", "--duration", "1s", "--quiet"] + flags,
            environment: ["ZKSTORM_SASL_PASSWORD": "wrong"]
        )
        #expect(run.status == 77, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("SASL"), "\(run.stderr)")
    }

    @Test func untrustedCAExits77() async throws {
        let s = try await SecureCLIServer.shared.get()
        let result = try await Self.run(["check"] + Self.secureFlags(s, ca: s.pki.untrustedCACertificate))
        #expect(result.status == 77, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("TLS") && result.stderr.contains("unknown CA"), "\(result.stderr)")
        #expect(result.stderr.contains("--tls-ca"), "\(result.stderr)")
    }

    @Test func missingClientCertificateExits77() async throws {
        let s = try await SecureCLIServer.shared.get()
        let result = try await Self.run(["check"] + Self.secureFlags(s, clientCertificate: false))
        #expect(result.status == 77, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains("certificate required") && result.stderr.contains("--tls-cert"),
            "\(result.stderr)"
        )
    }

    @Test func hostNameMismatchExits77() async throws {
        let s = try await SecureCLIServer.shared.get()
        let result = try await Self.run(["check"] + Self.secureFlags(s, serverName: "zk.elsewhere.example"))
        #expect(result.status == 77, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("host name mismatch"), "\(result.stderr)")
    }

    @Test func missingPasswordIsAUsageErrorAndAnUnreadableCAIsNoInput() async throws {
        let s = try await SecureCLIServer.shared.get()
        var flags = Self.secureFlags(s)
        flags.removeLast(2)
        let noPassword = try await Self.run(["check"] + flags)
        #expect(noPassword.status == 64, "\(noPassword.stderr)")
        #expect(noPassword.stderr.contains("ZKSTORM_SASL_PASSWORD"), "\(noPassword.stderr)")
        let noCA = try await Self.run(["check"] + Self.secureFlags(s, ca: "/nonexistent/ca.pem"))
        #expect(noCA.status == 66, "\(noCA.stderr)")
        #expect(noCA.stderr.contains("/nonexistent/ca.pem"), "\(noCA.stderr)")
    }

    /// The runs removed their roots (created with a sasl:bob ACL, so only bob can look).
    static func expectNoRunRootsLeft(
        _ s: (server: RealZooKeeper, pki: TestCertificates, passwordFile: String)
    )
        async throws
    {
        var configuration = ZooKeeperConfiguration(connectString: s.server.secureConnectString)
        configuration.tls = try ZooKeeperTLS(
            caFile: s.pki.caCertificate,
            certificateFile: s.pki.clientCertificate,
            keyFile: s.pki.clientKey,
            serverName: TestCertificates.serverName
        )
        configuration.sasl = ZooKeeperSASL(user: "bob", password: "secret")
        let client = try await ZooKeeperClient.connect(configuration)
        let left = (try? await client.getChildren("/zkstorm")) ?? []
        #expect(left.filter { !$0.hasPrefix("check-") }.isEmpty, "\(left)")
        try await client.close()
    }
}
