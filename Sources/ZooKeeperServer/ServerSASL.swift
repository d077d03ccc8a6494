import ZooKeeperProtocol

/// Where a connection's SASL exchange stands (`ServerCnxn.zooKeeperSaslServer`); kept in `ConnectionAuth`.
enum ServerSASLState: Equatable {
    /// No token yet: the next one must be empty, and gets the challenge.
    case idle
    /// The challenge went out; the next token is the client's response.
    case challenged(DigestMD5ServerExchange)
    /// Authenticated (the id `sasl:<user>` is on the connection).
    case done(user: String)
    /// The exchange failed (the connection closes after the AUTHFAILED reply); `reason` is for the log.
    case failed(reason: String)
}

/// What request application needs of ``ServerSecurityConfiguration``: the SASL users and enforced
/// authentication (the TLS listener is the server's business, not the applier's).
struct AuthenticationPolicy: Equatable, Sendable {
    /// SASL DIGEST-MD5 users (name → password); empty: no SASL server.
    var saslUsers: [String: String] = [:]
    /// `enforce.auth.enabled`.
    var requireAuthentication = false
    /// `enforce.auth.schemes`.
    var requiredAuthSchemes: Set<String> = ["sasl", "x509"]
    /// Whether a TLS listener serves client certificates (ZooKeeper registers its x509 provider then).
    var tlsEnabled = false

    init() {}

    init(_ security: ServerSecurityConfiguration) {
        saslUsers = security.saslUsers
        requireAuthentication = security.requireAuthentication
        requiredAuthSchemes = security.requiredAuthSchemes
        tlsEnabled = security.tls != nil
    }

    /// The ACL schemes beyond ip and digest that have a provider: `sasl` with SASL users, `x509` with TLS.
    var secureACLSchemes: Set<String> {
        var schemes: Set<String> = []
        if saslEnabled { schemes.insert("sasl") }
        if tlsEnabled { schemes.insert("x509") }
        return schemes
    }

    /// Whether a SASL server answers opcode 102.
    var saslEnabled: Bool { !saslUsers.isEmpty }
}

/// SASL DIGEST-MD5 on opcode 102 and enforced authentication, as ZooKeeper 3.8's
/// `ZooKeeperServer.processSasl` and `AuthenticationHelper.enforceAuthentication` decide them. Pure:
/// the state lives in `ConnectionAuth`, the reply in the returned outcome; `ServerCore` sends it.
extension RequestApplier {
    /// One GetSASLRequest. Without SASL users it answers as a server without a JAAS section does: OK
    /// with a null token (seen). With users: the empty first token gets the challenge, the response
    /// gets `rspauth` and the id `sasl:<user>`; anything wrong gets err -115 AUTHFAILED with a null
    /// token, and the connection closes (`sendCloseSession`). SASL replies carry zxid 0, as ZooKeeper
    /// answers them outside the request pipeline.
    mutating func applySASL(token: [UInt8]?, auth: inout ConnectionAuth) -> RequestOutcome {
        guard authentication.saslEnabled else { return .response(.sasl(token: nil), zxid: 0) }
        let bytes = token ?? []
        switch auth.sasl {
        case .idle:
            // DIGEST-MD5 has no initial response (RFC 2831 2.1): the first token must be empty.
            guard bytes.isEmpty else { return failSASL(auth: &auth, reason: "a non-empty initial response") }
            let exchange = DigestMD5ServerExchange(nonce: makeSASLNonce())
            auth.sasl = .challenged(exchange)
            return .response(.sasl(token: exchange.challengeToken), zxid: 0)
        case .challenged(let exchange):
            let users = authentication.saslUsers
            do {
                let (user, finalToken) = try exchange.verify(responseToken: bytes) { users[$0] }
                auth.sasl = .done(user: user)
                auth.add(Id(scheme: "sasl", id: user))
                return .response(.sasl(token: finalToken), zxid: 0)
            } catch {
                return failSASL(auth: &auth, reason: error.description)
            }
        case .done:
            // A finished exchange: the Java SaslServer returns nothing more.
            return .response(.sasl(token: nil), zxid: 0)
        case .failed:
            return failSASL(auth: &auth, reason: "a token after a failed exchange")
        }
    }

    /// err -115 with a SetSASLResponse{null} body (ZooKeeper writes the record even on error), then close.
    private func failSASL(auth: inout ConnectionAuth, reason: String) -> RequestOutcome {
        auth.sasl = .failed(reason: reason)
        return RequestOutcome(reply: .failure(.authFailed, .sasl(token: nil)), zxid: 0, closeConnection: true)
    }

    /// With `requireAuthentication`, a request other than `auth` or `sasl` on a connection without an
    /// id of a required scheme is refused: err -124 SESSIONCLOSEDREQUIRESASLAUTH (zxid 0), and the
    /// connection closes (the session stays until it expires, as in ZooKeeper). Nil: the request goes on.
    func refusal(of opCode: OpCode, auth: ConnectionAuth) -> RequestOutcome? {
        guard authentication.requireAuthentication, opCode != .auth, opCode != .sasl,
            !auth.isAuthenticated(bySchemeIn: authentication.requiredAuthSchemes)
        else { return nil }
        return .error(.sessionClosedRequireSaslAuth, zxid: 0, closeConnection: true)
    }
}
