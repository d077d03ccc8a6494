import Foundation
import ZooKeeperTestSupport

/// Runs the built `zkstorm` binary as a person would: the one process runner of the CLI tests. Output
/// goes to files (reading pipes would block two of the machine's cooperative threads until zkstorm
/// exits), waiting never blocks a thread, and `ZKSTORM_*` variables of the test's own environment are
/// not passed on unless a test sets them.
struct ZkstormProcess {
    typealias Outcome = (status: Int32, stdout: String, stderr: String)

    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdout: FileHandle? = nil,
        stderr: FileHandle? = nil
    ) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cli-\(UUID())")
        stdoutURL = base.appendingPathExtension("stdout")
        stderrURL = base.appendingPathExtension("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = try Self.binary()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ZKSTORM_") }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = try stdout ?? FileHandle(forWritingTo: stdoutURL)
        process.standardError = try stderr ?? FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// Waits without blocking a thread, sending SIGINT after `interruptAfter` (as Ctrl-C would); kills
    /// the process after `timeout`.
    func finish(timeout: Duration = .seconds(60), interruptAfter: Duration? = nil) async throws -> Outcome {
        let start = ContinuousClock.now
        var interrupted = false
        while process.isRunning {
            let elapsed = ContinuousClock.now - start
            if let interruptAfter, !interrupted, elapsed >= interruptAfter {
                kill(process.processIdentifier, SIGINT)
                interrupted = true
            }
            if elapsed > timeout {
                process.terminate()
                throw TestServerError("zkstorm \(process.arguments ?? []) still running after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        let out = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
        return (process.terminationStatus, out, err)
    }

    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60),
        interruptAfter: Duration? = nil
    ) async throws -> Outcome {
        try await ZkstormProcess(arguments, environment: environment)
            .finish(timeout: timeout, interruptAfter: interruptAfter)
    }

    /// What `run` of a workload left: its exit, output, the result JSON (decoded) and the HTML page.
    struct WorkloadRun {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]
        var html: String
    }

    /// Runs the workload `text` with `--json` and `--html` (and `extra`), removing every file after.
    static func runWorkload(
        _ text: String,
        _ extra: [String] = [],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(90)
    ) async throws -> WorkloadRun {
        let file = try workload(text)
        let json = file.appendingPathExtension("json")
        let html = file.appendingPathExtension("html")
        defer {
            for url in [file, json, html] { try? FileManager.default.removeItem(at: url) }
        }
        let result = try await run(
            ["run", file.path, "--json", json.path, "--html", html.path, "--quiet"] + extra,
            environment: environment,
            timeout: timeout
        )
        let object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: json))) as? [String: Any] ?? [:]
        let page = (try? String(contentsOf: html, encoding: .utf8)) ?? ""
        return WorkloadRun(
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            json: object,
            html: page
        )
    }

    /// A workload file in the temporary directory.
    static func workload(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-wl-\(UUID()).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    // MARK: The binary

    /// The modules linked into the binary.
    static let modules = [
        "zkstorm", "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperServer", "ZooKeeperProtocol",
    ]

    /// The built `zkstorm` next to the test bundle in .build.
    ///
    /// This target depends on the executable target, so `swift test` (filtered or not) rebuilds and
    /// relinks the binary with the tests. `binary()` also refuses a binary older than the object files it
    /// is linked from, so a run after `swift build --target` of something else cannot exercise a stale one.
    static func binary() throws -> URL {
        let directory = URL(fileURLWithPath: Swift.CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let built = directory.appendingPathComponent("zkstorm")
        guard FileManager.default.isExecutableFile(atPath: built.path) else {
            throw BinaryMissing(
                description: "no zkstorm binary next to the tests in \(directory.path): "
                    + "run `swift build --build-tests` first"
            )
        }
        let builtAt = try modificationDate(built)
        for module in modules {
            let objects = directory.appendingPathComponent("\(module).build")
            for object in try FileManager.default.contentsOfDirectory(atPath: objects.path)
            where object.hasSuffix(".o") {
                let path = objects.appendingPathComponent(object)
                if try modificationDate(path) > builtAt {
                    throw BinaryMissing(
                        description: "\(built.path) is older than \(path.path): run `swift build --build-tests`"
                    )
                }
            }
        }
        return built
    }

    static func modificationDate(_ url: URL) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date ?? .distantPast
    }
}

struct BinaryMissing: Error, CustomStringConvertible {
    var description: String
}

/// Temporary files for one test process.
enum Scratch {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func write(_ name: String, _ text: String) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}
