import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import StormEngine
import StormMetrics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `zkstorm run`: runs a workload file or preset and reports latency, throughput and watch lag.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workload (a YAML file or a preset) and report latency, throughput and watch-notification lag.",
        discussion: """
            With no --target, zkstorm starts its built-in server on 127.0.0.1 (over real TCP) and runs \
            against it. Everything the run creates lives under one root (default /zkstorm/<run-id>) and \
            is deleted at the end, also on Ctrl-C, which still prints the report for what ran.
            Presets: \(Presets.names.joined(separator: ", ")). Fields: workloads/README.md.
            Exit codes: 0 done, 64 impossible request, 65 bad workload file, 69 target unreachable, \
            70 internal error, 130/143 interrupted by SIGINT/SIGTERM (after cleanup and report).
            """
    )

    @Argument(help: "Workload file (YAML).")
    var file: String?

    @Option(help: "Run a preset by name instead of a file.")
    var preset: String?

    @Option(
        help: "ZooKeeper connect string HOSTS[/chroot], e.g. zk1:2181,zk2:2181/bench (default: the built-in server).")
    var target: String?

    @Option(help: "Measurement length, e.g. 30s, 2m (overrides the file).")
    var duration: String?

    @Option(help: "Warm-up before measuring, e.g. 2s (overrides the file).")
    var warmup: String?

    @Option(help: "Sessions running the operation groups (for a pure watch storm: the watchers).")
    var sessions: Int?

    @Option(help: "Total open-loop rate in operations per second (turns every group into an open loop).")
    var rate: Double?

    @Option(help: "Seed for key and operation choices.")
    var seed: UInt64?

    @Option(help: "Run root znode; a root outside /zkstorm/ is accepted only here.")
    var root: String?

    @Option(help: "Write the result (schema 1, with lossless histograms) to this JSON file.")
    var json: String?

    @Option(help: "Write a self-contained HTML report with charts to this file.")
    var html: String?

    @Option(help: "Write one .hgrm percentile file per histogram into this directory.")
    var hgrm: String?

    @Option(
        name: .customLong("session-timeout"),
        help: "Session timeout each session asks for, e.g. 4s (default 30s); sessions of a dead server move within it.")
    var sessionTimeout: String?

    @Flag(help: "No live line and no progress messages; the report is still printed.")
    var quiet = false

    @Option(
        name: .customLong("push-gateway"),
        help:
            "Push metrics (gzip, every 5 s and at the end) to this Prometheus Pushgateway URL (or set ZKSTORM_PUSHGATEWAY)."
    )
    var pushGateway: String?

    @Option(help: "The instance label for pushed metrics (default: host name and process id).")
    var instance: String?

    @Option(name: .customLong("push-interval"), help: "Seconds between pushes, e.g. 5s (or ZKSTORM_PUSH_INTERVAL).")
    var pushInterval: String?

    @Option(name: .customLong("push-timeout"), help: "Time one push may take, e.g. 3s (or ZKSTORM_PUSH_TIMEOUT).")
    var pushTimeout: String?

    @Flag(
        name: .customLong("push-delete-on-exit"),
        help: "Delete this run's group from the gateway after the final push (or ZKSTORM_PUSH_DELETE_ON_EXIT=1).")
    var pushDeleteOnExit = false

    @Option(
        name: .customLong("push-basic-auth"), help: "USER:PASSWORD for the gateway (or ZKSTORM_PUSH_BASIC_AUTH).")
    var pushBasicAuth: String?

    @Option(
        name: .customLong("push-bearer-token"), help: "Bearer token for the gateway (or ZKSTORM_PUSH_BEARER_TOKEN).")
    var pushBearerToken: String?

    @Option(
        name: .customLong("push-ca-file"), help: "CA bundle (PEM) to verify an https gateway (or ZKSTORM_PUSH_CA_FILE)."
    )
    var pushCaFile: String?

    @Flag(
        name: .customLong("push-insecure"),
        help: "Do not verify the https gateway's certificate (or ZKSTORM_PUSH_INSECURE=1).")
    var pushInsecure = false

    /// The push flags as overrides of the ZKSTORM_PUSH_* variables; a malformed value is a usage error.
    func pushOverrides() throws(ValidationError) -> PushConfiguration.Overrides {
        var overrides = PushConfiguration.Overrides()
        overrides.url = pushGateway
        func duration(_ text: String?, _ flag: String) throws(ValidationError) -> Duration? {
            guard let text else { return nil }
            guard let value = DurationText.parse(text), value > .zero else {
                throw ValidationError("--\(flag) \(text): expected a duration such as 5s or 500ms")
            }
            return value
        }
        overrides.interval = try duration(pushInterval, "push-interval")
        overrides.timeout = try duration(pushTimeout, "push-timeout")
        if pushDeleteOnExit { overrides.deleteOnExit = true }
        if let pushBasicAuth {
            guard let colon = pushBasicAuth.firstIndex(of: ":") else {
                throw ValidationError("--push-basic-auth expects USER:PASSWORD")
            }
            overrides.basicAuth = PushConfiguration.BasicAuth(
                user: String(pushBasicAuth[..<colon]),
                password: String(pushBasicAuth[pushBasicAuth.index(after: colon)...]))
        }
        overrides.bearerToken = pushBearerToken
        overrides.caFile = pushCaFile
        if pushInsecure { overrides.insecure = true }
        return overrides
    }

    func run() async throws {
        let workload = try loadWorkload()
        let errorOutput = StandardError()
        let runId = RunIdentifier.make()
        let instanceName =
            instance ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        let pusher: MetricsPusher?
        do {
            let pushOverrides = try self.pushOverrides()
            pusher = try PushConfiguration.fromEnvironment(instance: instanceName, run: runId, overrides: pushOverrides)
                .map {
                    MetricsPusher(configuration: $0)
                }
        } catch {
            errorOutput.write("zkstorm run: \(error)\n")
            throw ExitCode(64)
        }
        let holder = TargetHolder()
        var onTick: (@Sendable (IntervalCollector.Tick, StormRun.SessionStatus) -> Void)?
        if let pusher {
            let workloadName = workload.name
            let fallbackTarget = workload.target ?? "built-in"
            onTick = { tick, status in
                let snapshot = MetricsSnapshotBuilder.make(
                    runId: runId, instance: instanceName, workload: workloadName,
                    target: holder.label ?? fallbackTarget,
                    cumulative: tick.cumulative, status: status)
                pusher.update(snapshot)
            }
        }
        let stormRun = StormRun(
            workload: workload, runId: runId, live: !quiet && LiveLine.stdoutIsTerminal, scrapeServers: pusher != nil,
            onTick: onTick)
        holder.run = stormRun
        pusher?.start()
        if !quiet {
            let target = workload.target ?? "the built-in server"
            errorOutput.write(
                "zkstorm: \(workload.name) on \(target): root \(stormRun.root), warm-up \(DurationText.format(workload.warmup)), measuring \(measurementPlan(workload))\n"
            )
        }
        // A second signal more than a second after the first quits at once (see TerminationSignals).
        let signals = TerminationSignals(quitOnRepeatAfter: .seconds(1)) { _ in
            let notice = "\nzkstorm: stopping (cleaning up the run root; press Ctrl-C again to quit at once)\n"
            FileHandle.standardError.write(Data(notice.utf8))
            stormRun.interrupt()
        }
        let outcome: StormRun.Outcome
        do {
            outcome = try await stormRun.run()
        } catch let error as RunError {
            signals.cancel()
            await pusher?.finish()
            errorOutput.write("zkstorm run: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
        signals.cancel()
        // The report first: an unreachable gateway may take seconds to give up, and an interrupted run
        // owes its report within 2 s of the signal.
        print(TextReport.render(outcome.result), terminator: "")
        fflush(nil)
        if let pusher {
            await pusher.finish()
            if !quiet {
                let stats = pusher.statistics
                errorOutput.write(
                    "zkstorm: pushed metrics \(stats.successfulPushes) time(s) to \(pusher.configuration.groupURL)")
                errorOutput.write(
                    stats.failedPushes > 0
                        ? ", \(stats.failedPushes) failed (\(stats.lastError ?? "unknown error"))\n" : "\n")
            }
        }
        try writeOutputs(outcome.result, errorOutput)
        // A signal during cleanup, after measurement ended on its own, still means "interrupted".
        if outcome.interrupted || signals.received != nil {
            let signal = signals.received ?? TerminationSignals.Signal(number: SIGINT)
            errorOutput.write("zkstorm run: interrupted; \(outcome.root) removed, report above covers what ran\n")
            throw ExitCode(signal.exitCode)
        }
    }

    func loadWorkload() throws -> Workload {
        let errorOutput = StandardError()
        let parsed: Workload
        do {
            switch (file, preset) {
            case (let file?, nil): parsed = try WorkloadParser.load(path: file)
            case (nil, let preset?): parsed = try Presets.workload(named: preset)
            case (nil, nil):
                throw ValidationError(
                    "give a workload FILE or --preset NAME (presets: \(Presets.names.joined(separator: ", ")))")
            case (_?, _?): throw ValidationError("give either a workload FILE or --preset, not both")
            }
        } catch let error as WorkloadError {
            errorOutput.write("zkstorm run: \(error)\n")
            throw ExitCode(error.file == "--preset" ? 64 : 65)
        }
        var overrides = WorkloadOverrides(target: target, sessions: sessions, rate: rate, seed: seed, root: root)
        if let duration {
            guard let value = DurationText.parse(duration), value >= .milliseconds(100) else {
                throw ValidationError(
                    "--duration \(duration): expected a duration of at least 100ms such as 30s, 500ms or 2m")
            }
            overrides.duration = value
        }
        var timeout: Duration?
        if let sessionTimeout {
            guard let value = DurationText.parse(sessionTimeout), value >= .seconds(1) else {
                throw ValidationError(
                    "--session-timeout \(sessionTimeout): expected a duration of at least 1s such as 4s or 30s")
            }
            timeout = value
        }
        if let warmup {
            guard let value = DurationText.parse(warmup) else {
                throw ValidationError("--warmup \(warmup): expected a duration such as 2s or 500ms")
            }
            overrides.warmup = value
        }
        do {
            var workload = try parsed.applying(overrides)
            if let timeout { workload.sessionTimeout = timeout }
            return workload
        } catch {
            errorOutput.write("zkstorm run: \(error.message)\n")
            throw ExitCode(64)
        }
    }

    func writeOutputs(_ result: RunResult, _ errorOutput: StandardError) throws {
        do {
            if let json {
                try result.jsonData().write(to: URL(fileURLWithPath: json))
                if !quiet { errorOutput.write("zkstorm: result written to \(json)\n") }
            }
            if let html {
                try HTMLReport.render(result).write(toFile: html, atomically: true, encoding: .utf8)
                if !quiet { errorOutput.write("zkstorm: HTML report written to \(html)\n") }
            }
            if let hgrm {
                let files = try HgrmWriter.write(result, to: hgrm)
                if !quiet { errorOutput.write("zkstorm: \(files.count) .hgrm files written to \(hgrm)\n") }
            }
        } catch {
            errorOutput.write("zkstorm run: could not write an output file: \(error.localizedDescription)\n")
            throw ExitCode(73)
        }
    }
}

/// Lets the metrics callback name the target once the run has started (the built-in server's port).
final class TargetHolder: Sendable {
    private let box = NIOLockedValueBox<StormRun?>(nil)
    var run: StormRun? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
    var label: String? { run?.targetLabel }
}

/// Writes to stderr without buffering (progress and errors must not mix into the report on stdout).
struct StandardError: Sendable {
    func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// What the measurement will be: a pure storm ends after its rounds, within the duration.
func measurementPlan(_ workload: Workload) -> String {
    let duration = DurationText.format(workload.duration)
    if workload.groups.isEmpty, let rounds = workload.watches?.storm.rounds, rounds > 0 {
        return "\(rounds) storm rounds (at most \(duration))"
    }
    return duration
}
