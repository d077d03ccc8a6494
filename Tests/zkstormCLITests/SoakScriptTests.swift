import Foundation
import Testing
import ZooKeeperTestSupport

/// A bounded slice of `scripts/soak`: a real scripts/ensemble quorum, the mixed load and watch storm,
/// a fault every 10 s (kill the leader, stop a follower, restart a follower), the generator's RSS
/// sampled each second, and the pass verdict with its fault-table row.
@Suite("scripts/soak", .serialized)
struct SoakScriptTests {
    static var script: String { FileManager.default.currentDirectoryPath + "/scripts/soak" }

    @Test func fortyFiveSecondSlicePassesAndPrintsItsFaultTableRow() async throws {
        let directory = Scratch.path("soak-\(UUID().uuidString)")
        let environment = [
            "ZKSTORM_SOAK_DIR": directory, "ZKSTORM_SOAK_FAULT_EVERY": "10s", "ZKSTORM_SOAK_SAMPLE": "1s",
            "ZKSTORM_ENSEMBLE_BASE_PORT": String(Int.random(in: 21_000...32_000)),
            // 45 s is still the generator's warm-up (allocator, histograms): memory flatness is the long
            // soak's verdict; here the line only catches a runaway.
            "ZKSTORM_SOAK_RSS_LIMIT": "60",
        ]
        let run = try await ExternalCommand.output(Self.script, ["45s"], environment: environment)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("3 faults (one every 10s)"), "\(run.output)")
        #expect(run.output.contains("| Fault injected | What zkstorm did | What it reported |"), "\(run.output)")
        let row = run.output.split(separator: "\n").first { $0.hasPrefix("| Soak 45s: 3 faults") }
        #expect(row?.contains("Kept running through all 3") == true, "\(run.output)")
        #expect(row?.hasSuffix("exit 0 |") == true, "\(row ?? "no row")")
        #expect(row?.contains("kill leader") == true && row?.contains("stop follower") == true, "\(row ?? "")")
        // The samples behind the RSS verdict are kept beside the result.
        let samples = (try? String(contentsOfFile: directory + "/rss.tsv", encoding: .utf8)) ?? ""
        #expect(samples.split(separator: "\n").count >= 30, "\(samples)")
        let result = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: directory + "/result.json"))
        )
        let faults = (result as? [String: Any])?["faults"] as? [[String: Any]] ?? []
        #expect(faults.map { $0["action"] as? String } == ["kill", "stop", "restart"], "\(faults)")
        #expect(faults.allSatisfy { $0["error"] == nil }, "\(faults)")
    }

    @Test func badDurationIsAUsageError() async throws {
        let run = try await ExternalCommand.output(Self.script, ["5x"])
        #expect(run.status == 64, "\(run.output)")
        #expect(run.output.contains("expected e.g. 45s, 10m or 1h"), "\(run.output)")
        let short = try await ExternalCommand.output(Self.script, ["10s"])
        #expect(short.status == 64, "\(short.output)")
        #expect(short.output.contains("too short"), "\(short.output)")
    }
}
