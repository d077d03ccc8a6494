import ArgumentParser
import Foundation
import StormEngine
import ZooKeeperClient

/// `zkstorm check --target HOSTS [--json]`: what a target supports, feature by feature.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Probe a ZooKeeper-compatible target and report which features work.",
        discussion: """
            Runs every operation, each watch kind and its events, multi, TTL and container nodes, and the \
            four-letter words against the target, and prints each as supported, unsupported (with the \
            server's error) or wrong (with what differed from ZooKeeper 3.8).

            Everything it creates lives under /zkstorm/check-<random> and is removed at the end; nothing \
            else is touched.

            Exit status: 0 when every core feature works, 1 when a core feature is missing or wrong, \
            69 when the target cannot be reached, 64 for a malformed --target.
            """
    )

    @Option(name: .long, help: "Connect string of the target, e.g. 127.0.0.1:2181 or h1:2181,h2:2181/chroot.")
    var target: String

    @Flag(name: .long, help: "Print the results as JSON instead of a table.")
    var json = false

    @Option(name: .long, help: "Seconds to wait for each expected watch event.")
    var eventTimeout: Double = 2

    func run() async throws {
        let connectString: ConnectString
        do {
            connectString = try ConnectString(parsing: target)
        } catch {
            printError("zkstorm check: \(error.description)")
            throw ExitCode(64)
        }
        let probe = TargetProbe(connectString: connectString, eventTimeout: .milliseconds(Int64(eventTimeout * 1000)))
        let results: [ProbeResult]
        do {
            results = try await probe.run()
        } catch let error as ZooKeeperError {
            printError("zkstorm check: target \(connectString) is unreachable: \(error.message)")
            throw ExitCode(69)
        }
        let coreOK = !results.contains { $0.core && $0.outcome != .supported }
        if json {
            print(try CheckReport.json(target: connectString.description, results: results, coreOK: coreOK))
        } else {
            print(CheckReport.table(target: connectString.description, results: results, coreOK: coreOK))
        }
        if !coreOK { throw ExitCode(1) }
    }

    private func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// Renders probe results as a table or JSON.
enum CheckReport {
    static func table(target: String, results: [ProbeResult], coreOK: Bool) -> String {
        let header = ["FEATURE", "CATEGORY", "CORE", "RESULT", "DETAIL"]
        let rows = results.map { r in
            [r.feature, r.category, r.core ? "yes" : "", r.outcome.rawValue, r.detail]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated().dropLast() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        var lines = ["zkstorm check \(target)", "", line(header)]
        lines += rows.map(line)
        let failing = results.filter { $0.core && $0.outcome != .supported }.map(\.feature)
        let optionalMissing = results.filter { !$0.core && $0.outcome != .supported }.count
        lines.append("")
        if coreOK {
            lines.append(
                "all \(results.filter(\.core).count) core features work; \(optionalMissing) optional feature(s) unsupported or wrong"
            )
        } else {
            lines.append("core features failing: \(failing.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    static func json(target: String, results: [ProbeResult], coreOK: Bool) throws -> String {
        struct Report: Codable {
            var target: String
            var coreOK: Bool
            var results: [ProbeResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Report(target: target, coreOK: coreOK, results: results))
        return String(decoding: data, as: UTF8.self)
    }
}
