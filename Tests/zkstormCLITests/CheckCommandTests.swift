import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// Runs the built `zkstorm` binary as a person would.
// Serialized: both checks use the shared server's /zkstorm and must not see each other's root.
@Suite("zkstorm check end to end", .serialized)
struct CheckCommandTests {
    @Test(arguments: TestTarget.allCases)
    func everyCoreFeatureIsSupported(target: TestTarget) async throws {
        let server = try await target.shared()
        let result = try await ZkstormProcess.run(["check", "--target", server.connectString, "--json"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["coreOK"] as? Bool == true)
        let rows = report?["results"] as? [[String: Any]] ?? []
        let failing = rows.filter { $0["outcome"] as? String != "supported" }
        // Against ZooKeeper 3.8 with extended types and every four-letter word allowed, nothing fails.
        #expect(failing.isEmpty, "\(failing)")
        for feature in ["multi", "TTL nodes", "containers", "persistent recursive watch", "mntr", "ruok", "cleanup"] {
            #expect(rows.contains { $0["feature"] as? String == feature }, "\(feature) missing from the report")
        }
    }

    @Test(arguments: TestTarget.allCases)
    func leavesNothingBehind(target: TestTarget) async throws {
        let server = try await target.shared()
        let result = try await ZkstormProcess.run(["check", "--target", server.connectString])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("core features work"))
        // Every check-* root it made is gone again.
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
        let leftovers = ((try? await client.getChildren("/zkstorm")) ?? []).filter { $0.hasPrefix("check-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        try await client.close()
    }

    @Test func unreachableTargetExits69NamingTheHost() async throws {
        let port = FreePort.allocate()
        let result = try await ZkstormProcess.run(["check", "--target", "127.0.0.1:\(port)"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("127.0.0.1:\(port)"), "\(result.stderr)")
    }

    @Test func malformedTargetIsAUsageError() async throws {
        let result = try await ZkstormProcess.run(["check", "--target", "host:notaport"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("notaport"), "\(result.stderr)")
    }
}
