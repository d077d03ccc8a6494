import Foundation
import ZooKeeperTestSupport

/// Runs the built `zkstorm` binary as a person would, output in files (reading pipes would block two of
/// the machine's cooperative threads until zkstorm exits).
struct ZkstormProcess {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(_ arguments: [String], stdout: FileHandle? = nil, stderr: FileHandle? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cli-\(UUID())")
        stdoutURL = base.appendingPathExtension("stdout")
        stderrURL = base.appendingPathExtension("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = try ZkstormBinary.binary()
        process.arguments = arguments
        process.standardOutput = try stdout ?? FileHandle(forWritingTo: stdoutURL)
        process.standardError = try stderr ?? FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// Waits without blocking a thread; kills the process after `timeout`.
    func finish(timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let start = ContinuousClock.now
        while process.isRunning {
            if ContinuousClock.now - start > timeout {
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
        timeout: Duration = .seconds(60)
    ) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        try await ZkstormProcess(arguments).finish(timeout: timeout)
    }

    /// A workload file in the temporary directory.
    static func workload(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-wl-\(UUID()).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
