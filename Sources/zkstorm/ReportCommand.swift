import ArgumentParser
import Foundation
import StormEngine

/// `zkstorm report`: re-renders a result file, or compares two.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a result file (from zkstorm run --json), or compare two side by side.",
        discussion: """
            Prints the same text report as the run did. With --compare, prints both runs per operation with \
            B/A ratios: `zkstorm report before.json --compare after.json` shows after / before, so 0.50 on a \
            latency means the second run halved it. A figure one run lacks shows as –.
            Exit codes: 0 done, 65 not a result file (with the byte offset of bad JSON), 66 cannot read a file, \
            73 cannot write --html.
            With --merge A.json B.json ..., joins the results of the shards of one run (zkstorm run --shard I/N \
            --run-id ID) into one exact report: counts summed, histograms added, percentiles read from the merged \
            histogram; per-shard rows follow the total. --json writes the merged result. Files of different runs \
            are refused (65).
            """
    )

    @Argument(help: "Result file written by zkstorm run --json.")
    var result: String?

    @Option(
        parsing: .upToNextOption,
        help: "Result files of the shards of one run, merged into one exact report."
    )
    var merge: [String] = []

    @Option(help: "With --merge: write the merged result JSON to this file ('-' for standard output).")
    var json: String?

    @Option(
        help:
            "Also write the self-contained HTML report to this file; with --compare, one page with both runs on each chart."
    )
    var html: String?

    @Option(
        help:
            "A second result file to compare against the first: RESULT is A (the baseline), this is B, ratios are B / A."
    )
    var compare: String?

    func run() throws {
        TerminalOutput.ignoreBrokenPipes()
        let errorOutput = StandardError()
        if let html, html != "-", let problem = RunOutputs.fileProblem(html) {
            errorOutput.write("zkstorm report: --html \(html): \(problem)\n")
            throw ExitCode(73)
        }
        let first: RunResult
        if !merge.isEmpty || json != nil {
            first = try mergedResult(errorOutput)
        } else if let result {
            first = try load(result, errorOutput)
        } else {
            errorOutput.write("zkstorm report: give a result file, or --merge with the shards' result files\n")
            throw ExitCode(64)
        }
        let second = try compare.map { try load($0, errorOutput) }
        if let second {
            TerminalOutput.print(ComparisonReport.render(first, second))
        } else {
            let text = TextReport.render(first) + (first.merged.map(MergeReport.render) ?? "")
            // With `--json -` standard output carries the merged JSON alone.
            if json == "-" { TerminalOutput.printError(text + "\n") } else { TerminalOutput.print(text) }
        }
        if let html {
            var page = second.map { HTMLReport.renderComparison(first, $0) } ?? HTMLReport.render(first)
            if second == nil, let merged = first.merged { page = MergeReport.insertHTML(merged, into: page) }
            do {
                if html == "-" {
                    TerminalOutput.print(page)
                } else {
                    try page.write(toFile: html, atomically: true, encoding: .utf8)
                }
            } catch {
                errorOutput.write("zkstorm report: could not write \(html): \(error.localizedDescription)\n")
                throw ExitCode(73)
            }
        }
    }

    /// `--merge`: the files joined (RESULT, when given, first), `--json` written.
    private func mergedResult(_ errorOutput: StandardError) throws -> RunResult {
        let files = (result.map { [$0] } ?? []) + merge
        guard files.count >= 2, compare == nil else {
            errorOutput.write(
                compare == nil
                    ? "zkstorm report: --merge needs two or more result files (got \(files.count))\n"
                    : "zkstorm report: --merge and --compare do not go together: merge first (--json OUT), then compare OUT\n"
            )
            throw ExitCode(64)
        }
        if let json, json != "-", let problem = RunOutputs.fileProblem(json) {
            errorOutput.write("zkstorm report: --json \(json): \(problem)\n")
            throw ExitCode(73)
        }
        var inputs: [(file: String, result: RunResult)] = []
        for file in files { inputs.append((file, try load(file, errorOutput))) }
        let merged: RunResult
        do {
            merged = try ResultMerge.merge(inputs)
        } catch {
            errorOutput.write("zkstorm report --merge: \(error.message)\n")
            throw ExitCode(65)
        }
        if let json {
            do {
                let data = try merged.jsonData()
                if json == "-" {
                    TerminalOutput.print(String(decoding: data, as: UTF8.self))
                } else {
                    try data.write(to: URL(fileURLWithPath: json))
                }
            } catch {
                errorOutput.write("zkstorm report: could not write \(json): \(error.localizedDescription)\n")
                throw ExitCode(73)
            }
        }
        return merged
    }

    private func load(_ path: String, _ errorOutput: StandardError) throws -> RunResult {
        do {
            return try RunResult.load(path: path)
        } catch let error as RunResultError {
            errorOutput.write("zkstorm report: \(error.message)\n")
            throw ExitCode(65)
        } catch let error as DecodingError {
            errorOutput.write(
                "zkstorm report: \(path) is not a zkstorm result file: \(Self.describe(error, file: path))\n"
            )
            throw ExitCode(65)
        } catch {
            errorOutput.write("zkstorm report: cannot read \(path): \(error.localizedDescription)\n")
            throw ExitCode(66)
        }
    }

    static func describe(_ error: DecodingError, file: String) -> String {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
            let data = FileManager.default.contents(atPath: file)
        {
            return JSONSyntax.problem(in: Array(data))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
