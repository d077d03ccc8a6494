import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// One secured real ZooKeeper 3.8 for the suite: Netty, PEM stores, `ssl.clientAuth=need`, SASL
/// DIGEST-MD5 user bob/secret. Certificates are made by `openssl` when the server is first needed.
actor SecureRealZooKeeper {
    static let shared = SecureRealZooKeeper()
    private var started: (RealZooKeeper, TestCertificates)?

    func server() async throws -> (RealZooKeeper, TestCertificates) {
        if let started { return started }
        let certificates = try TestCertificates.make()
        let server = try await RealZooKeeper.start(
            secure: SecureZooKeeperSettings(certificates: certificates, saslUsers: ["bob": "secret"])
        )
        started = (server, certificates)
        return (server, certificates)
    }
}

/// Integration tests: real ZooKeeper 3.8 over TLS and SASL, started by the test.
@Suite("TLS and SASL against real ZooKeeper 3.8", .serialized)
struct SecureRealZooKeeperTests {
    static func configuration(
        _ server: RealZooKeeper,
        _ pki: TestCertificates,
        ca: String? = nil,
        clientCertificate: Bool = true,
        serverName: String? = TestCertificates.serverName,
        user: String? = "bob",
        password: String = "secret"
    ) throws -> ZooKeeperConfiguration {
        var configuration = ZooKeeperConfiguration(connectString: server.secureConnectString)
        configuration.sessionTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(5)
        configuration.tls = try ZooKeeperTLS(
            caFile: ca ?? pki.caCertificate,
            certificateFile: clientCertificate ? pki.clientCertificate : nil,
            keyFile: clientCertificate ? pki.clientKey : nil,
            serverName: serverName
        )
        if let user { configuration.sasl = ZooKeeperSASL(user: user, password: password) }
        return configuration
    }

    /// Expects connecting to fail with AUTHFAILED within `limit`; returns the message.
    static func refusal(_ configuration: ZooKeeperConfiguration, within limit: Duration = .seconds(4)) async -> String {
        let start = ContinuousClock.now
        do {
            let client = try await ZooKeeperClient.connect(configuration)
            try? await client.close()
            Issue.record("connected, but expected a refusal")
            return ""
        } catch let error as ZooKeeperError {
            #expect(error.code == .authFailed, "\(error)")
            #expect(ContinuousClock.now - start < limit, "refusal took \(ContinuousClock.now - start): \(error)")
            return error.message
        } catch {
            Issue.record("expected ZooKeeperError, got \(error)")
            return ""
        }
    }

    @Test func getSetAndWatchOverTLSAndSASL() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let client = try await ZooKeeperClient.connect(try Self.configuration(server, pki))
        let path = TestTarget.uniqueRoot("tls-sasl")
        _ = try await client.create(
            path,
            data: Array("one".utf8),
            acl: [ACL(perms: .all, id: Id(scheme: "sasl", id: "bob"))]
        )
        #expect(try await client.getData(path).data == Array("one".utf8))
        let events = EventRecorder(client)
        _ = try await client.getData(path, watch: true)
        _ = try await client.setData(path, data: Array("two".utf8))
        let seen = try await events.wait { $0.contains { $0.type == .nodeDataChanged && $0.path == path } }
        #expect(seen.contains { $0.type == .nodeDataChanged && $0.path == path }, "\(seen.map(\.summary))")
        #expect(try await client.getData(path).data == Array("two".utf8))
        let ids = try await client.whoAmI().map { "\($0.authScheme):\($0.user)" }
        #expect(ids.contains("sasl:bob"), "\(ids)")
        #expect(ids.contains { $0.hasPrefix("x509:") && $0.contains("zkstorm-client") }, "\(ids)")
        let phases = try #require(client.lastConnectPhases)
        #expect(phases.tlsNanos != nil && phases.saslNanos != nil && !phases.resumed)
        #expect(phases.tlsVersion?.hasPrefix("TLSv1.") == true, "\(String(describing: phases.tlsVersion))")
        #expect(phases.tlsCipher?.hasPrefix("TLS_") == true, "\(String(describing: phases.tlsCipher))")
        try await client.delete(path)
        try await client.close()
    }

    @Test func saslACLKeepsOtherTenantsOut() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let owner = try await ZooKeeperClient.connect(try Self.configuration(server, pki))
        let path = TestTarget.uniqueRoot("sasl-acl")
        _ = try await owner.create(path, acl: [ACL(perms: .all, id: Id(scheme: "sasl", id: "bob"))])
        // TLS but no SASL: authenticated only as x509, which the ACL does not name.
        let stranger = try await ZooKeeperClient.connect(try Self.configuration(server, pki, user: nil))
        await expectZooKeeperError(.noAuth) { _ = try await stranger.getData(path) }
        try await stranger.close()
        try await owner.delete(path)
        try await owner.close()
    }

    /// With a TLS listener and a SASL server, real 3.8 has the x509 and sasl providers, so both ids are
    /// valid in an ACL (without them it answers INVALIDACL: ACLSchemeProviderTests).
    @Test func saslAndX509ACLsAreValidWithTheirProviders() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let client = try await ZooKeeperClient.connect(try Self.configuration(server, pki))
        let path = TestTarget.uniqueRoot("secure-acl-schemes")
        _ = try await client.create(
            path,
            acl: [
                ACL(perms: .all, id: Id(scheme: "x509", id: "CN=someone else,O=zkstorm")),
                ACL(perms: .all, id: Id(scheme: "sasl", id: "bob")),
            ]
        )
        try await client.delete(path)
        try await client.close()
    }

    @Test func digestAuthFromTheConfigurationIsSentAfterSASL() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        var configuration = try Self.configuration(server, pki)
        configuration.authInfo = [
            AuthPacket(scheme: DigestAuth.scheme, auth: DigestAuth.credentials(user: "alice", password: "pw"))
        ]
        let client = try await ZooKeeperClient.connect(configuration)
        let path = TestTarget.uniqueRoot("digest")
        let digestACL = [
            ACL(perms: .all, id: Id(scheme: "digest", id: DigestAuth.identity(user: "alice", password: "pw")))
        ]
        _ = try await client.create(path, acl: digestACL)
        #expect(try await client.getACL(path).acl == digestACL)
        #expect(try await client.whoAmI().contains { $0.authScheme == "digest" && $0.user == "alice" })
        try await client.delete(path)
        try await client.close()
    }

    @Test func wrongPasswordIsRefusedPromptlyNamingSASL() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let message = await Self.refusal(try Self.configuration(server, pki, password: "wrong"))
        #expect(message.contains("SASL") && message.contains("bob"), "\(message)")
        #expect(message.contains(server.secureConnectString), "\(message)")
    }

    @Test func untrustedCAIsNamed() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let message = await Self.refusal(try Self.configuration(server, pki, ca: pki.untrustedCACertificate))
        #expect(message.contains("TLS") && message.contains("unknown CA"), "\(message)")
        #expect(message.contains(server.secureConnectString), "\(message)")
    }

    @Test func missingClientCertificateIsNamed() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let message = await Self.refusal(try Self.configuration(server, pki, clientCertificate: false))
        #expect(message.contains("TLS") && message.contains("certificate required"), "\(message)")
    }

    /// A TLS refusal on one host of the connect string (here its plaintext port) tries the next; a
    /// refusal on every host still ends with the TLS error.
    @Test func aTLSRefusalTriesTheNextHostOfTheConnectString() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        var configuration = try Self.configuration(server, pki)
        configuration.connectString = "127.0.0.1:\(server.port),\(server.secureConnectString)"
        let client = try await ZooKeeperClient.connect(configuration)
        #expect(try await client.exists("/") != nil)
        try await client.close()
        configuration.connectString = "127.0.0.1:\(server.port),127.0.0.1:\(server.port)"
        let message = await Self.refusal(configuration, within: .seconds(8))
        #expect(message.contains("TLS") && message.contains("does not speak TLS"), "\(message)")
    }

    @Test func hostNameMismatchIsNamed() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let message = await Self.refusal(try Self.configuration(server, pki, serverName: "zk.elsewhere.example"))
        #expect(message.contains("TLS") && message.contains("host name mismatch"), "\(message)")
    }

    @Test func connectingByAnAddressTheCertificateDoesNotNameIsAMismatch() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        let message = await Self.refusal(try Self.configuration(server, pki, serverName: nil))
        #expect(message.contains("host name mismatch") && message.contains("127.0.0.1"), "\(message)")
    }

    @Test func plaintextPortWithTLSIsNamed() async throws {
        let (server, pki) = try await SecureRealZooKeeper.shared.server()
        var configuration = try Self.configuration(server, pki)
        configuration.connectString = server.connectString
        let message = await Self.refusal(configuration)
        #expect(message.contains("TLS") && message.contains("does not speak TLS"), "\(message)")
    }

    /// The server restarts: the session reconnects over TLS, authenticates with SASL again before its
    /// watches are restored, and a watch set before the restart fires after it.
    @Test func reconnectAfterRestartReauthenticatesAndWatchesFire() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try await RealZooKeeper.start(
            secure: SecureZooKeeperSettings(certificates: certificates, saslUsers: ["bob": "secret"])
        )
        do {
            var configuration = try Self.configuration(server, certificates)
            configuration.sessionTimeout = .seconds(30)
            let phases = PhaseLog()
            configuration.onConnectPhases = { phases.append($0) }
            let client = try await ZooKeeperClient.connect(configuration)
            let events = EventRecorder(client)
            let path = "/restart-watch"
            _ = try await client.create(path, data: [1], acl: [ACL(perms: .all, id: Id(scheme: "sasl", id: "bob"))])
            _ = try await client.getData(path, watch: true)
            try await server.restart()
            // Reconnected: a request succeeds (it waited for SASL to finish).
            let deadline = ContinuousClock.now + .seconds(20)
            var reconnected = false
            while ContinuousClock.now < deadline {
                if (try? await client.exists("/")) != nil, client.stats.reconnects >= 1 {
                    reconnected = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(reconnected, "no reconnect within 20 s; log:\n\(server.logTail())")
            let resumed = phases.all.filter(\.resumed)
            #expect(!resumed.isEmpty && resumed.allSatisfy { $0.saslNanos != nil && $0.tlsNanos != nil })
            #expect(try await client.whoAmI().contains { $0.authScheme == "sasl" && $0.user == "bob" })
            // The watch restored by setWatches2 fires on a change made by another session.
            let writer = try await ZooKeeperClient.connect(configuration)
            _ = try await writer.setData(path, data: [2])
            let seen = try await events.wait { $0.contains { $0.type == .nodeDataChanged && $0.path == path } }
            #expect(seen.contains { $0.type == .nodeDataChanged && $0.path == path }, "\(seen.map(\.summary))")
            try await writer.close()
            try await client.close()
        } catch {
            try? await server.destroy()
            throw error
        }
        try await server.destroy()
    }
}

/// Connect-phase timings delivered by the client's callback.
final class PhaseLog: @unchecked Sendable {
    // @unchecked: `timings` is guarded by `lock`.
    private let lock = NSLock()
    private var timings: [ConnectPhaseTimings] = []
    func append(_ t: ConnectPhaseTimings) { lock.withLock { timings.append(t) } }
    var all: [ConnectPhaseTimings] { lock.withLock { timings } }
}
