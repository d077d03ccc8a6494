import ArgumentParser
import Foundation
import StormEngine
import ZooKeeperClient
import ZooKeeperProtocol

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
            69 when the target cannot be reached, 64 for a malformed --target or a chroot that does not exist, \
            66 for an unreadable certificate or password file, 77 when TLS or SASL refuses us.
            """
    )

    @Option(name: .long, help: "Connect string of the target, e.g. 127.0.0.1:2181 or h1:2181,h2:2181/chroot.")
    var target: String

    @Flag(name: .long, help: "Print the results as JSON instead of a table.")
    var json = false

    @Option(
        name: .long,
        parsing: .unconditional,
        help: "How long to wait for each expected watch event, e.g. 2s or 500ms."
    )
    var eventTimeout: String = "2s"

    @OptionGroup(title: "Security (TLS, SASL, digest)")
    var security: SecurityOptions

    func run() async throws {
        let connectString: ConnectString
        do {
            connectString = try ConnectString(parsing: target)
        } catch {
            printError("zkstorm check: \(error.description)")
            throw ExitCode(64)
        }
        let clientSecurity = try security.resolve(command: "check")
        guard let timeout = DurationText.parse(eventTimeout), timeout > .zero else {
            printError("zkstorm check: --event-timeout \(eventTimeout): expected a duration such as 2s or 500ms")
            throw ExitCode(64)
        }
        if let chroot = connectString.chroot {
            // A missing chroot otherwise shows up as `create` unsupported: name it instead.
            var configuration = ZooKeeperConfiguration(connectString: target)
            configuration.connectTimeout = .seconds(5)
            if let client = try? await ZooKeeperClient.connect(configuration) {
                let exists = (try? await client.exists("/")) != nil
                try? await client.close()
                if !exists {
                    printError(
                        "zkstorm check: the chroot \(chroot) does not exist on \(target); create it first (zkCli.sh create \(chroot)) or leave it out of --target"
                    )
                    throw ExitCode(64)
                }
            }
        }
        let probe = TargetProbe(connectString: connectString, eventTimeout: timeout)
        probe.security = clientSecurity
        var results: [ProbeResult]
        do {
            // Security first: a refused TLS or SASL handshake is reported as such (exit 77).
            results = try await SecurityProbe.run(connectString: connectString.description, security: clientSecurity)
                .map {
                    ProbeResult(
                        feature: $0.feature,
                        category: "security",
                        core: false,
                        outcome: $0.ok ? .supported : .wrong,
                        detail: $0.detail
                    )
                }
            results += try await probe.run()
        } catch let error as ZooKeeperError where error.code == .authFailed {
            printError("zkstorm check: \(error.message)")
            throw ExitCode(77)
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
