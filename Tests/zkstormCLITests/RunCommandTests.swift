import Foundation
import Testing
import ZooKeeperTestSupport

@testable import StormEngine

/// The `zkstorm run` binary itself: exit codes, messages and the interrupt path.
@Suite("zkstorm run command", .serialized)
struct RunCommandTests {
    static let small = """
        name: small
        sessions: 2
        warmup: 0s
        keyspace: {count: 20, value_size: 16}
        groups:
          - ops: {get: 8, set: 2}
        """

    @Test func badWorkloadFileExits65NamingThePlace() async throws {
        let file = try Scratch.write(
            "bad.yaml",
            "groups:\n  - ops: {get: 1}\n    load: {model: open, rate: 10, arivals: x}\n"
        )
        let run = try await ZkstormProcess.run(["run", file])
        #expect(run.status == 65)
        #expect(
            run.stderr.contains(
                "bad.yaml:3:35: groups[0].load.arivals: unknown field (did you mean \"arrivals\"?)"
            ),
            "\(run.stderr)"
        )
    }

    @Test func impossibleRequestsExit64BeforeConnecting() async throws {
        let tooFast = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--sessions", "1", "--rate", "1000000", "--target", "127.0.0.1:1",
        ])
        #expect(tooFast.status == 64)
        #expect(tooFast.stderr.contains("more than they can issue"))
        let noRoot = try await ZkstormProcess.run(["run", "--preset", "read-heavy", "--root", "/"])
        #expect(noRoot.status == 64)
        let big = try Scratch.write("big.yaml", "keyspace: {value_size: 2MiB}\nwatches: {}\n")
        let tooBig = try await ZkstormProcess.run(["run", big])
        #expect(tooBig.status == 65)
        #expect(tooBig.stderr.contains("over 1 MiB"))
    }

    @Test func unreachableTargetExits69NamingTheHost() async throws {
        let port = FreePort.allocate()
        let run = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--target", "127.0.0.1:\(port)", "--quiet",
        ])
        #expect(run.status == 69)
        #expect(run.stderr.contains("127.0.0.1:\(port)"))
    }

    @Test func interruptPrintsTheReportWritesTheResultAndExits130() async throws {
        let file = try Scratch.write("small.yaml", Self.small)
        let json = Scratch.path("interrupted.json")
        let run = try await ZkstormProcess.run(
            ["run", file, "--duration", "60s", "--json", json],
            interruptAfter: .seconds(4)
        )
        #expect(run.status == 130, "\(run.stderr)")
        #expect(run.stdout.contains("zkstorm run ") && run.stdout.contains("sessions:"), "\(run.stdout)")
        #expect(run.stderr.contains("interrupted;") && run.stderr.contains("removed"))
        let result = try RunResult.load(path: json)
        #expect(result.durationSeconds < 30)
    }

    @Test func reportRerendersAndCompares() async throws {
        let file = try Scratch.write("small2.yaml", Self.small)
        let a = Scratch.path("a.json")
        let first = try await ZkstormProcess.run(["run", file, "--duration", "1s", "--json", a, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let again = try await ZkstormProcess.run(["report", a])
        #expect(again.status == 0)
        #expect(again.stdout == first.stdout)
        let html = Scratch.path("a.html")
        let compared = try await ZkstormProcess.run(["report", a, "--compare", a, "--html", html])
        #expect(compared.stdout.contains("B/A") && compared.stdout.contains("1.00"))
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("<svg class=\"chart\""))
    }
}
