import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// `zkstorm replay` and `zkstorm run --seed-snapshot` against targets with TLS on the secure port (client
/// certificates required) and SASL DIGEST-MD5 as bob: real ZooKeeper 3.8 (SecureCLIServer) and the
/// built-in server as `zkstorm serve --secure-port` runs it. The logs and snapshot are the real ZooKeeper
/// 3.8 fixtures of Tests/ZooKeeperFilesTests; the tree lands under the run root and is gone afterwards,
/// unless replay's --keep.
@Suite("replay and seeding over TLS and SASL", .serialized)
struct SecureReplaySeedTests {
    typealias Secured = (server: RealZooKeeper, pki: TestCertificates, passwordFile: String)

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ZooKeeperFilesTests/Fixtures")

    /// The tree the fixtures' workload left (scripts/capture-txnlogs), data as latin-1 text.
    static func workloadTree() throws -> [String: String] {
        let object = try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixtures.appendingPathComponent("zk38/workload.json"))
        )
        return (object as? [String: Any])?["tree"] as? [String: String] ?? [:]
    }

    /// A secured target the test reaches the same way zkstorm does; `stop` ends a process it started.
    struct Target {
        var name: String
        var connectString: String
        var pki: TestCertificates
        var passwordFile: String
        var stop: @Sendable () -> Void

        var flags: [String] {
            [
                "--target", connectString, "--tls-ca", pki.caCertificate, "--tls-cert", pki.clientCertificate,
                "--tls-key", pki.clientKey, "--tls-server-name", TestCertificates.serverName, "--sasl-user", "bob",
                "--sasl-password-file", passwordFile,
            ]
        }

        func client() async throws -> ZooKeeperClient {
            var configuration = ZooKeeperConfiguration(connectString: connectString)
            configuration.tls = try ZooKeeperTLS(
                caFile: pki.caCertificate,
                certificateFile: pki.clientCertificate,
                keyFile: pki.clientKey,
                serverName: TestCertificates.serverName
            )
            configuration.sasl = ZooKeeperSASL(user: "bob", password: "secret")
            return try await ZooKeeperClient.connect(configuration)
        }
    }

    static func realZooKeeper() async throws -> Target {
        let s: Secured = try await SecureCLIServer.shared.get()
        return Target(
            name: "real ZooKeeper",
            connectString: s.server.secureConnectString,
            pki: s.pki,
            passwordFile: s.passwordFile,
            stop: {}
        )
    }

    /// `zkstorm serve` with its TLS port (client certificates needed, as ZooKeeper 3.8's default) and the
    /// SASL user bob; the plaintext port only answers the readiness check.
    static func builtIn() async throws -> Target {
        let pki = try TestCertificates.make()
        let users = pki.path("sasl-users")
        try "bob=secret\n".write(toFile: users, atomically: true, encoding: .utf8)
        let passwordFile = pki.path("bob.password")
        try "secret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let port = FreePort.allocate()
        let securePort = FreePort.allocate()
        let serve = try ZkstormProcess([
            "serve", "--port", "\(port)", "--secure-port", "\(securePort)", "--tls-cert", pki.serverCertificate,
            "--tls-key", pki.serverKey, "--tls-ca", pki.caCertificate, "--sasl-users", users,
        ])
        let process = serve.process
        let target = Target(
            name: "built-in server",
            connectString: "127.0.0.1:\(securePort)",
            pki: pki,
            passwordFile: passwordFile,
            stop: { if process.isRunning { process.terminate() } }
        )
        try await ServeCommandTests.waitUntilServing(port: port)
        // The TLS port listens once a secured session gets through.
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do {
                try await target.client().close()
                return target
            } catch  where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    static func target(_ kind: String) async throws -> Target {
        kind == "zookeeper" ? try await realZooKeeper() : try await builtIn()
    }

    /// Paths (relative to `base`) and data of the tree under `base + "/app"`; nil while it is missing.
    static func tree(_ client: ZooKeeperClient, base: String) async -> [String: String]? {
        var out: [String: String] = [:]
        var queue = [base + "/app"]
        while let path = queue.popLast() {
            guard let (data, _) = try? await client.getData(path) else { return nil }
            out[String(path.dropFirst(base.count))] = String(data.map { Character(Unicode.Scalar($0)) })
            for child in (try? await client.getChildren(path)) ?? [] { queue.append(path + "/" + child) }
        }
        return out
    }

    /// Deletes `path` and everything under it (what --keep left).
    static func remove(_ client: ZooKeeperClient, _ path: String) async throws {
        for child in (try? await client.getChildren(path)) ?? [] { try await remove(client, path + "/" + child) }
        try await client.delete(path)
    }

    @Test(arguments: ["zookeeper", "built-in"])
    func replayKeepsTheTreeUnderTheRootOnlyWithKeep(kind: String) async throws {
        let target = try await Self.target(kind)
        defer { target.stop() }
        let client = try await target.client()
        let logs = Self.fixtures.appendingPathComponent("zk38").path
        let id = "replay-secure-\(UUID().uuidString.prefix(8).lowercased())"
        for keep in [true, false] {
            let runId = id + (keep ? "-kept" : "")
            let result = try await ZkstormProcess.run(
                ["replay", logs, "--speed", "50", "--run-id", runId, "--quiet"] + (keep ? ["--keep"] : [])
                    + target.flags
            )
            #expect(result.status == 0, "\(target.name) keep=\(keep): \(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("SASL DIGEST-MD5 as bob"), "\(target.name): \(result.stdout)")
            let root = "/zkstorm/" + runId
            if keep {
                // The logged tree under the root; /app/kept is the ephemeral of the one session the log
                // never closes, which ends with zkstorm's own session.
                let kept = try #require(await Self.tree(client, base: root), "\(target.name): nothing under \(root)")
                let expected = try Self.workloadTree()
                #expect(
                    kept.filter { $0.key != "/app/kept" } == expected.filter { $0.key != "/app/kept" },
                    "\(target.name): \(kept.keys.sorted()) vs \(expected.keys.sorted())"
                )
                #expect(try await client.getChildren(root) == ["app"])
                try await Self.remove(client, root)
            } else {
                #expect(try await client.exists(root) == nil, "\(target.name): \(root) left without --keep")
            }
        }
        try await client.close()
    }

    @Test(arguments: ["zookeeper", "built-in"])
    func runSeededFromASnappySnapshotBuildsAndRemovesTheTree(kind: String) async throws {
        let target = try await Self.target(kind)
        defer { target.stop() }
        let client = try await target.client()
        let snapshot = Self.fixtures.appendingPathComponent("zk38-compressed/snapshot.35.snappy").path
        let workload = try ZkstormProcess.workload(
            """
            name: seeded-secure
            sessions: 1
            keyspace: {count: 10}
            groups:
              - ops: {get: 1}
                load: {model: closed, concurrency: 1, window: 1}

            """
        )
        defer { try? FileManager.default.removeItem(at: workload) }
        let runId = "seed-secure-\(UUID().uuidString.prefix(8).lowercased())"
        let root = "/zkstorm/" + runId
        let run = try ZkstormProcess(
            ["run", workload.path, "--run-id", runId, "--duration", "6s", "--warmup", "0s", "--quiet"]
                + ["--seed-snapshot", snapshot] + target.flags
        )
        // While the run measures, the snapshot's tree is in place under the root (the ephemeral /app/kept
        // as a persistent node: the seeder creates every node persistent).
        let expected = try Self.workloadTree()
        var seeded: [String: String]?
        let deadline = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < deadline && run.process.isRunning {
            seeded = await Self.tree(client, base: root)
            if seeded == expected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let outcome = try await run.finish(timeout: .seconds(60))
        #expect(outcome.status == 0, "\(target.name): \(outcome.stdout)\n\(outcome.stderr)")
        #expect(seeded == expected, "\(target.name): seeded \(seeded?.keys.sorted() ?? [])")
        #expect(try await client.exists(root) == nil, "\(target.name): \(root) left after the run")
        try await client.close()
    }
}
