import ArgumentParser
import Foundation
import StormEngine

/// `zkstorm report`: re-renders a result file, or compares two.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a result file (from zkstorm run --json), or compare two side by side.",
        discussion:
            "Prints the same text report as the run did. With --compare, prints both runs per operation with B/A ratios."
    )

    @Argument(help: "Result file written by zkstorm run --json.")
    var result: String

    @Option(help: "Also write the self-contained HTML report to this file.")
    var html: String?

    @Option(help: "A second result file to compare against the first (ratios are OTHER / RESULT).")
    var compare: String?

    func run() throws {
        let errorOutput = StandardError()
        let first = try load(result, errorOutput)
        if let compare {
            let second = try load(compare, errorOutput)
            print(ComparisonReport.render(first, second), terminator: "")
        } else {
            print(TextReport.render(first), terminator: "")
        }
        if let html {
            do {
                try HTMLReport.render(first).write(toFile: html, atomically: true, encoding: .utf8)
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
            errorOutput.write("zkstorm report: \(path) is not a zkstorm result file: \(Self.describe(error))\n")
            throw ExitCode(65)
        } catch {
            errorOutput.write("zkstorm report: cannot read \(path): \(error.localizedDescription)\n")
            throw ExitCode(66)
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        @unknown default: "\(error)"
        }
    }
}
