import Foundation
import Logging
import StormEngine
import StormMetrics
import Testing
import ZooKeeperClient
import ZooKeeperServer
import ZooKeeperTestSupport

/// Failover of a secured deployment: every session speaks TLS with a client certificate and
/// authenticates with SASL DIGEST-MD5; when its server goes, it reconnects, authenticates again before
/// its watches are restored, and the watch ledger still balances. On a real 3-node quorum (a member
/// killed mid-run) and on the built-in server (every connection dropped mid-run).
@Suite("Failover over TLS and SASL", .serialized)
struct SecureFailoverTests {
    static let users = ["bob": "secret"]

    static func security(_ certificates: TestCertificates) throws -> ClientSecurity {
        ClientSecurity(
            tls: try ZooKeeperTLS(
                caFile: certificates.caCertificate,
                certificateFile: certificates.clientCertificate,
                keyFile: certificates.clientKey,
                serverName: TestCertificates.serverName
            ),
            sasl: ZooKeeperSASL(user: "bob", password: "secret")
        )
    }

    /// Reconnected sessions authenticated again (one SASL exchange per TLS connect, first connects
    /// and reconnects alike), no request was refused for authentication, and the ledger balances.
    static func expectReauthenticated(_ result: RunResult) throws {
        let failover = try #require(result.failover)
        #expect(failover.connectionLosses >= 1, "no session lost its server")
        #expect(failover.reconnects == failover.connectionLosses, "every lost session found a server again")
        #expect(failover.expirations == 0)
        let tls = try #require(result.histogram("connect:tls"))
        let sasl = try #require(result.histogram("connect:sasl"))
        #expect(sasl.count == tls.count, "every TLS connect authenticated: \(tls.count) TLS, \(sasl.count) SASL")
        #expect(sasl.count >= failover.reconnects + 1, "reconnects did not authenticate again")
        for (name, operation) in result.operations {
            #expect(operation.errorsByCode["AUTHFAILED"] == nil, "\(name): \(operation.errorsByCode)")
            #expect(operation.errorsByCode["NOAUTH"] == nil, "\(name): \(operation.errorsByCode)")
        }
        try QuorumFailoverTests.expectWatchesAccounted(result)
        let lastRounds = result.rounds.suffix(3)
        #expect(lastRounds.count == 3)
        #expect(lastRounds.allSatisfy { $0.notified == $0.expected && $0.notified > 0 }, "\(lastRounds)")
    }

    @Test func quorumMemberKilledMidRunOverTLSAndSASL() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let ensemble = try await RealEnsemble.start(
            tickTime: 500,
            secure: SecureZooKeeperSettings(certificates: certificates, saslUsers: Self.users)
        )
        do {
            let workload = QuorumFailoverTests.workload(target: ensemble.secureConnectString, duration: .seconds(10))
            let run = StormRun(workload: workload, security: try Self.security(certificates))
            async let fault: Void = {
                try await Task.sleep(for: .seconds(3))
                let leader = try #require(await ensemble.leader())
                try await ensemble.kill(leader)
                try await Task.sleep(for: .seconds(2))
                try await ensemble.restart(leader)
            }()
            let outcome = try await run.run()
            try await fault
            #expect(!outcome.interrupted)
            #expect(outcome.result.durationSeconds > 9, "the run went on to its end")
            try Self.expectReauthenticated(outcome.result)
            try await QuorumFailoverTests.expectRootRemoved(outcome.root, ensemble)
            FailoverFigures.record("TLS+SASL: leader killed", outcome.result)
        } catch {
            await ensemble.stop()
            throw error
        }
        await ensemble.stop()
    }

    @Test func builtInServerDropsEveryConnectionMidRunOverTLSAndSASL() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let security = ServerSecurityConfiguration(
            tls: try ServerTLSConfiguration.fromPEMFiles(
                port: 0,
                certificate: certificates.serverCertificate,
                key: certificates.serverKey,
                ca: certificates.caCertificate
            ),
            saslUsers: Self.users
        )
        try await withBuiltInServer(port: FreePort.allocate(), security: security) { server in
            let securePort = try #require(server.securePort)
            let workload = QuorumFailoverTests.workload(target: "127.0.0.1:\(securePort)", duration: .seconds(8))
            let run = StormRun(workload: workload, security: try Self.security(certificates))
            async let fault: Int = {
                try await Task.sleep(for: .seconds(2))
                let first = await server.dropAllConnections()
                try await Task.sleep(for: .seconds(2))
                return first + (await server.dropAllConnections())
            }()
            let outcome = try await run.run()
            let dropped = try await fault
            #expect(dropped >= 2 * 20, "the run's sessions were connected when dropped: \(dropped)")
            #expect(!outcome.interrupted)
            try Self.expectReauthenticated(outcome.result)
            let failover = try #require(outcome.result.failover)
            #expect(failover.connectionLosses >= UInt64(dropped) - 2, "each dropped connection was a loss")
            FailoverFigures.record("TLS+SASL: built-in drops every connection twice", outcome.result)
        }
    }
}
