import StormMetrics
import Testing

@testable import StormEngine

/// The throttle rules on figures (no network): the server's counters between two scrapes, and the
/// latency plateau over open-loop stages.
extension EngineTests {
    @Suite("Throttle detection")
    struct ThrottleDetectorTests {
        static func stats(_ values: [String: Double]) -> [ServerStats] {
            [ServerStats(host: "127.0.0.1:2181", values: values)]
        }

        @Test func counterGrowthBecomesFindings() {
            let before = Self.stats([
                "zk_connection_rejected": 2, "zk_throttled_ops": 0, "zk_request_throttle_wait_count": 5,
            ])
            let after = Self.stats([
                "zk_connection_rejected": 12, "zk_throttled_ops": 3, "zk_request_throttle_wait_count": 5,
            ])
            let findings = ThrottleDetector.serverFindings(before: before, after: after, peakConnected: 10)
            #expect(findings.map(\.kind) == [.acceptRefused, .serverThrottled])
            #expect(findings[0].evidence.contains("rejected 10 connections"))
            #expect(findings[0].suspect.contains("maxClientCnxns"))
            #expect(findings[0].limit == 10)
            #expect(findings[1].evidence.contains("throttled 3 requests"))
        }

        @Test func nothingGrownOrNothingScrapedIsNoFinding() {
            let same = Self.stats(["zk_connection_rejected": 4, "zk_throttled_ops": 1])
            #expect(ThrottleDetector.serverFindings(before: same, after: same, peakConnected: 3).isEmpty)
            #expect(ThrottleDetector.serverFindings(before: [], after: same, peakConnected: 3).isEmpty)
        }

        static func load(_ offered: Double, _ achieved: Double, _ p99: UInt64, at: Double) -> ThrottleDetector.StageLoad
        {
            ThrottleDetector.StageLoad(startS: at, offered: offered, achieved: achieved, p99Us: p99)
        }

        @Test func aRateThatStopsFollowingTheLoadWhileLatencyClimbsIsAPlateau() throws {
            let loads = [
                Self.load(150, 149, 800, at: 0), Self.load(1200, 400, 90_000, at: 3),
                Self.load(2400, 405, 400_000, at: 6),
            ]
            let finding = try #require(ThrottleDetector.plateau(loads, generatorBound: false))
            #expect(finding.kind == .latencyPlateau)
            #expect(finding.limit == 405)
            #expect(finding.evidence.contains("from the stage at 3s"))
            #expect(!finding.suspect.contains("generator"))
            #expect(ThrottleDetector.plateau(loads, generatorBound: true)?.suspect.contains("zkstorm's own") == true)
        }

        @Test func loadThatIsFollowedOrLatencyThatStaysFlatIsNoPlateau() {
            let followed = [Self.load(150, 149, 800, at: 0), Self.load(1200, 1190, 900, at: 3)]
            #expect(ThrottleDetector.plateau(followed, generatorBound: false) == nil)
            let flat = [Self.load(150, 149, 800, at: 0), Self.load(1200, 700, 850, at: 3)]
            #expect(ThrottleDetector.plateau(flat, generatorBound: false) == nil)
            // Short from the first stage: nothing kept up to compare with.
            let neverKeptUp = [Self.load(1200, 400, 80_000, at: 0), Self.load(2400, 400, 300_000, at: 3)]
            #expect(ThrottleDetector.plateau(neverKeptUp, generatorBound: false) == nil)
        }

        @Test func stageLoadsSkipEachStagesFirstSecondAndPartialIntervals() {
            let timeline =
                (1...6).map { second in
                    RunResult.TimelinePoint(
                        t: Double(second),
                        ops: second <= 3 ? 100 : 400,
                        errors: 0,
                        p99Us: second <= 3 ? 1000 : 50_000,
                        watchLagP99Us: nil,
                        intervalS: 1
                    )
                } + [RunResult.TimelinePoint(t: 6.2, ops: 1, errors: 0, p99Us: 9, watchLagP99Us: nil, intervalS: 0.2)]
            let loads = ThrottleDetector.stageLoads(
                stages: [(startS: 0, rate: 100), (startS: 3, rate: 1000)],
                timeline: timeline
            )
            #expect(loads == [Self.load(100, 100, 1000, at: 0), Self.load(1000, 400, 50_000, at: 3)])
        }
    }
}
