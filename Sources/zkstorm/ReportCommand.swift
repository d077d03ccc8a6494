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
            """
    )

    @Argument(help: "Result file written by zkstorm run --json.")
    var result: String

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
        let first = try load(result, errorOutput)
        let second = try compare.map { try load($0, errorOutput) }
        if let second {
            TerminalOutput.print(ComparisonReport.render(first, second))
        } else {
            TerminalOutput.print(TextReport.render(first))
        }
        if let html {
            let page = second.map { HTMLReport.renderComparison(first, $0) } ?? HTMLReport.render(first)
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
