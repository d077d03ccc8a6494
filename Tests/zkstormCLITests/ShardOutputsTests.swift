import Foundation
import Testing
import ZooKeeperTestSupport

/// `zkstorm run --hlog` read back by HdrHistogram's own Python package, and `zkstorm report --merge`.
@Suite("Shard outputs end to end (hlog, report --merge)", .serialized)
struct ShardOutputsTests {
    static let workload = """
        name: shard-outputs
        sessions: 3
        keyspace: {count: 20}
        groups:
          - ops: {get: 3, set: 1, exists: 1}
            load: {model: closed, concurrency: 1, window: 1}

        """

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-shards-\(UUID().uuidString)-\(name)")
    }

    static func operationCounts(_ url: URL) throws -> [String: Int] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let operations = object?["operations"] as? [String: [String: Any]] ?? [:]
        return operations.compactMapValues { $0["count"] as? Int }
    }

    /// Runs `python3 -c script arguments…` and returns its standard output.
    static func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let readHlog = """
        import json, sys
        from hdrh.log import HistogramLogReader
        from hdrh.histogram import HdrHistogram
        reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000, 3))
        counts = {}
        while True:
            h = reader.get_next_interval_histogram()
            if h is None:
                break
            counts[h.get_tag()] = counts.get(h.get_tag(), 0) + h.get_total_count()
        print(json.dumps(counts))
        """

    @Test(arguments: TestTarget.allCases)
    func hlogReadBackByPythonHdrhHasTheJSONCountsPerTag(target: TestTarget) async throws {
        let server = try await target.shared()
        let file = try ZkstormProcess.workload(Self.workload)
        let json = Self.temporary("run.json")
        let hlog = Self.temporary("run.hlog")
        defer { for url in [file, json, hlog] { try? FileManager.default.removeItem(at: url) } }
        let result = try await ZkstormProcess.run([
            "run", file.path, "--target", server.connectString, "--duration", "3s", "--warmup", "500ms",
            "--json", json.path, "--hlog", hlog.path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: hlog, encoding: .utf8)
        #expect(text.contains("#[StartTime: ") && text.contains("#[BaseTime: ") && text.contains("Tag=get,"))
        let read = try Self.python(Self.readHlog, [hlog.path])
        #expect(read.status == 0, "\(read.output)")
        let counts = try JSONSerialization.jsonObject(with: Data(read.output.utf8)) as? [String: Int] ?? [:]
        let expected = try Self.operationCounts(json)
        #expect(!expected.isEmpty && expected.values.allSatisfy { $0 > 0 })
        #expect(counts == expected, "hlog \(counts) vs JSON \(expected)")
    }

    @Test func reportMergeSumsShardsAndRefusesBadInputs() async throws {
        let server = try await TestTarget.builtIn.shared()
        let file = try ZkstormProcess.workload(Self.workload)
        let a = Self.temporary("a.json")
        let b = Self.temporary("b.json")
        let merged = Self.temporary("merged.json")
        let truncated = Self.temporary("truncated.json")
        defer { for url in [file, a, b, merged, truncated] { try? FileManager.default.removeItem(at: url) } }
        for url in [a, b] {
            let result = try await ZkstormProcess.run([
                "run", file.path, "--target", server.connectString, "--duration", "2s", "--warmup", "300ms",
                "--json", url.path, "--quiet",
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Two separate runs are refused, naming both.
        let refused = try await ZkstormProcess.run(["report", "--merge", a.path, b.path])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains(b.path) && refused.stderr.contains("merge only the shards of one run"))
        // As two shards of one run they merge, counts summed.
        var second = try JSONSerialization.jsonObject(with: Data(contentsOf: b)) as? [String: Any] ?? [:]
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: a)) as? [String: Any] ?? [:]
        second["run_id"] = first["run_id"]
        try JSONSerialization.data(withJSONObject: second).write(to: b)
        let ok = try await ZkstormProcess.run([
            "report", "--merge", a.path, b.path, "--json", merged.path,
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("Shards (the report above is their exact merge"))
        let countsA = try Self.operationCounts(a)
        let countsB = try Self.operationCounts(b)
        #expect(try Self.operationCounts(merged) == countsA.merging(countsB, uniquingKeysWith: +))
        // A truncated file is named with the byte where it ends.
        let data = try Data(contentsOf: a)
        try data.prefix(data.count / 2).write(to: truncated)
        let cut = try await ZkstormProcess.run(["report", "--merge", a.path, truncated.path])
        #expect(cut.status == 65)
        #expect(cut.stderr.contains(truncated.path) && cut.stderr.contains("byte \(data.count / 2)"), "\(cut.stderr)")
        // One file is not a merge.
        let one = try await ZkstormProcess.run(["report", "--merge", a.path])
        #expect(one.status == 64)
    }
}
