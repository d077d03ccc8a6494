import ArgumentParser
import Foundation
import StormEngine

/// `zkstorm bench watches`: watch-count scaling on one server (bytes per watch, time to fire), one
/// JSON line; `scripts/bench --only watchscale` runs it at 10^4, 10^5 and 10^6 watches on both servers.
struct WatchScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watches")

    @Option(help: "Connect string of the server to measure.") var target: String
    @Option(help: "Data watches to hold in all (split over sessions of --znodes watches each).")
    var watches: Int = 100_000
    @Option(help: "Znodes, each watched by every session.") var znodes: Int = 10_000
    @Option(help: "Parent of the watched znodes (created, and removed after).") var parent: String = "/zkbench/watches"
    @Option(help: "How long to wait for every notification, in seconds.") var timeout: Int = 300
    @Option(
        help:
            "Shell command that prints the server's memory in bytes (its last line), run before and after arming."
    )
    var memoryCommand: String?
    @Option(
        help: ArgumentHelp(
            "Shell command run once every watch is armed, before the writes that fire them, to break connections (kill the quorum member the sessions are on; kill -USR1 a zkstorm serve). ZKSTORM_WATCHER_HOST holds the first watching session's server (host:port). Every session that loses its connection must come back with its watches restored before they fire.",
            valueName: "COMMAND"
        )
    )
    var interrupt: String?

    func validate() throws {
        guard watches >= 1, znodes >= 1, timeout >= 1 else {
            throw ValidationError("--watches, --znodes and --timeout must be at least 1")
        }
        guard watches >= znodes, watches % znodes == 0 else {
            throw ValidationError(
                "--watches \(watches) must be a multiple of --znodes \(znodes) (every session watches all)"
            )
        }
    }

    func run() async throws {
        try await exitingOnRefusal(command: "bench watches") { try await measure() }
    }

    func measure() async throws {
        let command = memoryCommand
        let interruption = interrupt.map { command in
            { @Sendable (host: String) async throws in try Self.interrupt(running: command, host: host) }
        }
        let result = try await WatchScaleBenchmark.run(
            target: target,
            watches: watches,
            znodes: znodes,
            parent: parent,
            timeout: .seconds(timeout),
            memory: { command.flatMap(Self.memory(running:)) },
            interrupt: interruption
        )
        var fields: [String: Any] = [
            "tool": "zkstorm", "bench": "watches", "watches": watches, "znodes": znodes, "sessions": result.sessions,
            "arm_s": result.armSeconds, "fire_s": result.fireSeconds, "missing": result.missing,
            "errors": result.errors,
        ]
        if let count = result.serverWatchCount { fields["zk_watch_count"] = count }
        if let before = result.memoryBefore, let after = result.memoryAfter {
            fields["memory_before_bytes"] = before
            fields["memory_after_bytes"] = after
            fields["bytes_per_watch"] = Double(after - before) / Double(watches)
        }
        if let interruption = result.interruption {
            fields["sessions_reconnected"] = interruption.sessionsReconnected
            fields["watches_restored"] = interruption.watchesRestored
            fields["set_watches_batches"] = interruption.setWatchesBatches
            fields["recovery_s"] = interruption.recoverySeconds
            fields["sessions_not_back"] = interruption.sessionsNotBack
        }
        printJSONLine(fields)
        if result.errors > 0 || result.missing > 0 || (result.interruption?.sessionsNotBack ?? 0) > 0 {
            throw ExitCode(70)
        }
    }

    /// Runs the interrupting command with /bin/sh, `ZKSTORM_WATCHER_HOST` set to `host`; a failure
    /// ends the benchmark (exit 70), since what follows would measure no interruption.
    static func interrupt(running command: String, host: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(["ZKSTORM_WATCHER_HOST": host]) { $1 }
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            FileHandle.standardError.write(Data("zkstorm bench watches: --interrupt: /bin/sh: \(error)\n".utf8))
            throw ExitCode(70)
        }
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(
                Data("zkstorm bench watches: --interrupt \"\(command)\" exited \(process.terminationStatus)\n".utf8)
            )
            throw ExitCode(70)
        }
    }

    /// Runs `command` with /bin/sh; its last output line as a byte count (nil when it failed).
    static func memory(running command: String) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last ?? ""
        return Int(last.trimmingCharacters(in: .whitespaces))
    }
}
