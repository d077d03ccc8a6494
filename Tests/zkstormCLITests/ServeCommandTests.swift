import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `zkstorm serve --handshake-timeout` as a user runs it: a connection that sends nothing is closed by
/// the server after the timeout and counted in mntr; a bad value exits 64 naming the flag.
@Suite("zkstorm serve", .serialized)
struct ServeCommandTests {
    @Test func aSilentConnectionIsClosedAfterTheHandshakeTimeout() async throws {
        let port = FreePort.allocate()
        let serve = try ZkstormProcess(["serve", "--port", "\(port)", "--handshake-timeout", "1s"])
        defer { if serve.process.isRunning { serve.process.terminate() } }
        try await Self.waitUntilServing(port: port)

        let fd = try Self.connect(port: port)
        defer { close(fd) }
        let started = ContinuousClock.now
        // Blocks until the server closes the connection (0 bytes) or the 6 s receive timeout passes.
        var byte: UInt8 = 0
        let got = recv(fd, &byte, 1, 0)
        let elapsed = ContinuousClock.now - started
        #expect(got == 0, "recv returned \(got) (errno \(errno)): the silent connection was not closed")
        #expect(elapsed > .milliseconds(700) && elapsed < .seconds(3), "closed after \(elapsed)")

        let mntr = try await FourLetterWordClient.send("mntr", host: "127.0.0.1", port: port)
        let expired = mntr.split(separator: "\n").first { $0.hasPrefix("zk_sessionless_connections_expired") }
            .flatMap { Int($0.split(separator: "\t").last ?? "") }
        #expect((expired ?? 0) >= 1, "mntr: \(mntr)")

        serve.process.terminate()
        let result = try await serve.finish(timeout: .seconds(10))
        #expect(result.stderr.contains("handshake timeout 1s"), "\(result.stderr)")
    }

    @Test(arguments: ["soon", "-1s", "0s"])
    func aBadHandshakeTimeoutExits64(value: String) async throws {
        let result = try await ZkstormProcess.run(["serve", "--port", "0", "--handshake-timeout", value])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--handshake-timeout \(value)"), "\(result.stderr)")
        #expect(result.stderr.contains("such as 10s or 500ms"), "\(result.stderr)")
    }

    /// SIGUSR1 to `zkstorm serve` drops every connection and the sessions live on: `zkstorm bench
    /// watches --interrupt` sends it once 2 sessions × 500 data watches are armed, and both sessions
    /// come back with every watch restored (setWatches2) and firing. A failing interrupt exits 70,
    /// and a dead target 69.
    @Test func sigusr1DropsEveryConnectionAndTheWatchesComeBack() async throws {
        let port = FreePort.allocate()
        let serve = try ZkstormProcess(["serve", "--port", "\(port)"])
        defer { if serve.process.isRunning { serve.process.terminate() } }
        try await Self.waitUntilServing(port: port)
        let bench = try await ZkstormProcess.run(
            [
                "bench", "watches", "--target", "127.0.0.1:\(port)", "--watches", "1000", "--znodes", "500",
                "--timeout", "30", "--interrupt", "kill -USR1 \(serve.process.processIdentifier)",
            ],
            timeout: .seconds(120)
        )
        #expect(bench.status == 0, "\(bench.stderr)")
        let line = try #require(bench.stdout.split(separator: "\n").last.map(String.init), "\(bench.stderr)")
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(fields["sessions_reconnected"] as? Int == 2, "\(line)")
        #expect(fields["watches_restored"] as? Int == 1000, "\(line)")
        #expect((fields["set_watches_batches"] as? Int ?? 0) >= 2, "\(line)")
        #expect(fields["missing"] as? Int == 0 && fields["sessions_not_back"] as? Int == 0, "\(line)")

        let failing = try await ZkstormProcess.run(
            [
                "bench", "watches", "--target", "127.0.0.1:\(port)", "--watches", "10", "--znodes", "10",
                "--interrupt", "exit 3",
            ]
        )
        #expect(failing.status == 70, "\(failing.stderr)")
        #expect(failing.stderr.contains("--interrupt \"exit 3\" exited 3"), "\(failing.stderr)")

        serve.process.terminate()
        let served = try await serve.finish(timeout: .seconds(10))
        #expect(served.stderr.contains("SIGUSR1 dropped 3 connections"), "\(served.stderr)")

        // The server is gone: the benchmark says it cannot connect, and exits 69 (EX_UNAVAILABLE).
        let dead = try await ZkstormProcess.run(
            ["bench", "watches", "--target", "127.0.0.1:\(port)", "--watches", "10", "--znodes", "10"]
        )
        #expect(dead.status == 69, "\(dead.stderr)")
        #expect(dead.stderr.contains("zkstorm bench watches: cannot connect to ZooKeeper"), "\(dead.stderr)")
    }

    /// A TCP connection to 127.0.0.1:`port` with a 6 s receive timeout.
    static func connect(port: Int) throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestServerError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 6, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestServerError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        return fd
    }

    /// Polls `ruok` until the server answers (at most 30 s: a loaded machine starts the binary slowly).
    static func waitUntilServing(port: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let answer = try? await FourLetterWordClient.send(
                "ruok",
                host: "127.0.0.1",
                port: port,
                timeout: .seconds(1)
            ),
                answer == "imok"
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServerError("zkstorm serve did not answer ruok on port \(port) within 30 s")
    }
}
