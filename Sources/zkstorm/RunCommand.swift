import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import StormEngine
import StormMetrics
import ZooKeeperClient
import ZooKeeperServer

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
            Shards: --shard I/N --run-id ID on N processes (or an Indexed Job's JOB_COMPLETION_INDEX with \
            ZKSTORM_SHARDS and ZKSTORM_RUN_ID) split the workload and meet at a barrier under the run root; \
            merge their results with `zkstorm report --merge` (README: Several machines).
            Presets: \(Presets.names.joined(separator: ", ")). Fields: workloads/README.md.
            Exit codes: 0 done, 64 impossible request, 65 bad workload file, 69 target unreachable, \
            66 workload file missing or an unreadable certificate or password file, 70 internal error, 73 an output file cannot be written, 69 also when \
            the target is lost during the run (the report and output files still cover what ran), \
            77 TLS or SASL refused, 99 a threshold failed (after the report, outputs and cleanup), \
            130/143 interrupted by SIGINT/SIGTERM (after cleanup and report).
            Thresholds (--threshold or `thresholds:` in the file): METRIC<VALUE with < <= > >= == !=; metrics \
            OP.p50|p99|p99.9|max|mean (OP: get, set, …, requests for all), errors and OP.errors (a % or a \
            count), rate, OP.rate and group.NAME.rate (ops/s, e.g. 900/s), count, watch.lag.STAT, \
            watch.fanout.STAT, watch.rearm.STAT, watch.missed, watch.duplicates. A figure the run lacks fails.
            """
    )

    @Argument(help: "Workload file (YAML).")
    var file: String?

    @Option(help: "Run a preset by name instead of a file.")
    var preset: String?

    @Option(
        help: "ZooKeeper connect string HOSTS[/chroot], e.g. zk1:2181,zk2:2181/bench (default: the built-in server)."
    )
    var target: String?

    @OptionGroup var time: MeasurementTimeOptions<RunTimeWording>

    @Option(
        parsing: .unconditional,
        help: "Sessions running the operation groups (for a pure watch storm: the watchers)."
    )
    var sessions: Int?

    @Option(
        parsing: .unconditional,
        help: "Total open-loop rate in operations per second (turns every group into an open loop)."
    )
    var rate: Double?

    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp(
            "A pass/fail criterion, repeatable: 'get.p99<5ms', 'errors<0.1%', 'watch.lag.p99<50ms', 'watch.missed==0', 'set.rate>=900/s'. Any failure exits 99.",
            valueName: "EXPR"
        )
    )
    var thresholds: [String] = []

    @Option(
        parsing: .unconditional,
        help:
            "End the measurement after this many operations (warm-up not counted); --duration, if given, stays the upper bound (otherwise 1h)."
    )
    var requests: Int?

    @Flag(
        name: .customLong("dry-run"),
        help:
            "Print the effective workload (after preset, file, flags and environment) as YAML and what the run would create; touch nothing."
    )
    var dryRun = false

    @Option(help: "Seed for key and operation choices.")
    var seed: UInt64?

    @Option(help: "Run root znode; a root outside /zkstorm/ is accepted only here.")
    var root: String?

    @Option(
        help: ArgumentHelp(
            "Run as shard I (from 0) of N processes that split the workload and meet at a barrier under the run root (or set JOB_COMPLETION_INDEX and ZKSTORM_SHARDS).",
            valueName: "I/N"
        )
    )
    var shard: String?

    @Option(
        name: .customLong("run-id"),
        help: "The run id every shard shares; the root is /zkstorm/ID (or set ZKSTORM_RUN_ID)."
    )
    var runId: String?

    @Option(
        name: .customLong("shard-wait"),
        help: "How long a shard waits for the others at each barrier step, e.g. 2m (default 2m)."
    )
    var shardWait: String?

    @Option(help: "Write the result (schema 1, with lossless histograms) to this JSON file (- for standard output).")
    var json: String?

    @Option(help: "Write a self-contained HTML report with charts to this file.")
    var html: String?

    @Option(help: "Write one .hgrm percentile file per histogram into this directory.")
    var hgrm: String?

    @Option(
        help:
            "Write HdrHistogram's interval log (V2 compressed, one tag per operation plus watch_lag and watch_fanout) to this file, one line per tag each second."
    )
    var hlog: String?

    @Option(
        name: .customLong("session-timeout"),
        parsing: .unconditional,
        help:
            "Session timeout each session asks for, e.g. 4s (default: the workload's session_timeout, else 30s); sessions of a dead server move within it."
    )
    var sessionTimeout: String?

    @OptionGroup(title: "Security (TLS, SASL, digest)")
    var security: SecurityOptions

    @Flag(
        help: """
            Secure the built-in server: a throwaway CA made in memory, TLS with client certificates and SASL \
            DIGEST-MD5 with a generated user (measures TLS cost with nothing installed).
            """
    )
    var secure = false

    @OptionGroup var seedSnapshot: SeedSnapshotOptions

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
        help: "Delete this run's group from the gateway after the final push (or ZKSTORM_PUSH_DELETE_ON_EXIT=1)."
    )
    var pushDeleteOnExit = false

    @Option(
        name: .customLong("push-basic-auth"),
        help: "USER:PASSWORD for the gateway (or ZKSTORM_PUSH_BASIC_AUTH)."
    )
    var pushBasicAuth: String?

    @Option(
        name: .customLong("push-bearer-token"),
        help: "Bearer token for the gateway (or ZKSTORM_PUSH_BEARER_TOKEN)."
    )
    var pushBearerToken: String?

    @Option(
        name: .customLong("push-ca-file"),
        help: "CA bundle (PEM) to verify an https gateway (or ZKSTORM_PUSH_CA_FILE)."
    )
    var pushCaFile: String?

    @Flag(
        name: .customLong("push-insecure"),
        help: "Do not verify the https gateway's certificate (or ZKSTORM_PUSH_INSECURE=1)."
    )
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
                password: String(pushBasicAuth[pushBasicAuth.index(after: colon)...])
            )
        }
        overrides.bearerToken = pushBearerToken
        overrides.caFile = pushCaFile
        if pushInsecure { overrides.insecure = true }
        return overrides
    }

    /// Writes `zkstorm run: MESSAGE` and gives the exit code to throw (a usage error by default), so a
    /// bad value never prints the top-level usage.
    func failure(_ message: String, _ code: Int32 = 64) -> ExitCode {
        TerminalOutput.printError("zkstorm run: \(message)\n")
        return ExitCode(code)
    }

    func run() async throws {
        TerminalOutput.ignoreBrokenPipes()
        LoggingSystem.bootstrap { label in OneLineLogHandler(label: label) }
        let fullWorkload = try loadWorkload()
        let sharding = try resolveShard(fullWorkload)
        // A shard runs its slice of the workload (ShardPlan).
        let workload = sharding.context?.plan.workload ?? fullWorkload
        var clientSecurity = try security.resolve(command: "run", workload: workload.security)
        let errorOutput = StandardError()
        var embeddedServerSecurity: ServerSecurityConfiguration?
        if secure {
            guard workload.target == nil, clientSecurity.isEmpty else {
                errorOutput.write(
                    "zkstorm run: --secure secures the built-in server; for a --target give --tls-ca, --tls-cert, "
                        + "--tls-key and --sasl-user instead\n"
                )
                throw ExitCode(64)
            }
            do {
                let embedded = try SecureEmbeddedTarget()
                clientSecurity = try embedded.clientSecurity()
                embeddedServerSecurity = embedded.serverSecurity
            } catch {
                errorOutput.write("zkstorm run: could not make the throwaway certificates for --secure: \(error)\n")
                throw ExitCode(70)
            }
        }
        if dryRun {
            TerminalOutput.print(dryRunText(workload))
            return
        }
        let outputs = try checkOutputs()
        if let hlog, let problem = RunOutputs.fileProblem(hlog) { throw failure("--hlog \(hlog): \(problem)", 73) }
        let hlogRecorder = hlog.map(HlogRecorder.init(path:))
        let runId = sharding.runId ?? RunIdentifier.make()
        let instanceName =
            instance ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        let pusher: MetricsPusher?
        do {
            let pushOverrides = try self.pushOverrides()
            var push = try PushConfiguration.fromEnvironment(
                instance: instanceName,
                run: runId,
                overrides: pushOverrides
            )
            // A shard pushes to a group of its own: `shard` and `shards` labels beside the run's.
            push?.shard = sharding.context.map { .init(index: $0.shard.index, count: $0.shard.count) }
            try push?.validate()
            pusher = push.map { MetricsPusher(configuration: $0) }
        } catch {
            throw failure("\(error)")
        }
        let holder = TargetHolder()
        var onTick: (@Sendable (IntervalCollector.Tick, StormRun.IntervalStatus) -> Void)?
        if let pusher {
            let workloadName = workload.name
            let fallbackTarget = workload.target ?? "built-in"
            onTick = { tick, status in
                let snapshot = MetricsSnapshotBuilder.make(
                    runId: runId,
                    instance: instanceName,
                    workload: workloadName,
                    target: holder.label ?? fallbackTarget,
                    cumulative: tick.cumulative,
                    status: status
                )
                pusher.update(snapshot)
            }
        }
        if let hlogRecorder {
            let pushing = onTick
            onTick = { tick, status in
                hlogRecorder.record(tick)
                pushing?(tick, status)
            }
        }
        let stormRun = StormRun(
            workload: workload,
            runId: runId,
            live: !quiet && LiveLine.stdoutIsTerminal && !outputs.usesStandardOutput,
            scrapeServers: pusher != nil,
            onTick: onTick,
            security: clientSecurity,
            embeddedServerSecurity: embeddedServerSecurity,
            seed: try seedSnapshot.seed(),
            shard: sharding.context
        )
        holder.run = stormRun
        do {
            try FaultSpec.check(workload.faults, target: workload.target)
        } catch {
            throw failure(error.message, error.exitCode)
        }
        pusher?.start()
        if !quiet {
            let target = workload.target ?? "the built-in server"
            let shardText = sharding.context.map { " as shard \($0.shard.index)/\($0.shard.count)" } ?? ""
            TerminalOutput.printError(
                "zkstorm: \(workload.name) on \(target)\(shardText): root \(stormRun.root), warm-up \(DurationText.format(workload.warmup)), measuring \(measurementPlan(workload))\n"
            )
        }
        // A second signal more than a second after the first quits at once (see TerminationSignals).
        let signals = TerminationSignals(quitOnRepeatAfter: .seconds(1)) { _ in
            TerminalOutput.printError(
                "\nzkstorm: stopping (cleaning up the run root; press Ctrl-C again to quit at once)\n"
            )
            stormRun.interrupt()
        }
        let outcome: StormRun.Outcome
        do {
            outcome = try await stormRun.run()
        } catch let error as RunError {
            signals.cancel()
            await pusher?.finish()
            throw failure(error.message, error.exitCode)
        }
        signals.cancel()
        // The report first: an unreachable gateway may take seconds to give up, and an interrupted run
        // owes its report within 2 s of the signal. With `--json -` stdout carries the JSON alone.
        let report = TextReport.render(outcome.result)
        if outputs.usesStandardOutput {
            TerminalOutput.printError(report)
        } else {
            TerminalOutput.print(report)
        }
        if let pusher {
            await pusher.finish()
            if !quiet {
                let stats = pusher.statistics
                TerminalOutput.printError(
                    "zkstorm: pushed metrics \(stats.successfulPushes) time(s) to \(pusher.configuration.groupURL)"
                        + (stats.failedPushes > 0
                            ? ", \(stats.failedPushes) failed (\(stats.lastError ?? "unknown error"))\n" : "\n")
                )
            }
        }
        let written = outputs.write(outcome.result, quiet: quiet)
        if let lost = outcome.result.shard?.lost, !lost.isEmpty {
            TerminalOutput.printError("zkstorm run: \(ShardReport.lostSentence(lost))\n")
        }
        if let problem = hlogRecorder?.finish() { throw failure(problem, 73) }
        if let lostAt = outcome.targetLostAt {
            var message = String(
                format:
                    "target lost %.1f s into the measurement (every session without a connection); the report covers what ran until then",
                lostAt
            )
            if outcome.rootLeftBehind != nil {
                let hosts = workload.target ?? "the built-in server"
                message +=
                    "; the run root \(outcome.root) could not be removed: once the target is back, run `zkstorm clean --target \(hosts)` to remove it"
            }
            throw failure(message, 69)
        }
        // (On the built-in server in this process, the tree goes with the process.)
        if let left = outcome.rootLeftBehind, let hosts = workload.target {
            throw failure(
                "the run root \(outcome.root) could not be removed (\(left)); the report above is whole; run `zkstorm clean --target \(hosts)` to remove it",
                69
            )
        }
        // A signal during cleanup, after measurement ended on its own, still means "interrupted".
        if outcome.interrupted || signals.received != nil {
            let signal = signals.received ?? TerminationSignals.Signal(number: SIGINT)
            TerminalOutput.printError(
                "zkstorm run: interrupted; \(outcome.root) removed, report above covers what ran\n"
            )
            throw ExitCode(signal.exitCode)
        }
        if !written { throw ExitCode(73) }
        if let verdicts = outcome.result.thresholds, verdicts.contains(where: { !$0.passed }) {
            let failed = verdicts.filter { !$0.passed }.map(\.threshold)
            TerminalOutput.printError(
                "zkstorm run: \(failed.count) of \(verdicts.count) threshold(s) failed: \(failed.joined(separator: ", "))\n"
            )
            throw ExitCode(99)
        }
    }

    func loadWorkload() throws -> Workload {
        let parsed = try WorkloadSource.load(file: file, preset: preset, failure: failure)
        if let target {
            do {
                _ = try ConnectString(parsing: target)
            } catch {
                throw failure("--target \(target): \(error)")
            }
        }
        var overrides = WorkloadOverrides(target: target, sessions: sessions, rate: rate, seed: seed, root: root)
        if let requests {
            overrides.requests = requests
            if time.duration == nil { overrides.duration = .seconds(3600) }
        }
        for text in thresholds {
            do {
                overrides.thresholds.append(try Threshold(parsing: text))
            } catch {
                throw failure("--threshold: \(error)")
            }
        }
        try time.apply(to: &overrides, failure: { failure($0) })
        var timeout: Duration?
        if let sessionTimeout {
            guard let value = DurationText.parse(sessionTimeout), value >= .seconds(1) else {
                throw failure(
                    "--session-timeout \(sessionTimeout): expected a duration of at least 1s such as 4s or 30s"
                )
            }
            timeout = value
        }
        do {
            var workload = try parsed.applying(overrides)
            if let timeout { workload.sessionTimeout = timeout }
            return workload
        } catch {
            throw failure(error.message)
        }
    }

    /// Every output path, checked before the run starts: a run must not measure for minutes and then
    /// fail to write its result. `-` is standard output.
    func checkOutputs() throws -> RunOutputs {
        let outputs = RunOutputs(json: json, html: html, hgrm: hgrm)
        if let problem = outputs.problem() { throw failure(problem, 73) }
        return outputs
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

/// Writes to stderr without buffering (progress and errors must not mix into the report on stdout);
/// a closed stderr stops the printing, not the process.
struct StandardError: Sendable {
    func write(_ text: String) {
        TerminalOutput.printError(text)
    }
}

extension RunCommand {
    /// `--dry-run`: the workload as it would run, and what it would create and open.
    func dryRunText(_ workload: Workload) -> String {
        var out = "# zkstorm run --dry-run: the effective workload; nothing was created or connected\n"
        out += WorkloadYAML.render(workload)
        let layout = RunLayout(root: workload.root ?? WorkloadRoot.defaultRoot(runId: "<run-id>"), workload: workload)
        let znodes = 1 + layout.setupDirectories.count + layout.keys.count + layout.watched.count
        let plan = try? workload.sessionPlan()
        out += "# would create under \(layout.root): \(znodes) znodes (\(layout.keys.count) keys"
        out += ", \(layout.watched.count) watched, \(layout.setupDirectories.count) directories, the root)"
        out += ", plus its missing ancestors; all removed at the end\n"
        out += "# would open \((plan?.total ?? 0) + 1) sessions on \(workload.target ?? "the built-in server")"
        out += " (\(plan?.groupSessions.reduce(0, +) ?? 0) for groups, \(plan?.watcherSessions ?? 0) watchers"
        out += ", \(plan?.writerSessions ?? 0) storm writer, 1 control)\n"
        out += "# would measure \(measurementPlan(workload)) after \(DurationText.format(workload.warmup)) of warm-up\n"
        return out
    }
}

/// What the measurement will be: a pure storm ends after its rounds, within the duration.
func measurementPlan(_ workload: Workload) -> String {
    let duration = DurationText.format(workload.duration)
    if let requests = workload.requests { return "\(requests) operations (at most \(duration))" }
    if workload.groups.isEmpty, let rounds = workload.watches?.storm.rounds, rounds > 0 {
        return "\(rounds) storm rounds (at most \(duration))"
    }
    return duration
}

extension RunCommand {
    /// `--shard`, `--run-id`, `--shard-wait` and their variables: the shard's slice of `workload` (nil
    /// context for a single-process run) and the run id (nil: a new one).
    func resolveShard(_ workload: Workload) throws -> (context: ShardContext?, runId: String?) {
        let resolved: (shard: ShardSpec?, runId: String?)
        do {
            resolved = try ShardSpec.resolve(
                flag: shard,
                runId: runId,
                environment: ProcessInfo.processInfo.environment
            )
        } catch {
            throw failure(error.message)
        }
        var wait = ShardContext.defaultWait
        if let shardWait {
            guard let value = DurationText.parse(shardWait), value > .zero else {
                throw failure("--shard-wait \(shardWait): expected a duration such as 30s or 2m")
            }
            guard resolved.shard != nil else {
                throw failure("--shard-wait applies to a sharded run: give --shard I/N (or set ZKSTORM_SHARDS)")
            }
            wait = value
        }
        guard let spec = resolved.shard else { return (nil, resolved.runId) }
        do {
            let plan = try workload.sliced(for: spec)
            return (ShardContext(plan: plan, fullWorkload: workload, wait: wait), spec.runId)
        } catch {
            throw failure("shard \(spec.index)/\(spec.count): \(error.message)")
        }
    }
}
