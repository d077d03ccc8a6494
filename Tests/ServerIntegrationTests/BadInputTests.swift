import NIOCore
import TestRandom
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Hostile input closes the offending connection only; the server and other sessions carry on.
@Suite struct BadInputTests {
    private func frame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
    }

    private func handshaken(_ port: Int) throws -> WireSocket {
        let socket = try WireSocket(port: port)
        try socket.handshake()
        return socket
    }

    @Test func badFramesCloseOnlyTheirConnection() async throws {
        try await withBuiltInServer { server in
            let bystander = try handshaken(server.port)
            _ = try bystander.call(.create(CreateRequest(path: "/alive", data: nil), opCode: .create))

            // Garbage before the handshake: a "length" far beyond 1 MiB.
            let garbage = try WireSocket(port: server.port)
            try garbage.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(garbage.isClosedByPeer())

            // A frame over jute.maxbuffer after the handshake.
            let oversize = try handshaken(server.port)
            try oversize.send([0x00, 0x10, 0x00, 0x00] + Array(repeating: 0, count: 64))
            #expect(oversize.isClosedByPeer())

            // A negative length.
            let negative = try handshaken(server.port)
            try negative.send([0xFF, 0xFF, 0xFF, 0xF0])
            #expect(negative.isClosedByPeer())

            // A frame too short for a request header.
            let short = try handshaken(server.port)
            try short.send(frame([0, 0, 0, 1]))
            #expect(short.isClosedByPeer())

            // An unknown opcode: UNIMPLEMENTED, then close.
            let unknown = try handshaken(server.port)
            try unknown.send(frame([0, 0, 0, 9, 0, 0, 0, 77]))
            var reply = try #require(try unknown.readFrame())
            let header = try ReplyHeader(from: &reply)
            #expect(header.xid == 9 && header.err == .unimplemented)
            #expect(unknown.isClosedByPeer())

            // A request before any handshake is read as a broken ConnectRequest.
            let early = try WireSocket(port: server.port)
            var request = ByteBuffer()
            ZooKeeperRequest.getData(path: "/alive", watch: false).encodeFrame(xid: 1, into: &request)
            try early.send(request)
            #expect(early.isClosedByPeer())

            // A truncated frame followed by the peer going away leaves nothing behind.
            let truncated = try handshaken(server.port)
            try truncated.send([0, 0, 0, 100, 1, 2, 3])
            _ = consume truncated

            // An undecodable body is MARSHALLINGERROR and the connection stays usable.
            let sloppy = try handshaken(server.port)
            try sloppy.send(frame([0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 50, 1]))
            var marshalled = try #require(try sloppy.readFrame())
            #expect(try ReplyHeader(from: &marshalled).err == .marshallingError)
            #expect(try sloppy.call(.exists(path: "/alive", watch: false)).0.err == .ok)

            #expect(try bystander.call(.getData(path: "/alive", watch: false)).0.err == .ok)
            #expect(try await FourLetterWordClient.send("ruok", host: "127.0.0.1", port: server.port) == "imok")
        }
    }

    /// Throws at least 100,000 random and mutated frames at the server, then checks that it still
    /// answers and that every connection and session it opened is gone.
    @Test(.timeLimit(.minutes(2))) func fuzzedFramesLeaveNoLeaks() async throws {
        try await withBuiltInServer(tickMs: 100) { server in
            // Blocking sockets run on a Dispatch thread, not on the cooperative pool.
            let port = server.port
            let (framesSent, connections) = try await offloaded { () throws -> (Int, Int) in
                var random = SplitMix64(seed: 0x5EED_2026)
                let templates: [[UInt8]] = Self.requestTemplates()
                var framesSent = 0
                var connections = 0
                let deadline = ContinuousClock.now + .seconds(30)
                while framesSent < 100_000 && ContinuousClock.now < deadline {
                    let socket = try WireSocket(port: port, timeoutSeconds: 2)
                    connections += 1
                    if random.next() % 8 != 0 { try socket.handshake(timeout: 200) }
                    var burst: [UInt8] = []
                    // Mutated bodies keep the connection (MARSHALLINGERROR or a normal error); the burst
                    // ends with one frame from the fatal kinds (garbage, bad length, unknown opcode).
                    for index in 0..<200 {
                        burst += Self.fuzzedFrame(templates: templates, fatal: index == 199, random: &random)
                        framesSent += 1
                    }
                    // The server may close mid-burst; a failed send is expected then.
                    try? socket.send(burst)
                    socket.finishAndDrain()
                }
                return (framesSent, connections)
            }
            #expect(framesSent >= 100_000)

            // The server still serves.
            let survivor = try handshaken(server.port)
            #expect(
                try survivor.call(.create(CreateRequest(path: "/after-fuzz", data: [1]), opCode: .create)).0.err == .ok
            )
            _ = try survivor.call(.closeSession)
            #expect(survivor.isClosedByPeer())

            // Every fuzz connection closes and every fuzz session (≤ 2 s timeout at tick 100) expires.
            var values: [String: String] = [:]
            let settle = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < settle {
                values = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: server.port)
                if values["zk_num_alive_connections"] == "1" && values["zk_global_sessions"] == "0" { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(values["zk_num_alive_connections"] == "1", "connections left after \(connections) fuzz connections")
            #expect(values["zk_global_sessions"] == "0")
            #expect(values["zk_ephemerals_count"] == "0")
            // Most frames reached the request processor rather than dying with their connection.
            let processed = Int(values["zk_packets_received"] ?? "0") ?? 0
            #expect(processed > 50_000, "only \(processed) packets processed")
            print("fuzz: \(framesSent) frames on \(connections) connections, \(processed) packets processed")
        }
    }

    /// Valid request frames (with length prefix) to mutate.
    static func requestTemplates() -> [[UInt8]] {
        let requests: [ZooKeeperRequest] = [
            .create(CreateRequest(path: "/f", data: [1, 2, 3]), opCode: .create),
            .create(CreateRequest(path: "/f/s-", data: nil, mode: .ephemeralSequential), opCode: .create2),
            .create(CreateRequest(path: "/t", data: nil, mode: .persistentWithTTL, ttl: 50), opCode: .createTTL),
            .create(CreateRequest(path: "/c", data: nil), opCode: .createContainer),
            .delete(path: "/f", version: -1),
            .exists(path: "/f", watch: true),
            .getData(path: "/f", watch: true),
            .setData(path: "/f", data: [9], version: -1),
            .getChildren2(path: "/", watch: true),
            .getACL(path: "/f"),
            .setACL(path: "/f", acl: ACL.openUnsafe, version: -1),
            .sync(path: "/"),
            .multi([.create(CreateRequest(path: "/m", data: nil), opCode: .create), .delete(path: "/m", version: -1)]),
            .multiRead([.getData(path: "/f"), .getChildren(path: "/")]),
            .addWatch(path: "/", mode: .persistentRecursive),
            .removeWatches(path: "/f", type: .any),
            .setWatches2(SetWatches2Request(relativeZxid: 0, dataWatches: ["/f"], childWatches: ["/"])),
            .getEphemerals(prefixPath: "/"),
            .getAllChildrenNumber(path: "/"),
            .whoAmI,
            .ping,
        ]
        return requests.map { request in
            var buffer = ByteBuffer()
            request.encodeFrame(xid: 1, into: &buffer)
            return Array(buffer.readableBytesView)
        }
    }

    static func fuzzedFrame(templates: [[UInt8]], fatal: Bool, random: inout SplitMix64) -> [UInt8] {
        var bytes = templates[Int(random.next() % UInt64(templates.count))]
        switch fatal ? random.next() % 2 : 2 + random.next() % 8 {
        case 0:
            // Pure garbage with a plausible length prefix.
            let n = Int(random.next() % 64)
            return [0, 0, 0, UInt8(n)] + (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 1:
            // A random opcode on a valid body.
            let op = Int32(truncatingIfNeeded: random.next() % 130) - 12
            bytes[8] = UInt8(truncatingIfNeeded: op >> 24)
            bytes[9] = UInt8(truncatingIfNeeded: op >> 16)
            bytes[10] = UInt8(truncatingIfNeeded: op >> 8)
            bytes[11] = UInt8(truncatingIfNeeded: op)
            return bytes
        case 2:
            // Truncate the body but keep the frame self-consistent.
            let keep = 8 + Int(random.next() % UInt64(max(1, bytes.count - 12)))
            let n = UInt32(keep)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
                + bytes[4..<(4 + keep)]
        default:
            // Flip a few bytes past the header (lengths, counts, flags, strings).
            for _ in 0..<(1 + Int(random.next() % 3)) where bytes.count > 12 {
                let index = 12 + Int(random.next() % UInt64(bytes.count - 12))
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            }
            return bytes
        }
    }
}
