import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// The built-in server's SASL DIGEST-MD5 exchange and `--require-auth`, byte by byte over a raw socket
/// (PROTOCOL.md "TLS and SASL": challenge, rspauth, AUTHFAILED with a null token, then close).
@Suite struct ServerSASLWireTests {
    func withSecuredServer<T>(
        requireAuth: Bool = false,
        users: [String: String] = ["bob": "secret"],
        _ body: (ZooKeeperServer) async throws -> T
    ) async throws -> T {
        try await withBuiltInServer(
            security: ServerSecurityConfiguration(saslUsers: users, requireAuthentication: requireAuth),
            body
        )
    }

    /// One GetSASLRequest with xid `xid`; the reply header and the raw body (a SetSASLResponse).
    static func sasl(_ socket: WireSocket, xid: Int32, token: [UInt8]) throws -> (ReplyHeader, [UInt8]?)? {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(0))
        RequestHeader(xid: xid, type: .sasl).encode(into: &buffer)
        GetSASLRequest(token: token).encode(into: &buffer)
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        try socket.send(buffer)
        guard var frame = try socket.readFrame() else { return nil }
        let header = try ReplyHeader(from: &frame)
        return (header, frame.readableBytes == 0 ? [] : try SetSASLResponse(from: &frame).token)
    }

    @Test func digestMD5ExchangeAuthenticatesAsSaslUser() async throws {
        try await withSecuredServer { server in
            let port = server.port
            try await offloaded {
                let socket = try WireSocket(port: port)
                try socket.handshake()
                let (challengeHeader, challengeToken) = try #require(try Self.sasl(socket, xid: 1, token: []))
                #expect(challengeHeader.err == .ok && challengeHeader.zxid == 0)
                let challenge = try DigestMD5Challenge(parsing: try #require(challengeToken))
                #expect(challenge.realms == ["zk-sasl-md5"])
                #expect(challenge.qop == ["auth"])
                #expect(challenge.charset == "utf-8")
                #expect(challenge.algorithm == "md5-sess")

                let exchange = DigestMD5ClientExchange(username: "bob", password: "secret")
                let (response, rspauth) = try exchange.respond(to: try #require(challengeToken))
                let (finalHeader, finalToken) = try #require(try Self.sasl(socket, xid: 2, token: response.token))
                #expect(finalHeader.err == .ok)
                try DigestMD5ClientExchange.verifyFinal(try #require(finalToken), expectedRspauth: rspauth)

                let (_, whoAmI) = try socket.call(.whoAmI)
                guard case .whoAmI(let infos) = whoAmI else {
                    Issue.record("no whoAmI reply: \(String(describing: whoAmI))")
                    return
                }
                #expect(infos.map(\.authScheme) == ["sasl", "ip"])
                #expect(infos.first?.user == "bob")
            }
        }
    }

    @Test(arguments: [("bob", "wrong"), ("nobody", "secret")])
    func wrongCredentialsGetAuthFailedWithNullTokenThenClose(user: String, password: String) async throws {
        try await withSecuredServer { server in
            let port = server.port
            try await offloaded {
                let socket = try WireSocket(port: port)
                try socket.handshake()
                let (_, challengeToken) = try #require(try Self.sasl(socket, xid: 1, token: []))
                let exchange = DigestMD5ClientExchange(username: user, password: password)
                let (response, _) = try exchange.respond(to: try #require(challengeToken))
                let (header, token) = try #require(try Self.sasl(socket, xid: 2, token: response.token))
                #expect(header.xid == 2 && header.zxid == 0 && header.err == .authFailed)
                // ZooKeeper writes SetSASLResponse{null} even on the error (a -1 length), as here.
                #expect(token == nil)
                #expect(try socket.readFrame() == nil, "the connection must close after AUTHFAILED")
            }
        }
    }

    @Test func anInitialResponseIsRefused() async throws {
        try await withSecuredServer { server in
            let port = server.port
            try await offloaded {
                let socket = try WireSocket(port: port)
                try socket.handshake()
                let (header, _) = try #require(try Self.sasl(socket, xid: 1, token: Array("username=\"bob\"".utf8)))
                #expect(header.err == .authFailed)
                #expect(try socket.readFrame() == nil)
            }
        }
    }

    @Test func withoutSaslUsersTheServerAnswersANullToken() async throws {
        try await withBuiltInServer { server in
            let port = server.port
            try await offloaded {
                let socket = try WireSocket(port: port)
                try socket.handshake()
                let (header, token) = try #require(try Self.sasl(socket, xid: 1, token: []))
                #expect(header.err == .ok && token == nil)
                let (exists, _) = try socket.call(.exists(path: "/", watch: false))
                #expect(exists.err == .ok)
            }
        }
    }

    @Test func requireAuthRefusesBeforeSaslAndAllowsAfter() async throws {
        try await withSecuredServer(requireAuth: true) { server in
            let port = server.port
            try await offloaded {
                let refused = try WireSocket(port: port)
                try refused.handshake()
                let (header, _) = try refused.call(.exists(path: "/", watch: false))
                #expect(header.err == .sessionClosedRequireSaslAuth && header.zxid == 0)
                #expect(try refused.readFrame() == nil, "the connection must close after -124")

                let socket = try WireSocket(port: port)
                try socket.handshake()
                let (_, challengeToken) = try #require(try Self.sasl(socket, xid: 1, token: []))
                let (response, _) = try DigestMD5ClientExchange(username: "bob", password: "secret").respond(
                    to: try #require(challengeToken)
                )
                _ = try #require(try Self.sasl(socket, xid: 2, token: response.token))
                let (allowed, _) = try socket.call(.exists(path: "/", watch: false))
                #expect(allowed.err == .ok)
            }
        }
    }
}
