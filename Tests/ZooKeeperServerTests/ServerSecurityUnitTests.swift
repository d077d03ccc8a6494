import Foundation
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// Pure rules of the built-in server's security: the x509 id of a certificate, the SASL users file,
/// and how sasl/x509 ids take part in ACL checks. No sockets.
@Suite struct ServerSecurityUnitTests {
    /// A client certificate made with openssl 3.0 (subject
    /// `/C=DE/O=zkstorm, tests/OU=load+UID=gen 42/CN=kazoo client #1/emailAddress=a@b.c`), DER in base64.
    static let clientCertificateBase64 = [
        "MIIDhDCCAmygAwIBAgIUTuJnkWZ5zhW+qA+ZAQeRYGjYkK4wDQYJKoZIhvcNAQELBQAwJDEQMA4GA1UECgwHemtzdG9ybTEQ",
        "MA4GA1UEAwwHdGVzdCBDQTAeFw0yNjExMjkyMDE0MzVaFw0yNjEyMDEyMDE0MzVaMHsxCzAJBgNVBAYTAkRFMRcwFQYDVQQK",
        "DA56a3N0b3JtLCB0ZXN0czEjMAsGA1UECwwEbG9hZDAUBgoJkiaJk/IsZAEBDAZnZW4gNDIxGDAWBgNVBAMMD2them9vIGNs",
        "aWVudCAjMTEUMBIGCSqGSIb3DQEJARYFYUBiLmMwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCDrUAohhjMGFHD",
        "PHbsJjZE/3nJ3loz7XudQadScihjJxuIRyFMJ6y7TirfZdFbPv2Pbcxm+aasDZdiU7U0359LexGlTjzitZfJNBkkwfOATluv",
        "JQE1X0hBZyAv1dDmnPW+I4IkBto+Rq3jCBpz3C4NWFZlOTUSSv4tZHx6zYE1a+v0YJ6AzCYQbOWYiIc9LyXB2uHrsFZ4aARS",
        "kH2roYxEQDM+KW/nrRYsZATFVYieCkIHksPBOaP6OE+8up3Ma4LlwiH89HeW35srsNbN6lJtZ6CoK+rC0FfCIdj8MkvsE+5a",
        "eFPt8P46OQWRCu8LzkxcZUtGMms+aCbuuApFcaVLAgMBAAGjVzBVMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1UdDgQWBBSf",
        "0dre38RL+Ptp9IVtys56nB54hDAfBgNVHSMEGDAWgBSCH9OrmRRChjBQXIflx91X9S55uzANBgkqhkiG9w0BAQsFAAOCAQEA",
        "XXnmnlm0ETkHvYO/a8PqttXQQuIitWGk9MubJKgXyDjZfVjTGVBYPMb7qg1yEbZ+hvG1psopsYo+aBt4CXikuKtAQ/mq6xFk",
        "rLAb08u7c+cA3RO35Zf6qJCVil80hfxQq6fd3mtSSIF+eOv0h/Qz3KmjLklh9Vw1JuMQrrBery+PR9zahTXjOzIB1akmSRUw",
        "CBc45aI/WtD45F1XeAn0o77XK7dpaEpAoZ0c823V4Ctm8JrBdksArOZ2K/br6+ApeBSGAz3i4PSdavt//m2eKJZam29KdBPh",
        "hpTlwmguO10nOajNc0BshToRXjiZCRc4PAEyk8QuDx0NqcYYml5/iw==",
    ].joined()

    /// What ZooKeeper 3.8.0 answered to `whoami` (zkCli over TLS with that certificate) on this machine.
    static let subjectSeenFromZooKeeper =
        ##"1.2.840.113549.1.9.1=#16056140622e63,CN=kazoo client \#1,OU=load+UID=gen 42,O=zkstorm\, tests,C=DE"##

    @Test func x509IdIsTheSubjectAsZooKeeperWritesIt() throws {
        let der = try #require(Data(base64Encoded: Self.clientCertificateBase64))
        #expect(X509Identity.subjectName(derEncoded: Array(der)) == Self.subjectSeenFromZooKeeper)
    }

    @Test func notACertificateHasNoX509Id() {
        #expect(X509Identity.subjectName(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x01]) == nil)
    }

    @Test func rfc2253EscapesTheSpecialCharactersAndOuterBlanks() {
        #expect(X509Identity.escaped("a,b=c+d<e>f#g;h\"i\\j") == ##"a\,b\=c\+d\<e\>f\#g\;h\"i\\j"##)
        #expect(X509Identity.escaped(" lead and trail  ") == #"\ lead and trail\ \ "#)
        #expect(X509Identity.escaped("plain name") == "plain name")
    }

    @Test func saslUsersFileReadsUsersAndSkipsCommentsAndBlanks() throws {
        let users = try SASLUsersFile.parse("# users\nbob=secret\n\n  alice = p=w=d \r\n", file: "users.txt")
        #expect(users == ["bob": "secret", "alice": " p=w=d "])
    }

    @Test(arguments: [
        ("bob\n", "users.txt:1: expected user=password"),
        ("bob=x\n=pw\n", "users.txt:2: the user name before '=' is empty"),
        ("bob=\n", "users.txt:1: user 'bob' has an empty password"),
        ("bob=a\nbob=b\n", "users.txt:2: user 'bob' is listed twice"),
        ("bo b=a\n", "users.txt:1: user name 'bo b' holds a blank"),
        ("# nothing\n", "users.txt: no user=password line"),
    ])
    func saslUsersFileErrorsNameFileAndLine(text: String, message: String) {
        #expect {
            _ = try SASLUsersFile.parse(text, file: "users.txt")
        } throws: { error in
            (error as? ZooKeeperServerError)?.message.hasPrefix(message) == true
        }
    }

    @Test func saslAndX509IdsMatchTheirAclEntriesExactly() {
        let dn = "CN=client,O=zkstorm"
        let acl = [
            ACL(perms: .read, id: Id(scheme: "sasl", id: "bob")),
            ACL(perms: [.write], id: Id(scheme: "x509", id: dn)),
        ]
        let ip = Id(scheme: "ip", id: "127.0.0.1")
        #expect(AccessControl.allows(acl, .read, identities: [Id(scheme: "sasl", id: "bob"), ip]))
        #expect(!AccessControl.allows(acl, .read, identities: [Id(scheme: "sasl", id: "bobby"), ip]))
        #expect(!AccessControl.allows(acl, .read, identities: [Id(scheme: "x509", id: dn), ip]))
        #expect(AccessControl.allows(acl, .write, identities: [Id(scheme: "x509", id: dn), ip]))
        #expect(!AccessControl.allows(acl, .write, identities: [Id(scheme: "x509", id: "CN=client"), ip]))
        // A digest id of the same text is another scheme: no match.
        #expect(!AccessControl.allows(acl, .read, identities: [Id(scheme: "digest", id: "bob"), ip]))
    }

    @Test func authAclExpandsToSaslAndX509IdsButNotIp() throws {
        let identities = [
            Id(scheme: "x509", id: "CN=c"), Id(scheme: "sasl", id: "bob"), Id(scheme: "ip", id: "127.0.0.1"),
        ]
        let fixed = try #require(
            AccessControl.fixup(
                [ACL(perms: .all, id: Id(scheme: "auth", id: ""))],
                identities: identities,
                secureSchemes: ["sasl", "x509"]
            )
        )
        #expect(fixed == [ACL(perms: .all, id: identities[0]), ACL(perms: .all, id: identities[1])])
        #expect(
            AccessControl.fixup(
                [ACL(perms: .all, id: Id(scheme: "auth", id: ""))],
                identities: [identities[2]],
                secureSchemes: ["sasl", "x509"]
            ) == nil
        )
    }

    @Test func saslAndX509AclIdsAreValidatedAsZooKeeperDoes() {
        func valid(_ scheme: String, _ id: String) -> Bool {
            AccessControl.fixup(
                [ACL(perms: .all, id: Id(scheme: scheme, id: id))],
                identities: [],
                secureSchemes: ["sasl", "x509"]
            ) != nil
        }
        #expect(valid("sasl", "bob"))
        #expect(valid("sasl", "zookeeper/host@EXAMPLE.COM"))
        #expect(!valid("sasl", "a@b@c"))
        #expect(valid("x509", "CN=client,O=zkstorm"))
        #expect(!valid("x509", "not a name"))
        #expect(valid("x509", ##"CN=kazoo client \#1,OU=load+UID=gen 42,O=zkstorm\, tests,C=DE"##))
        #expect(!valid("x509", "CN=a,,O=b"))
        #expect(!valid("x509", "=a"))
    }

    /// Real 3.8 has a provider for sasl only with a SASL server and for x509 only with a TLS listener;
    /// without one it answers INVALIDACL (seen: a plaintext 3.8 without authProvider refuses both).
    @Test func saslAndX509AclsNeedTheirProvider() {
        func valid(_ scheme: String, _ id: String, _ secureSchemes: Set<String>) -> Bool {
            AccessControl.fixup(
                [ACL(perms: .all, id: Id(scheme: scheme, id: id))],
                identities: [],
                secureSchemes: secureSchemes
            ) != nil
        }
        #expect(!valid("sasl", "bob", []))
        #expect(!valid("x509", "CN=client,O=zkstorm", []))
        #expect(valid("sasl", "bob", ["sasl"]))
        #expect(!valid("x509", "CN=client,O=zkstorm", ["sasl"]))
        #expect(valid("x509", "CN=client,O=zkstorm", ["x509"]))
        #expect(valid("digest", "bob:abc", []))
        #expect(valid("ip", "127.0.0.1", []))
    }

    @Test func theServersPolicyRegistersSaslWithUsersAndX509WithTLS() throws {
        var policy = AuthenticationPolicy()
        #expect(policy.secureACLSchemes.isEmpty)
        policy.saslUsers = ["bob": "secret"]
        #expect(policy.secureACLSchemes == ["sasl"])
        policy.tlsEnabled = true
        #expect(policy.secureACLSchemes == ["sasl", "x509"])
        let applier = RequestApplier(tickMs: 2000, wallClockMs: 0, maxSessions: 10, authentication: policy)
        #expect(applier.tree.secureACLSchemes == ["sasl", "x509"])
    }
}
