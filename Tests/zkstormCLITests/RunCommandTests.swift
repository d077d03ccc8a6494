import Foundation
import Testing

@testable import StormEngine

extension EngineTests {
    /// The `zkstorm run` binary itself: exit codes, messages and the interrupt path.
    @Suite("zkstorm run command")
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
                "bad.yaml", "groups:\n  - ops: {get: 1}\n    load: {model: open, rate: 10, arivals: x}\n")
            let run = try await ZkstormBinary.run(["run", file])
            #expect(run.status == 65)
            #expect(
                run.stderr.contains(
                    "bad.yaml:3:35: groups[0].load.arivals: unknown field (did you mean \"arrivals\"?)"),
                "\(run.stderr)")
        }

        @Test func impossibleRequestsExit64BeforeConnecting() async throws {
            let tooFast = try await ZkstormBinary.run([
                "run", "--preset", "read-heavy", "--sessions", "1", "--rate", "1000000", "--target", "127.0.0.1:1",
            ])
            #expect(tooFast.status == 64)
            #expect(tooFast.stderr.contains("more than they can issue"))
            let noRoot = try await ZkstormBinary.run(["run", "--preset", "read-heavy", "--root", "/"])
            #expect(noRoot.status == 64)
            let big = try Scratch.write("big.yaml", "keyspace: {value_size: 2MiB}\nwatches: {}\n")
            let tooBig = try await ZkstormBinary.run(["run", big])
            #expect(tooBig.status == 65)
            #expect(tooBig.stderr.contains("over 1 MiB"))
        }

        @Test func unreachableTargetExits69NamingTheHost() async throws {
            let port = FreePortForTests.closed()
            let run = try await ZkstormBinary.run([
                "run", "--preset", "read-heavy", "--target", "127.0.0.1:\(port)", "--quiet",
            ])
            #expect(run.status == 69)
            #expect(run.stderr.contains("127.0.0.1:\(port)"))
        }

        @Test func interruptPrintsTheReportWritesTheResultAndExits130() async throws {
            let file = try Scratch.write("small.yaml", Self.small)
            let json = Scratch.path("interrupted.json")
            let run = try await ZkstormBinary.run(
                ["run", file, "--duration", "60s", "--json", json], interruptAfter: 4)
            #expect(run.status == 130, "\(run.stderr)")
            #expect(run.stdout.contains("zkstorm run ") && run.stdout.contains("sessions:"), "\(run.stdout)")
            #expect(run.stderr.contains("interrupted;") && run.stderr.contains("removed"))
            let result = try RunResult.load(path: json)
            #expect(result.durationSeconds < 30)
        }

        @Test func reportRerendersAndCompares() async throws {
            let file = try Scratch.write("small2.yaml", Self.small)
            let a = Scratch.path("a.json")
            let first = try await ZkstormBinary.run(["run", file, "--duration", "1s", "--json", a, "--quiet"])
            #expect(first.status == 0, "\(first.stderr)")
            let again = try await ZkstormBinary.run(["report", a])
            #expect(again.status == 0)
            #expect(again.stdout == first.stdout)
            let html = Scratch.path("a.html")
            let compared = try await ZkstormBinary.run(["report", a, "--compare", a, "--html", html])
            #expect(compared.stdout.contains("B/A") && compared.stdout.contains("1.00"))
            #expect(try String(contentsOfFile: html, encoding: .utf8).contains("<svg class=\"chart\""))
        }
    }
}

/// Temporary files for one test process.
enum Scratch {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func write(_ name: String, _ text: String) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

enum FreePortForTests {
    /// A loopback port nothing listens on: bound, then released.
    static func closed() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs the built `zkstorm` binary (next to the test bundle in .build) without blocking a thread.
enum ZkstormBinary {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func binary() throws -> URL {
        let bundle = URL(fileURLWithPath: Swift.CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [
            bundle.appendingPathComponent("zkstorm"),
            bundle.deletingLastPathComponent().appendingPathComponent("zkstorm"),
        ]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent(".build/debug/zkstorm")
        guard FileManager.default.isExecutableFile(atPath: built.path) else {
            throw BrowserCheckError(message: "the zkstorm binary is not built: run `swift build` before these tests")
        }
        return built
    }

    static func run(_ arguments: [String], interruptAfter seconds: Double? = nil) async throws -> Outcome {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let out = Scratch.path("out-\(UUID().uuidString)")
        let err = Scratch.path("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = outHandle
        process.standardError = errHandle
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield()
                continuation.finish()
            }
        }
        try process.run()
        let signaller = Task {
            if let seconds {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                kill(process.processIdentifier, SIGINT)
            }
            try await Task.sleep(nanoseconds: 120_000_000_000)
            if process.isRunning { process.terminate() }
        }
        for await _ in exited { break }
        signaller.cancel()
        try outHandle.close()
        try errHandle.close()
        return Outcome(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}
