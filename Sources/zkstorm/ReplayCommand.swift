import ArgumentParser
import Foundation
import Logging
import StormEngine

/// `zkstorm replay`: replays ZooKeeper transaction logs against a target, under the run root.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay ZooKeeper transaction logs (writes, sessions, ephemerals) under the run root, open loop.",
        discussion: """
            Each logged session becomes a replay session; writes go out in zxid order at the logged leader \
            time divided by --speed (or evenly at --rate), latency is measured from each write's intended \
            time, and late starts are counted. A logged /a/b is written at <root>/a/b (root /zkstorm/<run-id>); \
            nothing outside the root is written. Sequential creates land with their logged final names; \
            setData goes with version -1 unless --check-versions; failed requests, failed multis and setACL \
            are skipped and counted. The tree is removed at the end unless --keep.
            Exit codes: 0 done, 64 usage, 65 unreadable log, 69 target unreachable, 70 internal error, \
            130/143 interrupted.
            """
    )

    @Argument(help: "Transaction log files (log.<zxid>) or directories holding them (dataDir/version-2).")
    var paths: [String]

    @Option(help: "Connect string host:port[,host:port...]; default: the built-in server.")
    var target: String?

    @Option(help: "Replay at this multiple of the logged pace (default 1).")
    var speed: Double?

    @Option(help: "Ignore logged times: send this many steps per second, evenly spaced.")
    var rate: Double?

    @Option(name: .customLong("from-zxid"), help: "First zxid to replay (decimal or 0x hex).")
    var fromZxid: String?

    @Option(name: .customLong("to-zxid"), help: "Last zxid to replay (decimal or 0x hex).")
    var toZxid: String?

    @Option(name: .customLong("run-id"), help: "Run id (the root is /zkstorm/<run-id>); default: the time.")
    var runId: String?

    @Flag(help: "Leave the rebuilt tree under the root in place.")
    var keep = false

    @Option(
        name: .customLong("watchers-per-path"),
        help: "Watcher sessions, each watching every replayed path (a persistent recursive watch on the root)."
    )
    var watchersPerPath = 0

    @Flag(name: .customLong("check-versions"), help: "Send setData with the logged version instead of -1.")
    var checkVersions = false

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    @Option(help: "Write a self-contained HTML report (latency by percentile per op, schedule lag) to this file.")
    var html: String?

    @Option(
        help: """
            Write HdrHistogram's interval log (V2 compressed) to this file, one line each second per tag: every \
            replayed op (latency from the intended time), schedule_lag, and watch_lag with watchers.
            """
    )
    var hlog: String?

    @OptionGroup(title: "Security (TLS, SASL, digest)")
    var security: SecurityOptions

    @Flag(
        help: """
            Secure the built-in server: a throwaway CA made in memory, TLS with client certificates and SASL \
            DIGEST-MD5 with a generated user.
            """
    )
    var secure = false

    @Flag(help: "No progress messages; the report is still printed.")
    var quiet = false

    func validate() throws {
        if speed != nil && rate != nil { throw ValidationError("--speed and --rate exclude each other") }
        if let speed, !(speed > 0) { throw ValidationError("--speed must be positive, got \(speed)") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be positive, got \(rate)") }
        if !(0...10_000).contains(watchersPerPath) {
            throw ValidationError("--watchers-per-path must be 0...10000, got \(watchersPerPath)")
        }
        _ = try Self.zxid(fromZxid, "--from-zxid")
        _ = try Self.zxid(toZxid, "--to-zxid")
    }

    static func zxid(_ text: String?, _ flag: String) throws -> Int64? {
        guard let text else { return nil }
        let value = text.hasPrefix("0x") ? Int64(text.dropFirst(2), radix: 16) : Int64(text)
        guard let value else { throw ValidationError("\(flag): \"\(text)\" is not a zxid (decimal or 0x hex)") }
        return value
    }

    func run() async throws {
        let errorOutput = StandardError()
        var logger = Logger(label: "zkstorm.replay")
        logger.logLevel = .warning
        var configuration = ReplayConfiguration(files: paths, runId: runId ?? RunIdentifier.make(), logger: logger)
        configuration.target = target
        configuration.security = try security.resolve(command: "replay")
        if secure {
            guard target == nil, configuration.security.isEmpty else {
                errorOutput.write(
                    "zkstorm replay: --secure secures the built-in server; for a --target give --tls-ca, --tls-cert, "
                        + "--tls-key and --sasl-user instead\n"
                )
                throw ExitCode(64)
            }
            do {
                let embedded = try SecureEmbeddedTarget()
                configuration.security = try embedded.clientSecurity()
                configuration.embeddedServerSecurity = embedded.serverSecurity
            } catch {
                errorOutput.write("zkstorm replay: could not make the throwaway certificates for --secure: \(error)\n")
                throw ExitCode(70)
            }
        }
        configuration.keep = keep
        configuration.watchersPerPath = watchersPerPath
        if let hlog {
            if let problem = RunOutputs.fileProblem(hlog) {
                errorOutput.write("zkstorm replay: --hlog \(hlog): \(problem)\n")
                throw ExitCode(73)
            }
            configuration.hlog = HlogRecorder(path: hlog)
        }
        configuration.options.pacing = rate.map { .rate($0) } ?? .speed(speed ?? 1)
        configuration.options.fromZxid = try Self.zxid(fromZxid, "--from-zxid")
        configuration.options.toZxid = try Self.zxid(toZxid, "--to-zxid")
        configuration.options.checkVersions = checkVersions
        if !quiet {
            errorOutput.write(
                "zkstorm replay: \(paths.joined(separator: " ")) on \(target ?? "the built-in server"): root \(configuration.resolvedRoot)\n"
            )
        }
        let stop = StopFlag()
        // A second signal more than a second after the first quits at once (see TerminationSignals).
        let signals = TerminationSignals(quitOnRepeatAfter: .seconds(1)) { _ in
            TerminalOutput.printError("\nzkstorm: stopping (press Ctrl-C again to quit at once)\n")
            stop.set()
        }
        let result: ReplayResult
        do {
            result = try await TxnLogReplay.run(configuration, stop: stop)
        } catch let error as RunError {
            signals.cancel()
            errorOutput.write("zkstorm replay: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
        signals.cancel()
        print(result.text, terminator: "")
        if let problem = configuration.hlog?.finish() {
            errorOutput.write("zkstorm replay: \(problem)\n")
            throw ExitCode(73)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(result).write(to: URL(fileURLWithPath: json))
            } catch {
                errorOutput.write("zkstorm replay: could not write \(json): \(error.localizedDescription)\n")
                throw ExitCode(73)
            }
        }
        if let html {
            do {
                try result.html.write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                errorOutput.write("zkstorm replay: could not write \(html): \(error.localizedDescription)\n")
                throw ExitCode(73)
            }
        }
        if let signal = signals.received { throw ExitCode(signal.exitCode) }
    }
}
