import Foundation
import Testing

/// `zkstorm replay` as a user runs it: a synthetic log from scripts/synth-txnlog, the built-in server.
@Suite(.serialized) struct ReplayCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-replay-\(UUID().uuidString)-\(name)")
    }

    /// Writes a log of `seconds` at `rate` writes/s with scripts/synth-txnlog.
    static func synthesize(_ url: URL, rate: Int, seconds: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", repository.appendingPathComponent("scripts/synth-txnlog").path, url.path,
            "--rate", String(rate), "--seconds", String(seconds), "--sessions", "4",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
    }

    @Test func hlogReadBackByPythonHdrhHasTheJSONCountsPerTag() async throws {
        let log = Self.temporary("log.1")
        let json = Self.temporary("replay.json")
        let hlog = Self.temporary("replay.hlog")
        defer { for url in [log, json, hlog] { try? FileManager.default.removeItem(at: url) } }
        try Self.synthesize(log, rate: 200, seconds: 3)
        let result = try await ZkstormProcess.run([
            "replay", log.path, "--speed", "1", "--json", json.path, "--hlog", hlog.path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any] ?? [:]
        let latency = object["latency"] as? [String: [String: Any]] ?? [:]
        var expected = latency.compactMapValues { $0["count"] as? Int }
        expected["schedule_lag"] = object["steps"] as? Int
        #expect(expected["set"] ?? 0 > 100 && expected["create"] ?? 0 > 50, "\(expected)")
        let text = try String(contentsOf: hlog, encoding: .utf8)
        #expect(text.contains("#[StartTime: ") && text.contains("Tag=schedule_lag,"))
        // A 3 s replay: at least three intervals of schedule lag, one a second and the last at the end.
        #expect(text.components(separatedBy: "Tag=schedule_lag,").count - 1 >= 3)
        let read = try ShardOutputsTests.python(ShardOutputsTests.readHlog, [hlog.path])
        #expect(read.status == 0, "\(read.output)")
        let counts = try JSONSerialization.jsonObject(with: Data(read.output.utf8)) as? [String: Int] ?? [:]
        #expect(counts == expected, "hlog \(counts) vs JSON \(expected)")
    }

    @Test func anHlogThatCannotBeWrittenIsRefusedBeforeTheReplay() async throws {
        let log = Self.temporary("log.1")
        defer { try? FileManager.default.removeItem(at: log) }
        try Self.synthesize(log, rate: 50, seconds: 1)
        let result = try await ZkstormProcess.run([
            "replay", log.path, "--hlog", "/nonexistent-dir/replay.hlog", "--quiet",
        ])
        #expect(result.status == 73, "\(result.stderr)")
        #expect(result.stderr.contains("--hlog /nonexistent-dir/replay.hlog"), "\(result.stderr)")
    }
}
