import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// Ctrl-C and SIGTERM at each moment of `zkstorm run`, on the built binary as a person runs it: the
/// report is printed, the run's znodes are removed and the exit code is 128 + signal, within 2 s.
@Suite("zkstorm run interrupted", .serialized)
struct SignalExitTests {
    enum Moment: String, CaseIterable, CustomStringConvertible {
        case setup, warmup, measurement, cleanup
        var description: String { rawValue }
    }

    static let ensemble = SharedEnsemble()

    /// A workload whose phases are long enough to aim at: 1000 keys to create and delete, 2 s warm-up.
    static func workloadFile(duration: String) throws -> URL {
        let text = """
            name: interrupt
            sessions: 4
            duration: \(duration)
            warmup: 2s
            keyspace: {count: 1000, value_size: 32}
            groups:
              - name: mix
                ops: {get: 70, set: 30}
                load: {model: closed, concurrency: 1, window: 2}
            watches:
              kind: data
              watchers: 8
              znodes: 1
              storm: {rounds: 1000, interval: 200ms, writer: dedicated, timeout: 2s}

            """
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-interrupt-\(UUID()).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test(arguments: [(Moment.setup, SIGINT), (.warmup, SIGTERM), (.measurement, SIGINT), (.cleanup, SIGTERM)])
    func signalEndsRunCleanly(moment: Moment, signal: Int32) async throws {
        let ensemble = try await Self.ensemble.get()
        var configuration = ZooKeeperConfiguration(connectString: ensemble.connectString)
        configuration.sessionTimeout = .seconds(4)
        let observer = try await ZooKeeperClient.connect(configuration)
        let root = "/zkstorm/interrupt-\(moment)-\(UInt32.random(in: 0...UInt32.max))"
        let file = try Self.workloadFile(duration: moment == .cleanup ? "1s" : "30s")
        defer { try? FileManager.default.removeItem(at: file) }

        // Output goes to files (ZkstormProcess): reading pipes would block two of the (two-core)
        // machine's cooperative threads, and with them this test's own polling, until zkstorm exits.
        let started = ContinuousClock.now
        let zkstorm = try ZkstormProcess([
            "run", file.path, "--target", ensemble.connectString, "--root", root, "--session-timeout", "4s",
            "--quiet",
        ])
        let process = zkstorm.process

        // Aim at the moment by watching the run's tree on the server.
        let watched = root + "/watched/w0"
        func waitFor(_ condition: () async throws -> Bool) async throws {
            while try await !condition() {
                if ContinuousClock.now - started > .seconds(30) || !process.isRunning {
                    let seen = (try? await observer.getChildren("/zkstorm")) ?? []
                    Issue.record(
                        "the \(moment) phase of \(process.arguments ?? []) was not seen; /zkstorm has \(seen); running \(process.isRunning), exit \(process.isRunning ? -1 : process.terminationStatus) after \(ContinuousClock.now - started)"
                    )
                    return
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        switch moment {
        case .setup:
            // The root exists, the key space is still being created.
            try await waitFor { try await observer.exists(root) != nil }
        case .warmup:
            // The tree is complete (the watched znode comes last); sessions connect, then 2 s of warm-up.
            try await waitFor { try await observer.exists(watched) != nil }
            try await Task.sleep(for: .milliseconds(1200))
        case .measurement:
            try await waitFor { try await observer.exists(watched) != nil }
            try await Task.sleep(for: .milliseconds(3500))
        case .cleanup:
            // Cleanup deletes the deepest level first: the watched znode goes while the root stays.
            try await waitFor { try await observer.exists(watched) != nil }
            try await waitFor { try await observer.exists(watched) == nil }
        }
        #expect(process.isRunning, "zkstorm was still running when the signal was sent")
        let signalled = ContinuousClock.now
        kill(process.processIdentifier, signal)
        while process.isRunning && ContinuousClock.now - signalled < .seconds(10) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let exitTime = ContinuousClock.now - signalled
        #expect(!process.isRunning, "zkstorm did not exit within 10 s of the signal")
        if process.isRunning { process.terminate() }
        let (_, report, messages) = try await zkstorm.finish(timeout: .seconds(5))

        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + signal, "\(messages)")
        #expect(exitTime < .seconds(2), "exit took \(exitTime)")
        #expect(report.contains("zkstorm run "), "the report is printed: \(report)")
        #expect(report.contains("sessions:"))
        #expect(messages.contains("\(root) removed"), "\(messages)")
        #expect(try await observer.exists(root) == nil, "the run root is gone")
        try await observer.close()
        SignalFigures.record(moment: moment, signal: signal, exitTime: exitTime)
    }
}

enum SignalFigures {
    static func record(moment: SignalExitTests.Moment, signal: Int32, exitTime: Duration) {
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        let ms = Double(exitTime.components.seconds) * 1000 + Double(exitTime.components.attoseconds) / 1e15
        FileHandle.standardError.write(
            Data("SIGNAL-FIGURES \(name) during \(moment): exit after \(String(format: "%.0f", ms)) ms\n".utf8)
        )
    }
}

/// One quorum for the signal tests, started on first use; its JVMs die with the test process.
actor SharedEnsemble {
    private var ensemble: RealEnsemble?

    func get() async throws -> RealEnsemble {
        if let ensemble { return ensemble }
        let started = try await RealEnsemble.start(tickTime: 500)
        ensemble = started
        return started
    }
}
