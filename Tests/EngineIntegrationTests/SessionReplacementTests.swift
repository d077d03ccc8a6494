import Logging
import NIOConcurrencyHelpers
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import StormEngine

/// A supervised session whose session expires: the replacement must already be `client` while its
/// watches are set again, or a notification on a re-created watch is re-armed on the expired client
/// (SESSIONEXPIRED, never retried) and that watch stays silent for the rest of the run (the 6 of 24
/// silent watches of the quorum-freeze failover test).
extension EngineTests {
    @Suite("Session replacement")
    struct SessionReplacementTests {
        @Test func replacementIsTheCurrentClientWhileItsWatchesAreSetAgain() async throws {
            let server = try await BuiltInTestServer.start(tickTime: 200)
            let root = TestTarget.uniqueRoot("replacement")
            let setup = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            _ = try await setup.create(root)
            try await setup.close()

            let pool = SessionConnector(
                connectString: server.connectString,
                counters: SessionCounters(),
                logger: Logger(label: "test"),
                sessionTimeout: .seconds(1)
            )
            let session = try await SupervisedSession.connect(pool: pool)
            let expiredSession = session.client.sessionId
            // What `onReplaced` saw: was `client` the replacement, and did a re-arm through it work?
            let seen = NIOLockedValueBox<(current: Bool, rearm: Result<Int32, ZooKeeperError>)?>(nil)
            session.setOnReplaced { replacement in
                let current = session.client === replacement
                let rearm: Result<Int32, ZooKeeperError>
                do {
                    rearm = .success(try await session.client.getData(root, watch: true).stat.version)
                } catch let error as ZooKeeperError {
                    rearm = .failure(error)
                } catch {
                    Issue.record("a re-arm through `client` in onReplaced threw \(error)")
                    return
                }
                seen.withLockedValue { $0 = (current, rearm) }
            }

            // Refused connections past the 1 s session timeout: the client declares the session expired.
            try await server.stop()
            let expiredBy = ContinuousClock.now + .seconds(20)
            while pool.counters.expirations == 0 && ContinuousClock.now < expiredBy {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(pool.counters.expirations == 1)
            try await server.restart()
            let replacedBy = ContinuousClock.now + .seconds(20)
            while seen.withLockedValue({ $0 }) == nil && ContinuousClock.now < replacedBy {
                try await Task.sleep(for: .milliseconds(50))
            }

            let observed = try #require(seen.withLockedValue { $0 })
            #expect(observed.current, "onReplaced ran while `client` was still the expired session")
            switch observed.rearm {
            case .success(let version): #expect(version == 0)
            case .failure(let error): Issue.record("a re-arm through `client` in onReplaced failed: \(error)")
            }
            let replacement = await session.readyClient(timeout: .seconds(5))
            #expect(replacement.sessionId != expiredSession)
            #expect(try await replacement.deleteRecursive(root) == 1)
            await session.close()
            try await server.destroy()
        }
    }
}
