import ArgumentParser
import Foundation
import StormEngine
import ZooKeeperFiles

/// `zkstorm txnlog`: reads ZooKeeper's own transaction logs.
struct TxnLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txnlog",
        abstract: "Read ZooKeeper's transaction logs: inspect them, or turn them into a shareable workload.",
        subcommands: [TxnLogInspectCommand.self, TxnLogProfileCommand.self]
    )
}

struct TxnLogInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Verify and summarise transaction logs (files, or a dataDir/version-2 directory).",
        discussion: """
            Checks every entry's Adler-32, reports torn tails with their offset (and skips them, as ZooKeeper \
            does), and prints the op mix, sessions, writes per second, value-size and path-depth histograms, \
            the hottest paths and the multi failure rate. Exit status 65 when a file is not a log at all.
            """
    )

    @Argument(help: "Transaction log files (log.<zxid>) or directories holding them.")
    var paths: [String]

    @Flag(help: "Print the inspection as JSON instead of text.")
    var json = false

    @Option(help: "Also write a self-contained HTML report with charts to this file.")
    var html: String?

    @Option(help: "How many of the most-written paths to list.")
    var hottest = 10

    func run() throws {
        let errorOutput = StandardError()
        let started = ContinuousClock.now
        let inspection: TxnLogInspection
        do {
            inspection = try TxnLogInspector.inspect(paths, hottest: hottest)
        } catch {
            errorOutput.write("zkstorm txnlog inspect: \(error)\n")
            throw ExitCode(66)
        }
        let elapsed = ContinuousClock.now - started
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(inspection), as: UTF8.self))
        } else {
            print(TxnLogInspectionReport.text(inspection), terminator: "")
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            errorOutput.write(
                String(
                    format: "read %.1f MiB in %.3f s (%.0f MB/s)\n",
                    Double(inspection.bytesRead) / 1_048_576,
                    seconds,
                    Double(inspection.bytesRead) / 1e6 / max(seconds, 1e-9)
                )
            )
        }
        if let html {
            do {
                try TxnLogInspectionReport.html(inspection).write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                errorOutput.write("zkstorm txnlog inspect: could not write \(html): \(error.localizedDescription)\n")
                throw ExitCode(73)
            }
        }
        for file in inspection.files where file.end == "error" {
            errorOutput.write("zkstorm txnlog inspect: \(file.problem ?? file.path)\n")
        }
        if inspection.files.contains(where: { $0.end == "error" }) { throw ExitCode(65) }
    }
}

struct TxnLogProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract:
            "Write a workload file with the logs' shape (op mix, rate, key space, value sizes), no paths or data.",
        discussion: """
            The file can be shared outside the company: keys are generated and values are filler. Its \
            comment block records the logged figures it approximates. Run it with `zkstorm run FILE`.
            """
    )

    @Argument(help: "Transaction log files (log.<zxid>) or directories holding them.")
    var paths: [String]

    @Option(help: "Write the workload YAML here.")
    var out: String

    @Option(help: "The workload's name.")
    var name = "profile"

    func run() throws {
        let errorOutput = StandardError()
        let inspection: TxnLogInspection
        do {
            inspection = try TxnLogInspector.inspect(paths)
        } catch {
            errorOutput.write("zkstorm txnlog profile: \(error)\n")
            throw ExitCode(66)
        }
        for file in inspection.files where file.end == "error" {
            errorOutput.write("zkstorm txnlog profile: \(file.problem ?? file.path)\n")
            throw ExitCode(65)
        }
        do {
            try TxnLogProfile.yaml(inspection, name: name).write(toFile: out, atomically: true, encoding: .utf8)
        } catch {
            errorOutput.write("zkstorm txnlog profile: could not write \(out): \(error.localizedDescription)\n")
            throw ExitCode(73)
        }
        errorOutput.write("zkstorm txnlog profile: wrote \(out) from \(inspection.entries) txns\n")
    }
}
