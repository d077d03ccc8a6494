import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperProtocol

@testable import StormEngine

// Pure unit tests (no socket, no process): the workload `target:` section, precedence of flags over the
// environment over the file, password sources, and the ACL a secured run gives its znodes.
@Suite("Target security: workload section, precedence, passwords, run ACL")
struct TargetSecurityTests {
    static let body = """
        groups:
          - ops: {get: 1}
            load: {model: closed, concurrency: 1, window: 1}
        """

    @Test func targetSectionParses() throws {
        let workload = try WorkloadParser.parse(
            """
            target:
              hosts: zk1:2281,zk2:2281/app
              tls: {ca: ca.pem, cert: c.pem, key: c.key, server_name: zk.example, insecure: false}
              sasl: {user: bob, password_file: bob.pw}
              digest: {user: alice}
            \(Self.body)
            """,
            file: "w.yaml"
        )
        #expect(workload.target == "zk1:2281,zk2:2281/app")
        #expect(
            workload.security
                == TargetSecurity(
                    tlsCA: "ca.pem",
                    tlsCert: "c.pem",
                    tlsKey: "c.key",
                    tlsServerName: "zk.example",
                    tlsInsecure: false,
                    saslUser: "bob",
                    saslPasswordFile: "bob.pw",
                    digestUser: "alice"
                )
        )
        // The plain string form still works.
        #expect(try WorkloadParser.parse("target: zk:2181\n" + Self.body, file: "w.yaml").target == "zk:2181")
    }

    /// Files a workload names are relative to the workload file's directory, not the current one;
    /// absolute paths and presets stay as written.
    @Test func targetFilesAreRelativeToTheWorkloadFile() throws {
        let text = """
            target:
              hosts: zk:2281
              tls: {ca: pki/ca.pem, cert: /etc/zk/c.pem, key: ../keys/c.key}
              sasl: {user: bob, password_file: bob.pw}
              digest: {user: alice, password_file: secrets/alice.pw}
            \(Self.body)
            """
        let security = try WorkloadParser.parse(text, file: "/srv/loads/w.yaml").security
        #expect(security.tlsCA == "/srv/loads/pki/ca.pem")
        #expect(security.tlsCert == "/etc/zk/c.pem")
        #expect(security.tlsKey == "/srv/loads/../keys/c.key")
        #expect(security.saslPasswordFile == "/srv/loads/bob.pw")
        #expect(security.digestPasswordFile == "/srv/loads/secrets/alice.pw")
        #expect(try WorkloadParser.parse(text, file: "loads/w.yaml").security.tlsCA == "loads/pki/ca.pem")
        // A workload in the current directory, and a preset, keep the paths as written.
        #expect(try WorkloadParser.parse(text, file: "w.yaml").security.tlsCA == "pki/ca.pem")
        #expect(WorkloadRelativePath.resolve("ca.pem", againstFile: "preset:read-heavy") == "ca.pem")
    }

    @Test func aPasswordInTheFileIsRefusedWithItsPlace() {
        let error = #expect(throws: WorkloadError.self) {
            _ = try WorkloadParser.parse(
                """
                target:
                  hosts: zk:2281
                  sasl: {user: bob, password: secret}
                \(Self.body)
                """,
                file: "w.yaml"
            )
        }
        #expect(error?.line == 3, "\(String(describing: error))")
        #expect(error?.field == "target.sasl.password", "\(String(describing: error))")
        #expect(error?.message.contains("password_file") == true, "\(String(describing: error))")
    }

    @Test func certificateWithoutKeyAndTLSWithoutCAAreRefused() {
        let noKey = #expect(throws: WorkloadError.self) {
            _ = try WorkloadParser.parse(
                "target:\n  hosts: zk:2281\n  tls: {ca: ca.pem, cert: c.pem}\n" + Self.body,
                file: "w.yaml"
            )
        }
        #expect(noKey?.line == 3 && noKey?.message.contains("key") == true, "\(String(describing: noKey))")
        let nothing = #expect(throws: WorkloadError.self) {
            _ = try WorkloadParser.parse(
                "target:\n  hosts: zk:2281\n  tls: {server_name: x}\n" + Self.body,
                file: "w.yaml"
            )
        }
        #expect(nothing?.field == "target.tls", "\(String(describing: nothing))")
        let noUser = #expect(throws: WorkloadError.self) {
            _ = try WorkloadParser.parse(
                "target:\n  sasl: {password_file: p}\n" + Self.body,
                file: "w.yaml"
            )
        }
        #expect(noUser?.field == "target.sasl.user", "\(String(describing: noUser))")
    }

    @Test func flagsOverrideEnvironmentOverrideFile() {
        let file = TargetSecurity(tlsCA: "file-ca", saslUser: "file-user", saslPasswordFile: "file-pw")
        let environment = TargetSecurity.fromEnvironment([
            "ZKSTORM_TLS_CA": "env-ca", "ZKSTORM_SASL_USER": "env-user", "ZKSTORM_TLS_INSECURE": "1",
            "ZKSTORM_DIGEST_USER": "",
        ])
        #expect(environment.tlsInsecure == true && environment.digestUser == nil)
        let flags = TargetSecurity(saslUser: "flag-user")
        let merged = file.overridden(by: environment).overridden(by: flags)
        #expect(merged.tlsCA == "env-ca")
        #expect(merged.saslUser == "flag-user")
        #expect(merged.saslPasswordFile == "file-pw")
        #expect(merged.usesTLS)
        #expect(!TargetSecurity(saslUser: "u").usesTLS)
        #expect(TargetSecurity(tlsCert: "c").usesTLS)
    }

    @Test func passwordsComeFromAFileOrTheEnvironmentOnly() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-pw-\(UUID().uuidString)")
        try "s3cret\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try TargetSecurity(saslUser: "bob", saslPasswordFile: file.path).resolve(environment: [:])
        #expect(fromFile.sasl?.password == "s3cret")
        let fromEnv = try TargetSecurity(digestUser: "alice").resolve(environment: ["ZKSTORM_DIGEST_PASSWORD": "pw"])
        #expect(fromEnv.digest?.password == "pw")
        let missing = #expect(throws: RunError.self) {
            _ = try TargetSecurity(saslUser: "bob").resolve(environment: [:])
        }
        #expect(missing?.exitCode == 64)
        let unreadable = #expect(throws: RunError.self) {
            _ = try TargetSecurity(saslUser: "bob", saslPasswordFile: "/nonexistent/pw").resolve(environment: [:])
        }
        #expect(unreadable?.exitCode == 66 && unreadable?.message.contains("/nonexistent/pw") == true)
        let noCA = #expect(throws: RunError.self) {
            _ = try TargetSecurity(tlsCA: "/nonexistent/ca.pem").resolve(environment: [:])
        }
        #expect(noCA?.exitCode == 66 && noCA?.message.contains("/nonexistent/ca.pem") == true)
        let keyAlone = #expect(throws: RunError.self) {
            _ = try TargetSecurity(tlsKey: "k.pem").resolve(environment: [:])
        }
        #expect(keyAlone?.exitCode == 64)
        let certificateAlone = #expect(throws: RunError.self) {
            _ = try TargetSecurity(tlsCA: "ca.pem", tlsCert: "c.pem").resolve(environment: [:])
        }
        #expect(certificateAlone?.exitCode == 64 && certificateAlone?.message.contains("--tls-key") == true)
    }

    @Test func runACLNamesTheIdentitiesTheRunAuthenticatedAs() {
        #expect(ClientSecurity().runACL == ACL.openUnsafe)
        let secured = ClientSecurity(sasl: .init(user: "bob", password: "x"), digest: ("super", "test"))
        #expect(
            secured.runACL == [
                ACL(perms: .all, id: Id(scheme: "sasl", id: "bob")),
                ACL(perms: .all, id: Id(scheme: "digest", id: "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")),
            ]
        )
        #expect(secured.summary == "SASL DIGEST-MD5 as bob, digest as super")
    }

    /// A client certificate adds the x509 id the server reports (whoAmI) beside sasl and digest; alone,
    /// it replaces the open ACL. Without a client certificate an x509 id in whoAmI is not the run's.
    @Test func runACLIncludesTheX509IdWhenAClientCertificateAuthenticates() throws {
        let tls = try ZooKeeperTLS(insecure: true)
        var certificate = tls
        certificate.certificateFile = "c.pem"
        certificate.keyFile = "c.key"
        let whoAmI = [
            ClientInfo(authScheme: "x509", user: "CN=client,O=zkstorm"), ClientInfo(authScheme: "sasl", user: "bob"),
            ClientInfo(authScheme: "ip", user: "127.0.0.1"),
        ]
        let x509 = ACL(perms: .all, id: Id(scheme: "x509", id: "CN=client,O=zkstorm"))
        #expect(ClientSecurity(tls: certificate).runACL(whoAmI: whoAmI) == [x509])
        #expect(
            ClientSecurity(tls: certificate, sasl: .init(user: "bob", password: "x")).runACL(whoAmI: whoAmI)
                == [ACL(perms: .all, id: Id(scheme: "sasl", id: "bob")), x509]
        )
        #expect(ClientSecurity(tls: tls).runACL(whoAmI: whoAmI) == ACL.openUnsafe)
        #expect(
            ClientSecurity(tls: certificate).runACL(whoAmI: [ClientInfo(authScheme: "ip", user: "h")]) == ACL.openUnsafe
        )
    }
}
