import ArgumentParser
import Foundation
import Logging
import StormEngine
import ZooKeeperClient

/// `zkstorm sweep`: a workload run once per value of one parameter (and per target), drawn as curves;
/// or, with `--find-max rate`, the highest open-loop rate that holds every SLO.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract:
            "Run a workload once per value of a parameter and draw the curves, or find the highest rate that holds SLOs.",
        discussion: """
            Each point is a full run (warm-up, measurement, cleanup of its own root) in this process. With \
            several --target, the targets' points interleave. PARAM: \(SweepParameter.names.joined(separator: ", ")). \
            VALUES: a list 1,2,5, a range FROM:TO:STEP (0:100:25) or FROM:TO:xFACTOR (100:10000:x10, drawn \
            on a log axis).
            --find-max rate doubles the open-loop rate from --start-rate until an --slo fails (or halves it \
            until all hold), then bisects to --resolution; --slo takes the threshold grammar of `zkstorm run \
            --threshold` ('get.p99<10ms', 'errors<0.1%').
            Exit codes: 0 done, 64 bad arguments, 65/66 bad or missing workload file, 69 a target unreachable \
            or lost (the points measured so far are still reported and written), 73 an output file cannot be \
            written, 77 TLS or SASL refused, 99 --find-max found no rate that holds every SLO, 130/143 \
            interrupted (after the running point's cleanup; the points so far are reported).
            """
    )

    @Argument(help: "Workload file (YAML).")
    var file: String?

    @Option(help: "Sweep a preset by name instead of a file.")
    var preset: String?

    @Option(
        help: ArgumentHelp(
            "The parameter and its values, e.g. read-pct=0:100:25 or watchers=100:10000:x10.",
            valueName: "PARAM=VALUES"
        )
    )
    var vary: String?

    @Option(
        name: .customLong("find-max"),
        help: ArgumentHelp("Search for the highest value holding every --slo (only `rate`).", valueName: "rate")
    )
    var findMax: String?

    @Option(
        name: .customLong("slo"),
        help: ArgumentHelp("A criterion every point is judged by, repeatable, e.g. 'get.p99<10ms'.", valueName: "EXPR")
    )
    var slos: [String] = []

    @Option(
        name: .customLong("start-rate"),
        parsing: .unconditional,
        help: "First rate --find-max tries (default: the workload's open-loop rate, else 1000)."
    )
    var startRate: Double?

    @Option(help: "How narrow --find-max's final bracket is: a share such as 5% (default) or a rate such as 100/s.")
    var resolution: String = "5%"

    @Option(
        name: .customLong("target"),
        help:
            "A connect string HOSTS[/chroot], repeatable (one curve each); `built-in` is the built-in server (the default)."
    )
    var targets: [String] = []

    @OptionGroup var time: MeasurementTimeOptions<SweepTimeWording>

    @Option(parsing: .unconditional, help: "Sessions running the operation groups (when not the varied parameter).")
    var sessions: Int?

    @Option(help: "Seed for key and operation choices.")
    var seed: UInt64?

    @Option(help: "Write every point's full result to this JSON file (- for standard output).")
    var json: String?

    @Option(help: "Write a self-contained HTML page with the curves to this file.")
    var html: String?

    @Flag(help: "No progress lines; the table is still printed.")
    var quiet = false

    @OptionGroup(title: "Security (TLS, SASL, digest)")
    var security: SecurityOptions

    func failure(_ message: String, _ code: Int32 = 64) -> ExitCode {
        TerminalOutput.printError("zkstorm sweep: \(message)\n")
        return ExitCode(code)
    }

    func run() async throws {
        TerminalOutput.ignoreBrokenPipes()
        LoggingSystem.bootstrap { label in OneLineLogHandler(label: label) }
        let (workload, axis, search) = try plan()
        let clientSecurity = try security.resolve(command: "sweep", workload: workload.security)
        let outputs = RunOutputs(json: json, html: html)
        if let problem = outputs.problem() { throw failure(problem, 73) }
        let thresholds = try slos.map { text in
            do {
                return try Threshold(parsing: text)
            } catch {
                throw failure("--slo: \(error)")
            }
        }
        let quiet = self.quiet
        let sweep = SweepRun(
            workload: workload,
            targets: try resolvedTargets(),
            slos: thresholds,
            security: clientSecurity,
            logger: Logger(label: "zkstorm.sweep"),
            onPoint: { point, number, planned in
                guard !quiet else { return }
                TerminalOutput.printError(
                    "zkstorm sweep: point \(number)\(planned.map { "/\($0)" } ?? ""): \(Self.progress(point))\n"
                )
            }
        )
        if let axis {
            do {
                try sweep.validate(axis)
            } catch {
                throw failure(error.message, error.exitCode)
            }
        }
        if !quiet {
            let what =
                axis.map {
                    "\($0.parameter.rawValue) over \($0.values.values.map(SweepParameter.format).joined(separator: ", "))"
                }
                ?? "the highest rate holding \(slos.joined(separator: ", "))"
            TerminalOutput.printError(
                "zkstorm sweep: \(workload.name), \(what), on \(sweep.targets.map { $0 ?? "the built-in server" }.joined(separator: " and "))\n"
            )
        }
        let signals = TerminationSignals(quitOnRepeatAfter: .seconds(1)) { _ in
            TerminalOutput.printError(
                "\nzkstorm sweep: stopping after the running point's cleanup (Ctrl-C again quits at once)\n"
            )
            sweep.interrupt()
        }
        let result: SweepResult
        if let axis {
            result = await sweep.sweep(axis)
        } else {
            do {
                result = try await sweep.findMaximumRate(start: startRate, resolution: search!)
            } catch {
                signals.cancel()
                throw failure(error.message, error.exitCode)
            }
        }
        signals.cancel()
        let table = SweepReport.render(result)
        if outputs.usesStandardOutput { TerminalOutput.printError(table) } else { TerminalOutput.print(table) }
        let written = write(result, outputs)
        if let failure = result.failure {
            throw self.failure(failure.message, failure.exitCode)
        }
        if result.interrupted == true || signals.received != nil {
            throw ExitCode((signals.received ?? TerminationSignals.Signal(number: SIGINT)).exitCode)
        }
        if !written { throw ExitCode(73) }
        // Every target must hold at some rate: one that holds at none fails the search.
        if let searches = result.searches, searches.contains(where: { $0.highestPassingRate == nil }) {
            throw ExitCode(99)
        }
    }

    /// The workload with the flags applied, and what is swept or searched.
    func plan() throws -> (Workload, SweepAxis?, CapacitySearch.Resolution?) {
        var workload = try WorkloadSource.load(file: file, preset: preset, failure: failure)
        var overrides = WorkloadOverrides(sessions: sessions, seed: seed)
        try time.apply(to: &overrides, failure: { failure($0) })
        do {
            workload = try workload.applying(overrides)
        } catch {
            throw failure(error.message)
        }
        switch (vary, findMax) {
        case (let vary?, nil):
            do {
                return (workload, try SweepAxis(parsing: vary), nil)
            } catch {
                throw failure(error.message)
            }
        case (nil, let parameter?):
            guard parameter == SweepParameter.rate.rawValue else {
                throw failure("--find-max \(parameter): only `rate` can be searched (--find-max rate)")
            }
            if let startRate, !(startRate > 0 && startRate.isFinite) {
                throw failure("--start-rate must be a positive number of operations per second")
            }
            do {
                return (workload, nil, try CapacitySearch.Resolution(parsing: resolution))
            } catch {
                throw failure(error.message)
            }
        case (nil, nil):
            throw failure("give --vary PARAM=VALUES (e.g. --vary read-pct=0:100:25) or --find-max rate with --slo")
        case (_?, _?):
            throw failure("give either --vary or --find-max, not both")
        }
    }

    func resolvedTargets() throws -> [String?] {
        guard !targets.isEmpty else { return [nil] }
        return try targets.map { target -> String? in
            if target == "built-in" { return nil }
            do {
                _ = try ConnectString(parsing: target)
            } catch {
                throw failure("--target \(target): \(error)")
            }
            return target
        }
    }

    static func progress(_ point: SweepPoint) -> String {
        let f = point.figures
        var text = "\(point.result.workload) \(SweepParameter.format(point.value)) on \(point.target): "
        text += "\(ReportFormat.rate(f.throughput)) ops/s"
        if let p99 = f.p99Us { text += ", p99 \(ReportFormat.latency(p99))" }
        if let lag = f.lagP99Us { text += ", lag p99 \(ReportFormat.latency(lag))" }
        if point.slos != nil { text += point.passed ? ", SLOs pass" : ", SLOs fail" }
        return text
    }

    /// JSON and HTML, each on its own; false when one could not be written.
    func write(_ result: SweepResult, _ outputs: RunOutputs) -> Bool {
        var ok = true
        func attempt(_ what: String, _ path: String?, _ content: () throws -> String) {
            guard let path else { return }
            do {
                let text = try content()
                if path == "-" {
                    TerminalOutput.print(text)
                } else {
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    if !quiet { TerminalOutput.printError("zkstorm: \(what) written to \(path)\n") }
                }
            } catch {
                ok = false
                TerminalOutput.printError("zkstorm sweep: could not write \(path): \(error.localizedDescription)\n")
            }
        }
        attempt("sweep result", outputs.json) { String(decoding: try result.jsonData(), as: UTF8.self) + "\n" }
        attempt("HTML curves", outputs.html) { SweepReport.renderHTML(result) }
        return ok
    }
}
