import Foundation
import NIOCore
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Unreachable hosts and peers that speak garbage: clear errors, fast, no crash, no hang.
@Suite("Bad peers and unreachable hosts")
struct BadPeerTests {
    func configuration(_ connectString: String) -> ZooKeeperConfiguration {
        var configuration = ZooKeeperConfiguration(connectString: connectString)
        configuration.connectTimeout = .seconds(2)
        configuration.sessionTimeout = .seconds(30)
        return configuration
    }

    @Test func unreachableHostFailsFastNamingIt() async {
        let port = FreePort.allocate()
        let start = ContinuousClock.now
        do {
            _ = try await ZooKeeperClient.connect(configuration("127.0.0.1:\(port)"))
            Issue.record("connected to nothing")
        } catch let error as ZooKeeperError {
            #expect(error.code == .connectionLoss)
            #expect(error.message.contains("127.0.0.1:\(port)"), "\(error)")
            #expect(error.message.lowercased().contains("refused"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func everyHostIsTriedAndNamed() async {
        let ports = [FreePort.allocate(), FreePort.allocate()]
        do {
            _ = try await ZooKeeperClient.connect(configuration(ports.map { "127.0.0.1:\($0)" }.joined(separator: ",")))
            Issue.record("connected to nothing")
        } catch let error as ZooKeeperError {
            for port in ports { #expect(error.message.contains("127.0.0.1:\(port)"), "\(error)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: TestTarget.allCases)
    func deadHostInConnectStringIsSkipped(target: TestTarget) async throws {
        let server = try await target.shared()
        let dead = "127.0.0.1:\(FreePort.allocate())"
        // Shuffled order: whichever comes first, the client ends up on the live server.
        for _ in 0..<3 {
            let client = try await ZooKeeperClient.connect(configuration("\(dead),\(server.connectString)"))
            #expect(try await client.exists("/") != nil)
            try await client.close()
        }
    }

    @Test func unansweredHandshakeTimesOutNamingTheCause() async throws {
        let peer = try await FakePeer(.sendOnConnect([]))
        defer { Task { try await peer.stop() } }
        var config = configuration(peer.connectString)
        config.connectTimeout = .milliseconds(300)
        let start = ContinuousClock.now
        do {
            _ = try await ZooKeeperClient.connect(config)
            Issue.record("connected to a mute peer")
        } catch let error as ZooKeeperError {
            #expect(error.code == .connectionLoss)
            #expect(error.message.contains("did not complete the handshake within 300 ms"), "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func garbageHandshakeIsAConnectionError() async throws {
        let peer = try await FakePeer(.sendOnConnect(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)))
        defer { Task { try await peer.stop() } }
        do {
            _ = try await ZooKeeperClient.connect(configuration(peer.connectString))
            Issue.record("connected to garbage")
        } catch let error as ZooKeeperError {
            #expect(error.code == .connectionLoss)
            #expect(error.message.contains(peer.connectString), "\(error)")
            #expect(error.message.contains("bad data from server"), "\(error)")
        }
    }

    @Test func oversizeFrameLengthIsAConnectionError() async throws {
        let peer = try await FakePeer(.sendOnConnect([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))
        defer { Task { try await peer.stop() } }
        do {
            _ = try await ZooKeeperClient.connect(configuration(peer.connectString))
            Issue.record("connected to garbage")
        } catch let error as ZooKeeperError {
            #expect(error.message.contains("frame length"), "\(error)")
        }
    }

    @Test func oversizeFrameAfterHandshakeFailsInFlightRequest() async throws {
        let peer = try await FakePeer(.handshakeThen([0x7f, 0xff, 0xff, 0xff]))
        defer { Task { try await peer.stop() } }
        var config = configuration(peer.connectString)
        config.sessionTimeout = .seconds(1)
        config.requestTimeout = .seconds(3)
        let client = try await ZooKeeperClient.connect(config)
        #expect(client.sessionId == 0x1234)
        await expectZooKeeperError(.connectionLoss) { _ = try await client.exists("/a") }
        #expect(client.stats.connectionLosses >= 1)
        try await client.close()
    }

    @Test func handshakeWithoutReadOnlyByteIsAccepted() async throws {
        let peer = try await FakePeer(.shortHandshakeThenSilence)
        defer { Task { try await peer.stop() } }
        let client = try await ZooKeeperClient.connect(configuration(peer.connectString))
        #expect(client.sessionId == 0x1234)
        #expect(client.negotiatedTimeout == .seconds(30))
        try await client.close()
    }

    @Test func silentServerTimesRequestOut() async throws {
        let peer = try await FakePeer(.handshakeThenSilence)
        defer { Task { try await peer.stop() } }
        var config = configuration(peer.connectString)
        config.requestTimeout = .milliseconds(300)
        let client = try await ZooKeeperClient.connect(config)
        let start = ContinuousClock.now
        let error = await expectZooKeeperError(.operationTimeout) { _ = try await client.getData("/slow") }
        #expect(error?.path == "/slow")
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(client.stats.outstandingRequests == 1, "the late reply is still expected")
        try await client.close()
    }

    @Test func cancelledRequestReturnsAtOnce() async throws {
        let peer = try await FakePeer(.handshakeThenSilence)
        defer { Task { try await peer.stop() } }
        let client = try await ZooKeeperClient.connect(configuration(peer.connectString))
        let task = Task { try await client.getData("/never") }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("cancelled request succeeded")
        } catch {
            #expect(error is CancellationError, "\(error)")
        }
        #expect(ContinuousClock.now - start < .seconds(1))
        try await client.close()
    }

    @Test func hotPathCompletionReportsTimes() async throws {
        let server = try await TestTarget.realZooKeeper.shared()
        let client = try await connectClient(server)
        let (result, sent, received) = await withCheckedContinuation { continuation in
            client.send(.exists(path: "/", watch: false)) { result, sent, received in
                continuation.resume(returning: (result, sent, received))
            }
        }
        guard case .success(.stat) = result else {
            Issue.record("unexpected \(result)")
            return
        }
        #expect(sent > 0)
        #expect(received >= sent)
        // Invalid input answers through the completion too, without reaching the wire.
        let invalid = await withCheckedContinuation { continuation in
            client.send(.exists(path: "bad", watch: false)) { result, _, _ in continuation.resume(returning: result) }
        }
        guard case .failure(let error) = invalid else {
            Issue.record("invalid path accepted")
            return
        }
        #expect(error.code == .badArguments)
        try await client.close()
    }
}
