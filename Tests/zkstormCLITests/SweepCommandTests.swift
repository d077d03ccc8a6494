import Foundation
import Testing
import ZooKeeperTestSupport

/// `zkstorm sweep` end to end: a small sweep's table, JSON and HTML; bad arguments named with exit 64;
/// a capacity search that finds nothing exits 99.
@Suite("zkstorm sweep end to end", .serialized)
struct SweepCommandTests {
    static let workload = """
        name: sweep-cli
        sessions: 2
        keyspace: {count: 20, value_size: 32}
        groups:
          - name: readers
            ops: {get: 1}
            load: {model: open, rate: 200, arrivals: constant}

        """

    @Test func aSweepPrintsItsTableAndWritesJSONAndHTML() async throws {
        let file = try ZkstormProcess.workload(Self.workload)
        let json = file.appendingPathExtension("json")
        let html = file.appendingPathExtension("html")
        defer {
            for url in [file, json, html] { try? FileManager.default.removeItem(at: url) }
        }
        let result = try await ZkstormProcess.run([
            "sweep", file.path, "--vary", "rate=100,300", "--duration", "800ms", "--warmup", "200ms", "--json",
            json.path, "--html", html.path, "--slo", "get.p99<10s",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("target    rate  ops/s"), "\(result.stdout)")
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("built-in") }.count == 2, "\(result.stdout)")
        #expect(result.stderr.contains("point 2/2"), "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        #expect(object?["kind"] as? String == "sweep")
        let points = object?["points"] as? [[String: Any]] ?? []
        #expect(points.map { $0["value"] as? Double } == [100, 300])
        #expect(points.allSatisfy { ($0["result"] as? [String: Any])?["histograms"] != nil })
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("offered rate (ops/s)"))
    }

    @Test(arguments: [
        (["sweep", "--preset", "read-heavy"], "give --vary PARAM=VALUES"),
        (
            ["sweep", "--preset", "read-heavy", "--vary", "reads=1,2"],
            "unknown parameter \"reads\"; did you mean read-pct?"
        ),
        (["sweep", "--preset", "read-heavy", "--vary", "rate=5:1:1"], "is below FROM"),
        (
            ["sweep", "--preset", "read-heavy", "--vary", "read-pct=50,150"],
            "read-pct=150: expected a percentage from 0 to 100"
        ),
        (["sweep", "--preset", "watch-storm", "--vary", "read-pct=50"], "this workload has none"),
        (["sweep", "--preset", "read-heavy", "--find-max", "rate"], "needs at least one --slo"),
        (
            ["sweep", "--preset", "read-heavy", "--find-max", "sessions", "--slo", "get.p99<1ms"],
            "only `rate` can be searched"
        ),
        (["sweep", "--preset", "read-heavy", "--find-max", "rate", "--slo", "get.p99<<1"], "--slo: threshold"),
        (
            ["sweep", "--preset", "read-heavy", "--find-max", "rate", "--slo", "get.p99<1ms", "--resolution", "fast"],
            "--resolution fast"
        ),
        (
            ["sweep", "--preset", "read-heavy", "--vary", "rate=1,2", "--find-max", "rate"],
            "either --vary or --find-max"
        ),
        (
            ["sweep", "--preset", "read-heavy", "--vary", "rate=1,2", "--target", "nohost:99999"],
            "--target nohost:99999"
        ),
    ])
    func badArgumentsAreNamedAndExit64(_ arguments: [String], _ message: String) async throws {
        let result = try await ZkstormProcess.run(arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.hasPrefix("zkstorm sweep: "), "\(result.stderr)")
    }

    @Test func aSearchThatNothingPassesExits99() async throws {
        let file = try ZkstormProcess.workload(Self.workload)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ZkstormProcess.run([
            "sweep", file.path, "--find-max", "rate", "--slo", "get.p99<1us", "--start-rate", "400", "--duration",
            "300ms", "--warmup", "0s", "--quiet",
        ])
        #expect(result.status == 99, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("no rate held every SLO"), "\(result.stdout)")
        #expect(result.stdout.contains("search walked: 400/s fail → 200/s fail"), "\(result.stdout)")
    }

    @Test func anUnreachableTargetExits69() async throws {
        let result = try await ZkstormProcess.run([
            "sweep", "--preset", "read-heavy", "--vary", "rate=100,200", "--target", "127.0.0.1:\(FreePort.allocate())",
            "--duration", "500ms", "--quiet",
        ])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("rate=100"), "\(result.stderr)")
        #expect(result.stdout.contains("stopped:"), "\(result.stdout)")
    }
}
