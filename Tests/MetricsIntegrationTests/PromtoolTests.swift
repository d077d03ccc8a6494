import Foundation
import StormMetricsTestSupport
import Testing

@testable import StormMetrics

/// The exposition body checked by Debian's promtool (a separate process).
@Suite struct PromtoolTests {
    @Test func promtoolAcceptsTheBody() throws {
        let text = PrometheusExposition.render(SampleSnapshots.realistic())
        let (status, output) = try runPromtool(["check", "metrics"], input: text)
        #expect(status == 0, "promtool check metrics: \(output)")
        #expect(output.isEmpty, "promtool lint: \(output)")

        var empty = MetricsSnapshot(runId: "r", instance: "i", workload: "w", target: "t")
        empty.servers = [ServerStats(host: "h:1", values: [:], state: nil)]
        let (emptyStatus, emptyOutput) = try runPromtool(
            ["check", "metrics"],
            input: PrometheusExposition.render(empty)
        )
        #expect(emptyStatus == 0, "promtool check metrics on an empty snapshot: \(emptyOutput)")

        // The check is real: promtool rejects a broken label and lints a counter without "_total".
        #expect(try runPromtool(["check", "metrics"], input: "foo{a=\"b} 1\n").0 != 0)
        #expect(try runPromtool(["check", "metrics"], input: "# HELP foo f\n# TYPE foo counter\nfoo 1\n").0 != 0)
    }
}

/// Runs Debian's promtool with `input` on stdin; returns its exit status and combined output.
func runPromtool(_ arguments: [String], input: String) throws -> (Int32, String) {
    let binary = "/usr/bin/promtool"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
        throw PromtoolMissing()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let stdin = Pipe()
    let output = Pipe()
    process.standardInput = stdin
    process.standardOutput = output
    process.standardError = output
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

struct PromtoolMissing: Error, CustomStringConvertible {
    var description: String { "/usr/bin/promtool is missing; run scripts/install-deps (Debian package prometheus)" }
}
