import Foundation
import Logging
import NIOConcurrencyHelpers
import StormMetrics
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import StormEngine

/// Every preset, shrunk to about a second, run end to end over real TCP: against the built-in server
/// (started in-process by the run itself) and against a real ZooKeeper 3.8.
extension EngineTests {
    @Suite("Preset runs", .serialized)
    struct PresetRunTests {
        static let presets = Presets.names

        /// The preset's shape with small numbers, so twelve presets on two targets fit the test budget.
        static func shrunk(_ name: String, target: String? = nil) throws -> Workload {
            var w = try Presets.workload(named: name)
            w.duration = .milliseconds(1200)
            w.warmup = .milliseconds(200)
            w.target = target
            w.keyspace.count = min(w.keyspace.count, 200)
            w.sessions = min(w.sessions, 6)
            for index in w.groups.indices {
                w.groups[index].sessions = w.groups[index].sessions.map { min($0, 2) }
                if case .open(let rate, let arrivals, let maxInFlight) = w.groups[index].load {
                    w.groups[index].load = .open(rate: min(rate, 300), arrivals: arrivals, maxInFlight: maxInFlight)
                }
            }
            if var watches = w.watches {
                watches.watchers = min(watches.watchers, 20)
                watches.znodes = min(watches.znodes, 3)
                watches.storm.rounds = 4
                watches.storm.interval = .milliseconds(150)
                w.watches = watches
            }
            if var herd = w.herd {
                herd.sessions = min(herd.sessions, 10)
                herd.znodes = min(herd.znodes, 10)
                w.herd = herd
            }
            // A fault fires within the shortened run; a built-in-server fault (drop, pause) has nothing to
            // act on against real ZooKeeper (FaultRunTests runs member faults on a scripts/ensemble quorum).
            w.faults =
                target == nil
                ? w.faults.map { fault in
                    var fault = fault
                    fault.at = .milliseconds(600)
                    return fault
                } : w.faults.filter { !$0.action.isBuiltIn }
            return w
        }

        static func check(_ outcome: StormRun.Outcome, _ workload: Workload) {
            let result = outcome.result
            #expect(!outcome.interrupted)
            #expect(result.workload == workload.name)
            #expect(result.durationSeconds > 0.1)
            if !workload.groups.isEmpty {
                let total = result.operations.values.reduce(0) { $0 + $1.count }
                #expect(total > 20, "\(workload.name): only \(total) operations")
                #expect(!result.timeline.isEmpty)
            }
            if let watches = workload.watches {
                #expect(result.rounds.count >= 1, "\(workload.name): no storm round")
                let expected = result.rounds.reduce(0) { $0 + $1.expected }
                #expect(expected == result.rounds.count * watches.watchers * watches.znodes)
                #expect(result.watch.notifications == UInt64(expected) - result.watch.missed)
                #expect(result.watch.missed == 0, "\(workload.name): \(result.watch.missed) notifications missed")
                #expect(result.watch.lagUs.max > 0)
                if watches.kind.isOneShot { #expect(result.watch.rearmUs != nil) }
            }
            if let herd = workload.herd {
                #expect(result.herd?.groups.map(\.sessions).reduce(0, +) == herd.sessions, "\(workload.name)")
                #expect(result.herd?.groups.allSatisfy { $0.steadyReadsPerSecond != nil } == true)
            }
            // The result renders and survives its JSON form.
            #expect(TextReport.render(result).contains("sessions:"))
            let decoded = try? JSONDecoder().decode(RunResult.self, from: result.jsonData())
            #expect(decoded == result)
        }

        @Test(arguments: presets)
        func builtInServer(_ preset: String) async throws {
            let workload = try Self.shrunk(preset)
            let outcome = try await StormRun(workload: workload).run()
            Self.check(outcome, workload)
            #expect(outcome.result.target.hasSuffix("(built-in)"))
        }

        @Test(arguments: presets)
        func realZooKeeper(_ preset: String) async throws {
            let server = try await TestTarget.realZooKeeper.shared()
            let workload = try Self.shrunk(preset, target: server.connectString)
            let run = StormRun(workload: workload)
            let outcome = try await run.run()
            Self.check(outcome, workload)
            // Cleanup: the run's root is gone, and nothing else was left under /zkstorm by it.
            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            #expect(try await client.exists(outcome.root) == nil)
            try await client.close()
        }
    }
}

extension EngineTests {
    @Suite("Run lifecycle", .serialized)
    struct RunLifecycleTests {
        @Test func unreachableTargetFailsFastNamingTheHost() async throws {
            let port = FreePort.allocate()
            var workload = try PresetRunTests.shrunk("read-heavy", target: "127.0.0.1:\(port)")
            workload.warmup = .zero
            let started = RunClock.now()
            do {
                _ = try await StormRun(workload: workload).run()
                Issue.record("a run against a closed port must fail")
            } catch let error as RunError {
                #expect(error.kind == .unavailable && error.exitCode == 69)
                #expect(error.message.contains("127.0.0.1:\(port)"), "\(error.message)")
            }
            #expect(RunClock.now() - started < 12_000_000_000)
        }

        @Test func interruptStillReportsAndCleansUp() async throws {
            let server = try await TestTarget.realZooKeeper.shared()
            var workload = try PresetRunTests.shrunk("write-heavy", target: server.connectString)
            workload.duration = .seconds(30)
            let run = StormRun(workload: workload)
            let interrupter = Task {
                try await Task.sleep(nanoseconds: 1_200_000_000)
                run.interrupt()
            }
            let started = RunClock.now()
            let outcome = try await run.run()
            _ = await interrupter.result
            #expect(outcome.interrupted)
            #expect(RunClock.now() - started < 10_000_000_000)
            #expect(outcome.result.operations["set"]?.count ?? 0 > 0)
            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            #expect(try await client.exists(outcome.root) == nil)
            try await client.close()
        }

        @Test func existingRootIsRefusedAndLeftAlone() async throws {
            let server = try await TestTarget.realZooKeeper.shared()
            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            let root = "/zkstorm/taken-\(UInt32.random(in: 0...UInt32.max))"
            _ = try? await client.create("/zkstorm")
            _ = try await client.create(root, data: Array("someone else's".utf8))
            var workload = try PresetRunTests.shrunk("read-heavy", target: server.connectString)
            workload.root = root
            await #expect(throws: RunError.self) { _ = try await StormRun(workload: workload).run() }
            #expect(try await client.getData(root).data == Array("someone else's".utf8))
            try await client.delete(root)
            try await client.close()
        }

        /// The real server is frozen (SIGSTOP) for 400 ms under an open loop with one request in flight:
        /// intended-time latency shows the stall for every start that came due, service time only for the
        /// request caught in it.
        @Test func pausedServerShowsInIntendedTimeNotServiceTime() async throws {
            let server = try await TestTarget.realZooKeeper.dedicated()
            defer { Task { try? await server.destroy() } }
            var workload = Workload(
                name: "stall",
                sessions: 1,
                duration: .seconds(3),
                warmup: .zero,
                keyspace: KeySpace(count: 10, valueSize: 16)
            )
            workload.target = server.connectString
            workload.groups = [
                OperationGroup(
                    name: "readers",
                    operations: [OperationSpec(kind: .get)],
                    load: .open(rate: 200, arrivals: .constant, maxInFlight: 1)
                )
            ]
            // The stall starts at the first measured interval, whatever setup cost on a loaded machine.
            let stall = StallOnce(server)
            let run = StormRun(workload: workload, onTick: { _, _ in stall.begin() })
            let outcome = try await run.run()
            try await stall.finished()
            let result = outcome.result
            let intended = try #require(result.histogram("request:get:ok"))
            let service = try #require(result.histogram("service:get"))
            #expect(intended.count > 200)
            // Every start that came due during the 600 ms stall waited: dozens of intended-time
            // latencies of 300 ms and more.
            let slowIntended = intended.count - intended.count(atOrBelow: 300_000)
            #expect(slowIntended >= 20, "\(slowIntended) intended-time latencies over 300 ms")
            // Service time saw the stall only in the one request that was in flight when it began.
            let slowService = service.count - service.count(atOrBelow: 300_000)
            #expect(slowService >= 1 && slowService <= 2, "\(slowService) service times over 300 ms")
            #expect(result.lateStarts >= 20)
        }
    }
}

/// Pauses a server (SIGSTOP) for 600 ms, once, from a synchronous callback.
final class StallOnce: Sendable {
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)
    private let server: any ZooKeeperTestServer

    init(_ server: any ZooKeeperTestServer) { self.server = server }

    func begin() {
        let server = self.server
        task.withLockedValue { task in
            guard task == nil else { return }
            task = Task {
                try await server.pause()
                try await Task.sleep(nanoseconds: 600_000_000)
                try await server.resume()
            }
        }
    }

    func finished() async throws {
        try await task.withLockedValue { $0 }?.value
    }
}
