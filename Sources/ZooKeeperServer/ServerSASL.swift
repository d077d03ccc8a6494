import Logging
import NIOCore
import ZooKeeperProtocol

/// Where a connection's SASL exchange stands (`ServerCnxn.zooKeeperSaslServer`).
enum ServerSASLState {
    /// No token yet: the next one must be empty, and gets the challenge.
    case idle
    /// The challenge went out; the next token is the client's response.
    case challenged(DigestMD5ServerExchange)
    /// Authenticated (the id `sasl:<user>` is on the connection).
    case done
}

/// SASL DIGEST-MD5 on opcode 102 and enforced authentication, as ZooKeeper 3.8's
/// `ZooKeeperServer.processSasl` and `AuthenticationHelper.enforceAuthentication` do them.
/// Runs under `ServerCore.lock`.
extension ServerCore {
    /// One GetSASLRequest. Without SASL users it answers as a server without a JAAS section does: OK
    /// with a null token (seen). With users: the empty first token gets the challenge, the response
    /// gets `rspauth` and the id `sasl:<user>`; anything wrong gets err -115 AUTHFAILED with a null
    /// token, and the connection closes (`sendCloseSession`).
    func processSASL(token: [UInt8]?, xid: Int32, connection: ServerConnection) {
        connection.lastOperation = "SASL"
        guard configuration.security.saslEnabled else {
            return reply(to: connection, xid: xid, zxid: 0) { $0.writeJuteBuffer(nil as [UInt8]?) }
        }
        let bytes = token ?? []
        switch connection.sasl {
        case .idle:
            // DIGEST-MD5 has no initial response (RFC 2831 2.1): the first token must be empty.
            guard bytes.isEmpty else { return failSASL(xid: xid, connection: connection, reason: "initial response") }
            let exchange = DigestMD5ServerExchange()
            connection.sasl = .challenged(exchange)
            reply(to: connection, xid: xid, zxid: 0) { $0.writeJuteBuffer(exchange.challengeToken) }
        case .challenged(let exchange):
            let users = configuration.security.saslUsers
            do {
                let (user, finalToken) = try exchange.verify(responseToken: bytes) { users[$0] }
                connection.sasl = .done
                addIdentity(Id(scheme: "sasl", id: user), to: connection)
                logger.debug(
                    "SASL authenticated",
                    metadata: ["user": "\(user)", "session": "0x\(String(connection.sessionID, radix: 16))"])
                reply(to: connection, xid: xid, zxid: 0) { $0.writeJuteBuffer(finalToken) }
            } catch {
                failSASL(xid: xid, connection: connection, reason: error.description)
            }
        case .done:
            // A finished exchange: the Java SaslServer returns nothing more.
            reply(to: connection, xid: xid, zxid: 0) { $0.writeJuteBuffer(nil as [UInt8]?) }
        }
    }

    /// err -115 with a SetSASLResponse{null} body (ZooKeeper writes the record even on error), then close.
    private func failSASL(xid: Int32, connection: ServerConnection, reason: String) {
        counters.authFailures += 1
        logger.debug(
            "SASL authentication failed",
            metadata: ["reason": "\(reason)", "remote": "\(connection.remoteHost):\(connection.remotePort)"])
        connection.sasl = .idle
        deliverChanges()
        writeFrame(to: connection) { buffer in
            ReplyHeader(xid: xid, zxid: 0, err: .authFailed).encode(into: &buffer)
            buffer.writeJuteBuffer(nil as [UInt8]?)
        }
        connection.closeAfterFlush = true
    }

    /// With `requireAuthentication`, a request other than `auth` or `sasl` on a connection without an
    /// id of a required scheme gets err -124 SESSIONCLOSEDREQUIRESASLAUTH and the connection closes
    /// (the session stays until it expires, as in ZooKeeper). Returns whether it refused.
    func refusesUnauthenticated(_ header: RequestHeader, connection: ServerConnection) -> Bool {
        let security = configuration.security
        guard security.requireAuthentication, header.type != .auth, header.type != .sasl else { return false }
        if connection.identities.contains(where: { security.requiredAuthSchemes.contains($0.scheme) }) { return false }
        counters.authFailures += 1
        logger.debug(
            "refusing request before authentication",
            metadata: ["op": "\(header.type)", "remote": "\(connection.remoteHost):\(connection.remotePort)"])
        reply(to: connection, xid: header.xid, zxid: 0, error: .sessionClosedRequireSaslAuth)
        connection.closeAfterFlush = true
        return true
    }
}
