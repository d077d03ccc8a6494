import Foundation
import Testing
import ZooKeeperTestSupport

/// The expiry storm as a workload expresses it against a real quorum: `stop` on `node: all` of a
/// scripts/ensemble quorum past the session timeout, so 200 sessions expire at once and are replaced;
/// the fault's cost says how many expired and when requests all succeeded again.
@Suite("zkstorm run: expiry storm on a scripts/ensemble quorum", .serialized)
struct ExpiryStormRunTests {
    static let workload = """
        name: expiry-storm
        sessions: 200
        duration: 22s
        warmup: 500ms
        session_timeout: 4s
        keyspace: {count: 200, value_size: 64}
        groups:
          - name: clients
            ops: {get: 90, set: 10}
            load: {model: open, rate: 400, arrivals: poisson, max_in_flight: 64}
        faults:
          - {at: 3s, action: stop, node: all, for: 9s}

        """

    @Test func everyMemberStoppedPastTheTimeoutExpiresAndReplacesEverySession() async throws {
        let (environment, connectString) = try await FaultRunTests.startEnsemble()
        do {
            let run = try await FaultRunTests.run(Self.workload, ["--target", connectString], environment: environment)
            #expect(run.status == 0, "\(run.stderr)")
            let fault = (run.json["faults"] as? [[String: Any]])?.first ?? [:]
            #expect(fault["label"] as? String == "stop all 3 nodes for 9s", "\(fault)")
            #expect(fault["node"] == nil, "\(fault)")
            #expect(fault["error"] == nil, "\(fault)")
            #expect(fault["restored_at_s"] as? Double ?? 0 >= 11.5, "\(fault)")
            let cost = fault["cost"] as? [String: Any] ?? [:]
            #expect(cost["expirations"] as? Int ?? 0 >= 200, "\(cost)")
            let recovered = cost["recovered_after_s"] as? Double
            #expect(recovered != nil && recovered! < 9, "\(cost)")
            let failover = run.json["failover"] as? [String: Any] ?? [:]
            #expect(failover["sessions_replaced"] as? Int == failover["expirations"] as? Int, "\(failover)")
            #expect((failover["replacement_us"] as? [String: Any])?["max"] != nil, "\(failover)")
            #expect(run.stdout.contains("stop all 3 nodes for 9s, undone at"), "\(run.stdout)")
            #expect(run.stdout.contains("requests all succeed again"), "\(run.stdout)")
            // `for` resumed every member: the whole quorum serves again (within 30 s).
            var output = ""
            let deadline = ContinuousClock.now + .seconds(30)
            repeat {
                output = try await ExternalCommand.output(
                    FaultRunTests.ensembleScript,
                    ["status"],
                    environment: environment
                ).output
                if output.split(separator: "\n").filter({ $0.hasSuffix("leader") || $0.hasSuffix("follower") }).count
                    == 3
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(300))
            } while ContinuousClock.now < deadline
            #expect(
                output.split(separator: "\n").filter { $0.hasSuffix("leader") || $0.hasSuffix("follower") }.count == 3,
                "\(output)"
            )
        } catch {
            await FaultRunTests.stopEnsemble(environment)
            throw error
        }
        await FaultRunTests.stopEnsemble(environment)
    }
}
