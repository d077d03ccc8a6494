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
