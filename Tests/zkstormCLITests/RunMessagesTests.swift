import Foundation
import Testing
import ZooKeeperTestSupport

/// The rough edges a new user hit with `zkstorm run` (issue 16), each as the exact command: the
/// message names the place and what to do, and the exit code follows sysexits.
@Suite("zkstorm run messages end to end")
struct RunMessagesTests {
    @Test func directoryAsWorkloadExits66NamingIt() async throws {
        let directory = FileManager.default.temporaryDirectory.path
        let result = try await ZkstormProcess.run(["run", directory])
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.stderr.contains("\(directory) is a directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result.stderr)")
    }

    @Test func missingFileExits66() async throws {
        let result = try await ZkstormProcess.run(["run", "/nonexistent/workload.yaml"])
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.stderr.contains("/nonexistent/workload.yaml: no such file"), "\(result.stderr)")
    }

    @Test func presetNameAsFileSuggestsPresetFlag() async throws {
        let result = try await ZkstormProcess.run(["run", "read-heavy"])
        #expect(result.status == 66)
        #expect(result.stderr.contains("did you mean --preset read-heavy?"), "\(result.stderr)")
    }

    @Test(arguments: [
        ["--duration", "-5s"], ["--sessions", "-3"], ["--rate", "-100"], ["--session-timeout", "-1s"],
        ["--warmup", "abc"],
    ])
    func badValueNamesTheFlagWithoutTopLevelUsage(flag: [String]) async throws {
        let result = try await ZkstormProcess.run(["run", "--preset", "read-heavy"] + flag)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(flag[0]), "\(result.stderr)")
        #expect(!result.stderr.contains("Missing value"), "\(result.stderr)")
        #expect(!result.stderr.contains("SUBCOMMANDS"), "the top-level usage was printed: \(result.stderr)")
    }

    @Test func badTargetInWorkloadNamesFileLineColumnAndExits65() async throws {
        let file = try ZkstormProcess.workload("name: t\ntarget: \"host:notaport\"\ngroups:\n  - ops: {get: 1}\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ZkstormProcess.run(["run", file.path])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(file.path):2:9: target:"), "\(result.stderr)")
        #expect(!result.stderr.contains("--target"), "\(result.stderr)")
    }

    @Test func badTargetFlagIsRefusedBeforeTheBanner() async throws {
        let result = try await ZkstormProcess.run(["run", "--preset", "read-heavy", "--target", "host:notaport"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--target host:notaport"), "\(result.stderr)")
        #expect(!result.stderr.contains("zkstorm: read-heavy on"), "the banner came first: \(result.stderr)")
    }

    @Test func impossibleSessionCountDoesNotSuggestAnAbsurdUlimit() async throws {
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--sessions", "10000000", "--duration", "1s", "--quiet",
        ])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(!result.stderr.contains("ulimit -n 2000"), "\(result.stderr)")
        #expect(result.stderr.contains("use at most about"), "\(result.stderr)")
    }

    @Test func pushGatewayPortOutOfRangeIsRefused() async throws {
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--push-gateway", "http://127.0.0.1:99999", "--duration", "1s",
        ])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("http://127.0.0.1:99999"), "\(result.stderr)")
    }

    @Test func valueSizeOverTheFrameLimitNamesTheLargestThatFits() async throws {
        let file = try ZkstormProcess.workload(
            "name: big\nkeyspace: {count: 3, value_size: 1MiB}\ngroups:\n  - ops: {get: 1, set: 1}\n"
        )
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ZkstormProcess.run(["run", file.path])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(file.path):2:"), "\(result.stderr)")
        #expect(result.stderr.contains("the largest value that fits is 1048431 bytes"), "\(result.stderr)")
    }

    @Test func rootInsideZooKeepersReservedTreeIsRefused() async throws {
        let result = try await ZkstormProcess.run(["run", "--preset", "read-heavy", "--root", "/zookeeper/zkx"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("/zookeeper"), "\(result.stderr)")
    }

    @Test func unwritableOutputIsRefusedBeforeTheRun() async throws {
        let start = ContinuousClock.now
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--duration", "20s", "--json", "/nonexistent-dir/result.json",
        ])
        #expect(result.status == 73, "\(result.stderr)")
        #expect(result.stderr.contains("--json /nonexistent-dir/result.json"), "\(result.stderr)")
        #expect(ContinuousClock.now - start < .seconds(10), "the run started before the path was checked")
    }

    @Test func jsonDashWritesTheResultToStandardOutput() async throws {
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--duration", "1s", "--warmup", "0s", "--sessions", "2", "--json", "-",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "-"))
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["run_id"] != nil, "\(result.stdout.prefix(300))")
        #expect(object?["zkstorm_version"] as? String != nil)
        let effective = object?["effective_workload"] as? String ?? ""
        #expect(effective.contains("sessions: 2"), "\(effective)")
        // The text report moved to stderr.
        #expect(result.stderr.contains("operation "), "\(result.stderr)")
    }

    /// `zkstorm run … 2>&1 | head -1`: both streams are a pipe whose reader has gone.
    @Test func closedOutputPipeStillWritesTheResultFile() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-pipe-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let process = try ZkstormProcess(
            [
                "run", "--preset", "read-heavy", "--duration", "1s", "--warmup", "0s", "--sessions", "2", "--json",
                json.path,
            ],
            stdout: pipe.fileHandleForWriting,
            stderr: pipe.fileHandleForWriting
        )
        try pipe.fileHandleForWriting.close()
        let result = try await process.finish()
        #expect(process.process.terminationReason == .exit, "killed by signal \(result.status)")
        #expect(result.status == 0)
        let data = try Data(contentsOf: json)
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any])
    }

    /// On a terminal the live line is redrawn in place; the report must start on a clean line.
    @Test func liveLineIsClearedBeforeTheReport() async throws {
        let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-tty-\(UUID())")
        defer { try? FileManager.default.removeItem(at: transcript) }
        let binary = try ZkstormProcess.binary().path
        let command =
            "\(binary) run --preset read-heavy --duration 2500ms --warmup 0s --sessions 2"
        let result = try await ExternalCommand.run(
            "/usr/bin/script",
            ["-q", "-e", "-c", command, transcript.path]
        )
        #expect(result == 0)
        let output = String(decoding: try Data(contentsOf: transcript), as: UTF8.self)
        #expect(output.contains("ops/s  p99"), "no live line was drawn: \(output.prefix(400))")
        #expect(!output.contains("errors 0zkstorm"), "the report is glued to the live line: \(output)")
        // The report's first line starts on a cleared line (after the live line's erase, or a newline).
        let reportLine = try #require(output.range(of: ": workload read-heavy on "))
        let lineStart = try #require(output[..<reportLine.lowerBound].range(of: "zkstorm run ", options: .backwards))
        let before = output[..<lineStart.lowerBound]
        #expect(before.hasSuffix("\r\u{1B}[2K") || before.hasSuffix("\n"), "\(before.suffix(80).debugDescription)")
    }
}

/// Runs a command to completion without blocking a cooperative thread.
enum ExternalCommand {
    static func run(_ path: String, _ arguments: [String]) async throws -> Int32 {
        try await output(path, arguments).status
    }

    /// Runs `path` with `environment` added to the test's own; returns its exit status and what it
    /// printed (standard output and error together, through a file).
    static func output(
        _ path: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let log = Scratch.path("command-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Reaped here as well as by Foundation: a script that leaves daemons behind (scripts/ensemble
        // start) was seen to stay a zombie that Process never noticed.
        var status: Int32 = 0
        var exit: Int32?
        while exit == nil {
            let reaped = waitpid(process.processIdentifier, &status, WNOHANG)
            if reaped == process.processIdentifier {
                exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            } else if reaped == -1 && !process.isRunning {
                exit = process.terminationStatus
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try handle.close()
        return (exit ?? -1, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}
