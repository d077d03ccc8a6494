import Foundation
import Logging
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// kazoo (legacy `auth_data` SASL, pure-sasl DIGEST-MD5, TLS with a client certificate) and the Java
/// CLI over TLS+SASL, against the built-in server and against ZooKeeper 3.8 configured the same way
/// (Netty, PEM, `ssl.clientAuth=need`, JAAS DigestLoginModule): the same script, the same outcome.
@Suite(.serialized) struct SecureThirdPartyClientTests {
    static let users = ["bob": "secret"]
    /// The client certificate's subject, with the characters RFC 2253 escapes (first RDN first, as
    /// `openssl -subj` takes it).
    static let clientSubject = "/C=DE/O=zkstorm, tests/OU=load+UID=gen 42/CN=kazoo client #1"
    /// That subject as ZooKeeper's x509 provider names it.
    static let clientX509Id = ##"CN=kazoo client \#1,OU=load+UID=gen 42,O=zkstorm\, tests,C=DE"##

    /// One server under test: its plaintext and TLS ports.
    struct Target: Sendable {
        var name: String
        var port: Int
        var securePort: Int
    }

    /// Runs `body` against the built-in server, then against real ZooKeeper, both secured alike.
    func withBothTargets(
        requireAuth: Bool = false,
        clientAuth: ServerTLSConfiguration.ClientAuth = .need,
        _ body: (Target, TestCertificates) async throws -> Void
    ) async throws {
        let pki = try TestCertificates.make(serverIPAddress: true, clientSubject: Self.clientSubject)
        defer { pki.remove() }
        let security = ServerSecurityConfiguration(
            tls: try pki.serverTLS(clientAuth: clientAuth),
            saslUsers: Self.users,
            requireAuthentication: requireAuth
        )
        try await withBuiltInServer(security: security) { server in
            let securePort = try #require(server.securePort)
            try await body(Target(name: "built-in", port: server.port, securePort: securePort), pki)
        }
        let real = try await RealZooKeeper.start(
            secure: SecureZooKeeperSettings(
                certificates: pki,
                clientAuth: clientAuth.rawValue,
                saslUsers: Self.users,
                extraConfiguration: requireAuth ? "enforce.auth.enabled=true\nenforce.auth.schemes=sasl,x509" : ""
            )
        )
        do {
            try await body(Target(name: "ZooKeeper 3.8", port: real.port, securePort: real.securePort), pki)
            try await real.destroy()
        } catch {
            try? await real.destroy()
            throw error
        }
    }

    static let kazooScript = #"""
        import json, sys, time, warnings
        warnings.simplefilter('ignore')
        from kazoo.client import KazooClient
        from kazoo.security import make_acl
        from kazoo.exceptions import AuthFailedError, NoAuthError
        a = json.loads(sys.argv[1])
        kw = {}
        if a.get('legacy'): kw['auth_data'] = [('sasl', a['user'] + ':' + a['password'])]
        if a.get('puresasl'):
            kw['sasl_options'] = {'mechanism': 'DIGEST-MD5', 'username': a['user'], 'password': a['password']}
        port = a['port']
        if a.get('tls'):
            port = a['securePort']
            kw.update(use_ssl=True, verify_certs=True, ca=a['ca'], certfile=a.get('cert'), keyfile=a.get('key'))
        zk = KazooClient(hosts='127.0.0.1:%d' % port, timeout=10, **kw)
        t0 = time.monotonic()
        try:
            zk.start(timeout=a.get('startTimeout', 10))
            path = '/secured-%d' % time.time_ns()
            zk.create(path, b'x', acl=[make_acl(a['aclScheme'], a['aclId'], all=True)])
            assert zk.get(path)[0] == b'x'
            stranger = KazooClient(hosts='127.0.0.1:%d' % a['port'], timeout=10)
            stranger.start(timeout=10)
            try:
                stranger.get(path); denied = False
            except NoAuthError:
                denied = True
            except Exception as e:
                denied = type(e).__name__
            stranger.stop(); stranger.close()
            zk.delete(path)
            print('RESULT ok %.3f denied=%s' % (time.monotonic() - t0, denied))
        except AuthFailedError:
            print('RESULT authfailed %.3f' % (time.monotonic() - t0))
        except Exception as e:
            print('RESULT %s %.3f' % (type(e).__name__, time.monotonic() - t0))
        finally:
            zk.stop(); zk.close()
        """#

    /// Runs the kazoo script; returns the outcome word, seconds to it, and the whole output.
    func kazoo(_ arguments: [String: any Sendable]) async throws -> (outcome: String, seconds: Double, output: String) {
        let probe = try await ExternalProcess.run("/usr/bin/env", ["python3", "-c", "import kazoo, puresasl"])
        try #require(
            probe.status == 0,
            "kazoo or pure-sasl is missing (\(probe.output)): run scripts/install-deps"
        )
        let script = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-kazoo-\(UUID().uuidString).py"
        )
        try Self.kazooScript.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: arguments), as: UTF8.self)
        let result = try await ExternalProcess.run(
            "/usr/bin/env",
            ["python3", script.path, json],
            timeout: .seconds(60)
        )
        guard let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else {
            return ("no result", 0, result.output)
        }
        let words = line.split(separator: " ")
        let outcome = words[1] == "ok" ? "ok " + (words.count > 3 ? String(words[3]) : "") : String(words[1])
        return (outcome, Double(words[2]) ?? 0, result.output)
    }

    @Test func kazooSASLBothPathsValidAndInvalidCredentials() async throws {
        try await withBothTargets { target, _ in
            for path in ["legacy", "puresasl"] {
                let base: [String: any Sendable] = [
                    "port": target.port, path: true, "user": "bob", "aclScheme": "sasl", "aclId": "bob",
                ]
                var valid = base
                valid["password"] = "secret"
                let ok = try await kazoo(valid)
                #expect(ok.outcome == "ok denied=True", "\(target.name) \(path) valid: \(ok.output)")
                var wrong = base
                wrong["password"] = "wrong"
                let refused = try await kazoo(wrong)
                #expect(refused.outcome == "authfailed", "\(target.name) \(path) wrong password: \(refused.output)")
                // Refused at once, not retried until the 10 s start timeout.
                #expect(refused.seconds < 3, "\(target.name) \(path): refusal took \(refused.seconds) s")
                print(
                    "kazoo \(path) on \(target.name): valid \(ok.seconds) s, wrong password refused in \(refused.seconds) s"
                )
            }
        }
    }

    @Test func kazooOverTLSWithClientCertificate() async throws {
        try await withBothTargets { target, pki in
            let tls: [String: any Sendable] = [
                "port": target.port, "securePort": target.securePort, "tls": true, "ca": pki.caCertificate,
            ]
            // The client certificate's x509 id guards the znode: this proves the DN matches ZooKeeper's form.
            var withCertificate = tls
            withCertificate["cert"] = pki.clientCertificate
            withCertificate["key"] = pki.clientKey
            withCertificate["aclScheme"] = "x509"
            withCertificate["aclId"] = Self.clientX509Id
            let ok = try await kazoo(withCertificate)
            #expect(ok.outcome == "ok denied=True", "\(target.name) TLS with client certificate: \(ok.output)")

            // TLS, certificate and pure-sasl together: the znode's sasl ACL admits it.
            var both = withCertificate
            both["puresasl"] = true
            both["user"] = "bob"
            both["password"] = "secret"
            both["aclScheme"] = "sasl"
            both["aclId"] = "bob"
            let saslOverTLS = try await kazoo(both)
            #expect(saslOverTLS.outcome == "ok denied=True", "\(target.name) TLS+SASL: \(saslOverTLS.output)")

            // ssl.clientAuth=need: no certificate, or one from another CA, never gets a session.
            var without = tls
            without["startTimeout"] = 3
            without["aclScheme"] = "world"
            without["aclId"] = "anyone"
            let refused = try await kazoo(without)
            #expect(
                refused.outcome != "ok denied=False" && !refused.outcome.hasPrefix("ok"),
                "\(target.name): \(refused.output)"
            )
            var stranger = without
            stranger["cert"] = pki.strangerCertificate
            stranger["key"] = pki.strangerKey
            let untrusted = try await kazoo(stranger)
            #expect(!untrusted.outcome.hasPrefix("ok"), "\(target.name) untrusted client CA: \(untrusted.output)")
            print(
                "kazoo TLS on \(target.name): with certificate \(ok.seconds) s; without: \(refused.outcome) after "
                    + "\(refused.seconds) s; other CA: \(untrusted.outcome) after \(untrusted.seconds) s"
            )
        }
    }

    @Test func javaClientOverTLSAndSASL() async throws {
        var answers: [String: [String]] = [:]
        try await withBothTargets { target, pki in
            let jaas = pki.path("jaas-client.conf")
            try """
            Client {
              org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="secret";
            };

            """.write(toFile: jaas, atomically: true, encoding: .utf8)
            let result = try await ExternalProcess.run(
                "/usr/bin/java",
                [
                    "-Djava.security.auth.login.config=\(jaas)", "-Dzookeeper.client.secure=true",
                    "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
                    "-Dzookeeper.ssl.keyStore.location=\(pki.clientKeyStore)", "-Dzookeeper.ssl.keyStore.type=PEM",
                    "-Dzookeeper.ssl.trustStore.location=\(pki.caCertificate)", "-Dzookeeper.ssl.trustStore.type=PEM",
                    "-cp", RealZooKeeper.secureClasspath, "org.apache.zookeeper.ZooKeeperMain",
                    "-server", "127.0.0.1:\(target.securePort)",
                ],
                input: "whoami\ncreate /java-tls hello\nget /java-tls\ndelete /java-tls\nquit\n",
                timeout: .seconds(90)
            )
            let out = result.output
            #expect(out.contains("SaslAuthenticated"), "\(target.name): \(out)")
            #expect(out.contains("hello\n"), "\(target.name): \(out)")
            let ids = out.split(separator: "\n").filter {
                $0.hasPrefix("x509: ") || $0.hasPrefix("sasl: ") || $0.hasPrefix("ip: ")
            }.map(String.init)
            // ZooKeeper keeps a connection's ids in a hash set: compare them without their order.
            #expect(
                ids.sorted() == ["ip: 127.0.0.1", "sasl: bob", "x509: \(Self.clientX509Id)"],
                "\(target.name): \(out)"
            )
            answers[target.name] = ids.sorted()
        }
        #expect(answers["built-in"] == answers["ZooKeeper 3.8"])
    }

    @Test func requireAuthRefusesUnauthenticatedRequestsAsEnforceAuthDoes() async throws {
        try await withBothTargets(requireAuth: true) { target, _ in
            let anonymous = try await kazoo(["port": target.port, "aclScheme": "world", "aclId": "anyone"])
            #expect(anonymous.outcome == "SessionClosedRequireSaslError", "\(target.name): \(anonymous.output)")
            // Authenticated: allowed; the stranger on the plaintext port is refused with -124, not NOAUTH.
            let authenticated = try await kazoo([
                "port": target.port, "puresasl": true, "user": "bob", "password": "secret", "aclScheme": "sasl",
                "aclId": "bob",
            ])
            #expect(
                authenticated.outcome == "ok denied=SessionClosedRequireSaslError",
                "\(target.name): \(authenticated.output)"
            )
        }
    }

    @Test func clientAuthWantAcceptsWithoutCertificateAndAuthenticatesWithOne() async throws {
        try await withBothTargets(clientAuth: .want) { target, pki in
            let tls: [String: any Sendable] = [
                "port": target.port, "securePort": target.securePort, "tls": true, "ca": pki.caCertificate,
            ]
            var anonymous = tls
            anonymous["aclScheme"] = "world"
            anonymous["aclId"] = "anyone"
            let withoutCertificate = try await kazoo(anonymous)
            #expect(withoutCertificate.outcome == "ok denied=False", "\(target.name): \(withoutCertificate.output)")
            var withCertificate = tls
            withCertificate["cert"] = pki.clientCertificate
            withCertificate["key"] = pki.clientKey
            withCertificate["aclScheme"] = "x509"
            withCertificate["aclId"] = Self.clientX509Id
            let authenticated = try await kazoo(withCertificate)
            #expect(authenticated.outcome == "ok denied=True", "\(target.name): \(authenticated.output)")
        }
    }
}
