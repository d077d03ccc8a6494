import Testing
import ZooKeeperClient

@testable import StormEngine

/// `faults:` in workload files: parsing, the errors that name the place, and reading scripts/ensemble's
/// status (pure, no process).
@Suite("Faults (unit)")
struct FaultsUnitTests {
    static let storm = "duration: 10s\nwatches: {kind: data, watchers: 4}\n"

    @Test func faultsParseInFiringOrderAndRoundTrip() throws {
        let workload = try WorkloadParser.parse(
            Self.storm + """
                faults:
                  - {at: 6s, action: kill, node: leader, for: 2s}
                  - {at: 1s, action: drop}
                  - {at: 3s, action: pause, for: 500ms}
                  - {at: 8s, action: stop, node: 2}
                  - {at: 9s, action: stop, node: all, for: 500ms}
                session_timeout: 4s

                """,
            file: "w.yaml"
        )
        #expect(
            workload.faults == [
                FaultSpec(at: .seconds(1), action: .drop),
                FaultSpec(at: .seconds(3), action: .pause, duration: .milliseconds(500)),
                FaultSpec(at: .seconds(6), action: .kill, member: .leader, duration: .seconds(2)),
                FaultSpec(at: .seconds(8), action: .stop, member: .id(2)),
                FaultSpec(at: .seconds(9), action: .stop, member: .all, duration: .milliseconds(500)),
            ]
        )
        #expect(workload.sessionTimeout == .seconds(4))
        #expect(WorkloadYAML.render(workload).contains("session_timeout: 4s\n"))
        #expect(try WorkloadParser.parse(WorkloadYAML.render(workload), file: "again.yaml") == workload)
    }

    @Test(arguments: [
        ("  - {at: 1s, action: drop, node: 1}\n", "faults[0].node", "leave `node` out"),
        ("  - {at: 1s, action: kill}\n", "faults[0].node", "leader, follower, all or a node id"),
        ("  - {at: 1s, action: restart, node: 1, for: 2s}\n", "faults[0].for", "goes with pause, kill or stop"),
        ("  - {at: 10s, action: drop}\n", "faults[0].at", "not before the end of the measurement"),
        ("  - {at: 1s, action: kill, node: leder}\n", "faults[0].node", "did you mean \"leader\""),
        ("  - {at: 1s, action: stop, node: al}\n", "faults[0].node", "did you mean \"all\""),
        ("  - {at: 1s, action: explode}\n", "faults[0].action", "allowed: drop, pause, kill"),
        ("  - {action: drop}\n", "faults[0].at", "missing"),
        ("  - {at: 1s, action: pause, for: 10ms}\n", "faults[0].for", "too short"),
    ])
    func badFaultsNameTheField(fault: String, field: String, message: String) {
        do {
            _ = try WorkloadParser.parse(Self.storm + "faults:\n" + fault, file: "w.yaml")
            Issue.record("accepted: \(fault)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.line == 4, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func ensembleStatusLinesGiveEachMembersPortAndMode() {
        let status = """
            node 1  pid 4242     127.0.0.1:21811  follower
            node 2  pid -        127.0.0.1:21812  down
            node 3  pid 4250     127.0.0.1:21813  leader

            """
        #expect(
            EnsembleControl.parseStatus(status) == [
                EnsembleControl.Member(id: 1, port: 21811, mode: "follower"),
                EnsembleControl.Member(id: 2, port: 21812, mode: "down"),
                EnsembleControl.Member(id: 3, port: 21813, mode: "leader"),
            ]
        )
        #expect(EnsembleControl.parseStatus("no ensemble in /tmp/x\n").isEmpty)
    }

    @Test func herdSplitsItsSessionsAmongPoliciesWithTheReconnectTimings() throws {
        let workload = try WorkloadParser.parse(
            """
            duration: 10s
            reconnect: {policy: backoff, base: 10ms, max: 1s}
            herd: {sessions: 5, znodes: 7, rate: 3, policies: [immediate, jitter]}

            """,
            file: "w.yaml"
        )
        let herd = try #require(workload.herd)
        #expect(
            herd.policies == [.immediate, .exponentialBackoffWithJitter(base: .milliseconds(10), max: .seconds(1))]
        )
        #expect((herd.sessions(ofShare: 0), herd.sessions(ofShare: 1)) == (3, 2))
        #expect(herd.znodes == 7 && herd.rate == 3)
        #expect(try WorkloadParser.parse(WorkloadYAML.render(workload), file: "again.yaml") == workload)
        // Without `policies`, the workload's own reconnect policy.
        let own = try WorkloadParser.parse("reconnect: {policy: jitter}\nherd: {sessions: 2}\n", file: "w.yaml")
        #expect(own.herd?.policies == [.exponentialBackoffWithJitter(base: .milliseconds(50), max: .seconds(2))])
        for (text, field, message) in [
            ("herd: {sessions: 1, policies: [immediate, jitter]}\n", "herd.policies", "at least as many sessions"),
            ("herd: {policies: [jiter]}\n", "herd.policies[0]", "did you mean \"jitter\""),
            ("herd: {sessions: 0}\n", "herd.sessions", "out of range"),
        ] {
            do {
                _ = try WorkloadParser.parse(text, file: "w.yaml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.field == field, "\(error)")
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }
}
