import Foundation
import StormMetrics
import Testing
import ZooKeeperProtocol

@testable import StormEngine

extension EngineTests {
    @Suite("Reports")
    struct ReportTests {
        /// A result as a short mixed run with a watch storm would produce it.
        static func sampleResult(seed: UInt64 = 5) -> RunResult {
            var generator = SeededGenerator(seed: seed)
            let recorder = OperationRecorder()
            for _ in 0..<5000 {
                recorder.record(.get, code: .ok, nanoseconds: 80_000 + generator.next() % 400_000)
            }
            for _ in 0..<1000 {
                recorder.recordOpenLoop(
                    .set,
                    code: .ok,
                    intendedNanoseconds: 300_000 + generator.next() % 9_000_000,
                    serviceNanoseconds: 250_000 + generator.next() % 700_000
                )
            }
            for _ in 0..<12 { recorder.record(.delete, code: .noNode, nanoseconds: 150_000) }
            for _ in 0..<30 { recorder.record(.delete, code: .ok, nanoseconds: 190_000) }
            recorder.recordLateStart()
            var timeline: [RunResult.TimelinePoint] = []
            for second in 1...10 {
                timeline.append(
                    RunResult.TimelinePoint(
                        t: Double(second),
                        ops: 600 + UInt64(second * 10),
                        errors: 1,
                        p99Us: 400 + UInt64(second * 20),
                        watchLagP99Us: 900
                    )
                )
            }
            for round in 1...8 {
                var tracker = StormRoundTracker(round: round, watchers: 50, znodes: 1)
                tracker.writeSent(znode: 0, at: 1_000_000)
                for watcher in 0..<(round == 4 ? 48 : 50) {
                    let at = 1_000_000 + 200_000 + UInt64(watcher) * 20_000 + generator.next() % 50_000
                    tracker.notification(watcher: watcher, znode: 0, receivedAt: at)
                    recorder.recordWatchEvent(.data, lagNanoseconds: at - 1_000_000)
                }
                recorder.recordRound(tracker.summary())
                recorder.recordRearm(nanoseconds: 120_000, versionsMissed: 0)
            }
            var recorded = RecordedInterval()
            recorder.drain(into: &recorded)
            return RunResult(
                runId: "r-test",
                workload: "mixed",
                target: "127.0.0.1:2181 (built-in)",
                startedAt: Date(timeIntervalSince1970: 1_764_000_000),
                durationSeconds: 10,
                seed: 1,
                recorded: recorded,
                sessions: RunResult.SessionSummary(connected: 58, reconnects: 0, expired: 0),
                timeline: timeline
            )
        }

        @Test func textReportHasEveryOperationTheWatchAndSessionSections() {
            let text = TextReport.render(Self.sampleResult())
            for fragment in [
                "operation", "count", "ops/s", "p50", "p90", "p99", "p99.9", "max", "errors",
                "get ", "set ", "delete", "NONODE 12", "late start", "service time",
                "watch notifications (data): 398 received, 2 missed, 0 duplicates in 8 rounds", "fan-out", "re-arm",
                "sessions: 58 connected, 0 reconnects, 0 expired",
            ] {
                #expect(text.contains(fragment), "missing \"\(fragment)\" in\n\(text)")
            }
            let getLine = text.split(separator: "\n").first { $0.hasPrefix("get ") }!
            #expect(getLine.contains("5000") && getLine.contains("500"))
        }

        @Test func jsonHasTheSchemaFieldsAndLosslessHistograms() throws {
            let result = Self.sampleResult()
            let data = try result.jsonData()
            let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["schema"] as? Int == 1)
            for key in [
                "workload", "target", "started_at", "duration_s", "operations", "watch", "sessions", "histograms",
            ] {
                #expect(object[key] != nil, "missing \(key)")
            }
            let get = try #require((object["operations"] as? [String: Any])?["get"] as? [String: Any])
            #expect(get["count"] as? Int == 5000)
            #expect(get["errors"] as? Int == 0)
            #expect((get["ops_per_second"] as? Double) == 500)
            let latency = try #require(get["latency_us"] as? [String: Any])
            #expect(Set(latency.keys) == ["p50", "p90", "p99", "p999", "max"])
            let watch = try #require(object["watch"] as? [String: Any])
            for key in ["notifications", "missed", "duplicates", "lag_us", "fanout_us"] { #expect(watch[key] != nil) }
            #expect(Set((watch["fanout_us"] as? [String: Any])?.keys ?? [:].keys) == ["p50", "p99", "max"])
            let sessions = try #require(object["sessions"] as? [String: Any])
            #expect(Set(sessions.keys) == ["connected", "reconnects", "expired"])
            // Round trip, and the histograms decode to exactly what was recorded.
            let decoded = try JSONDecoder().decode(RunResult.self, from: data)
            #expect(decoded == result)
            let get2 = try #require(decoded.histogram("request:get:ok"))
            #expect(get2.count == 5000)
            #expect(get2.value(atPercentile: 99) == UInt64(result.operations["get"]!.latencyUs.p99))
            #expect(get2.max == result.operations["get"]!.latencyUs.max)
            #expect(decoded.histogram("request:delete:NONODE")?.count == 12)
            #expect(TextReport.render(decoded) == TextReport.render(result))
        }

        @Test func hgrmFilesAndComparison() throws {
            let result = Self.sampleResult()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zkstorm-hgrm-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let written = try HgrmWriter.write(result, to: directory)
            #expect(written.contains { $0.hasSuffix("request_get_ok.hgrm") })
            #expect(written.contains { $0.hasSuffix("watch_lag_data.hgrm") })
            let text = try String(contentsOfFile: written[0], encoding: .utf8)
            #expect(text.contains("Percentile") && text.contains("#[Mean"))
            var faster = Self.sampleResult(seed: 6)
            faster.runId = "r-other"
            let comparison = ComparisonReport.render(result, faster)
            #expect(comparison.contains("A: r-test") && comparison.contains("B: r-other"))
            #expect(comparison.contains("B/A"))
            #expect(comparison.contains("lag p99"))
        }

        /// The committed JSON the browser test renders (Tests/EngineIntegrationTests/Fixtures) is this
        /// sample: a change to the sample or to the result schema fails here until the file is rewritten
        /// with `ZKSTORM_WRITE_FIXTURES=1 swift test --filter committedSampleRunIsTheSampleResult`.
        @Test func committedSampleRunIsTheSampleResult() throws {
            let result = Self.sampleResult()
            if ProcessInfo.processInfo.environment["ZKSTORM_WRITE_FIXTURES"] == "1" {
                try result.jsonData().write(to: Self.sampleRunFixture)
            }
            let committed = try RunResult.load(path: Self.sampleRunFixture.path)
            #expect(committed == result, "rewrite \(Self.sampleRunFixture.path) (see this test's comment)")
        }

        static let sampleRunFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("EngineIntegrationTests/Fixtures/sample-run.json")

        @Test func chartsWithoutDataAreLeftOut() throws {
            var result = Self.sampleResult()
            result.rounds = []
            result.histograms = result.histograms.filter { !$0.key.hasPrefix("watch") }
            let html = HTMLReport.render(result)
            #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 4)
        }
    }
}
