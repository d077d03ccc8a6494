import Foundation
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// SASL DIGEST-MD5, `--require-auth` and the x509 id as request application decides them: no socket,
/// no lock. Each test feeds `RequestApplier` the decoded request and checks the outcome value and what
/// the connection's `ConnectionAuth` holds afterwards.
@Suite struct AuthenticationApplicationTests {
    static let nonce = "fixed-nonce-for-the-test"
    static let ip = Id(scheme: "ip", id: "127.0.0.1")

    static func applier(users: [String: String] = ["bob": "secret"], requireAuth: Bool = false) -> RequestApplier {
        var policy = AuthenticationPolicy()
        policy.saslUsers = users
        policy.requireAuthentication = requireAuth
        var applier = RequestApplier(
            tickMs: 100,
            wallClockMs: 1_700_000_000_000,
            maxSessions: 10,
            authentication: policy
        )
        applier.makeSASLNonce = { Self.nonce }
        return applier
    }

    static func apply(
        _ request: ZooKeeperRequest,
        _ applier: inout RequestApplier,
        _ auth: inout ConnectionAuth
    ) -> RequestOutcome {
        var triggers = WatchTriggers()
        let outcome = applier.apply(request, session: 0, watcher: 1, auth: &auth, time: 0, triggers: &triggers)
        #expect(triggers.isEmpty)
        return outcome
    }

    /// The token of a successful `.sasl` response, or nil.
    static func token(_ outcome: RequestOutcome) -> [UInt8]? {
        guard case .response(.sasl(let token)) = outcome.reply else { return nil }
        return token
    }

    @Test func digestMD5ExchangeAddsTheSaslIdBeforeTheIpId() throws {
        var applier = Self.applier()
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        let challengeOutcome = Self.apply(.sasl(token: []), &applier, &auth)
        #expect(challengeOutcome.zxid == 0 && challengeOutcome.errorCode == .ok && !challengeOutcome.closeConnection)
        let challengeToken = try #require(Self.token(challengeOutcome))
        #expect(try DigestMD5Challenge(parsing: challengeToken).nonce == Self.nonce)
        guard case .challenged = auth.sasl else {
            Issue.record("no exchange kept after the challenge: \(auth.sasl)")
            return
        }

        let (response, rspauth) = try DigestMD5ClientExchange(username: "bob", password: "secret")
            .respond(to: challengeToken)
        let finalOutcome = Self.apply(.sasl(token: response.token), &applier, &auth)
        #expect(finalOutcome.zxid == 0 && finalOutcome.errorCode == .ok && !finalOutcome.closeConnection)
        try DigestMD5ClientExchange.verifyFinal(try #require(Self.token(finalOutcome)), expectedRspauth: rspauth)
        #expect(auth.sasl == .done(user: "bob"))
        #expect(auth.identities == [Id(scheme: "sasl", id: "bob"), Self.ip])

        // A token after the exchange finished: OK with a null token, nothing else changes.
        #expect(Self.apply(.sasl(token: []), &applier, &auth) == .response(.sasl(token: nil), zxid: 0))
        #expect(auth.identities == [Id(scheme: "sasl", id: "bob"), Self.ip])
    }

    @Test(arguments: [("bob", "wrong"), ("nobody", "secret")])
    func wrongCredentialsFailWithANullTokenAndClose(user: String, password: String) throws {
        var applier = Self.applier()
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        let challengeToken = try #require(Self.token(Self.apply(.sasl(token: []), &applier, &auth)))
        let (response, _) = try DigestMD5ClientExchange(username: user, password: password)
            .respond(to: challengeToken)
        let outcome = Self.apply(.sasl(token: response.token), &applier, &auth)
        #expect(
            outcome == RequestOutcome(reply: .failure(.authFailed, .sasl(token: nil)), zxid: 0, closeConnection: true)
        )
        #expect(auth.identities == [Self.ip])
        guard case .failed = auth.sasl else {
            Issue.record("the exchange is not marked failed: \(auth.sasl)")
            return
        }
    }

    @Test func anInitialResponseFails() {
        var applier = Self.applier()
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        let outcome = Self.apply(.sasl(token: Array("username=\"bob\"".utf8)), &applier, &auth)
        #expect(outcome.errorCode == .authFailed && outcome.closeConnection)
        #expect(auth.identities == [Self.ip])
    }

    @Test func withoutSaslUsersTheAnswerIsANullToken() {
        var applier = Self.applier(users: [:])
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        #expect(Self.apply(.sasl(token: []), &applier, &auth) == .response(.sasl(token: nil), zxid: 0))
        #expect(auth.sasl == .idle && auth.identities == [Self.ip])
    }

    @Test func requireAuthRefusesAllButAuthAndSaslUntilASaslOrX509Id() {
        let applier = Self.applier(requireAuth: true)
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        let refused = RequestOutcome.error(.sessionClosedRequireSaslAuth, zxid: 0, closeConnection: true)
        #expect(applier.refusal(of: .exists, auth: auth) == refused)
        #expect(applier.refusal(of: .ping, auth: auth) == refused)
        #expect(applier.refusal(of: .sasl, auth: auth) == nil)
        #expect(applier.refusal(of: .auth, auth: auth) == nil)
        // digest is not one of the enforced schemes (sasl, x509 by default).
        auth.add(Id(scheme: "digest", id: "bob:hash"))
        #expect(applier.refusal(of: .exists, auth: auth) == refused)
        auth.add(Id(scheme: "x509", id: "CN=client"))
        #expect(applier.refusal(of: .exists, auth: auth) == nil)

        let open = Self.applier(requireAuth: false)
        #expect(open.refusal(of: .exists, auth: ConnectionAuth(remoteHost: "127.0.0.1")) == nil)
    }

    @Test func aClientCertificateAddsTheX509IdBeforeTheIpId() throws {
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
        let der = try #require(Data(base64Encoded: ServerSecurityUnitTests.clientCertificateBase64))
        let identity = auth.addCertificate(derEncoded: Array(der))
        let expected = Id(scheme: "x509", id: ServerSecurityUnitTests.subjectSeenFromZooKeeper)
        #expect(identity == expected)
        #expect(auth.identities == [expected, Self.ip])
        #expect(auth.addCertificate(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x01]) == nil)
        #expect(auth.identities == [expected, Self.ip])
    }
}
