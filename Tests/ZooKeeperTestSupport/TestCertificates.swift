import Foundation
import ZooKeeperServer

/// The throwaway PKI of every TLS test, made with `openssl`: a CA, a server certificate for the name
/// `localhost` (and, when asked, the address 127.0.0.1: clients that verify the address they dial, as
/// kazoo and the Java client do, need it; without it any name but `localhost` is a host-name mismatch),
/// a client certificate, and a second CA with a client ("stranger") that the server does not trust.
/// Keys are unencrypted PKCS#8 PEM, which ZooKeeper's PEM key store, swift-nio-ssl and Python's ssl read.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caCertificate: String { path("ca.pem") }
    /// Server certificate followed by its key (ZooKeeper's `ssl.keyStore.location` with type PEM).
    public var serverKeyStore: String { path("server-keystore.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    /// Client certificate followed by its key (the Java client's `zookeeper.ssl.keyStore.location`).
    public var clientKeyStore: String { path("client-keystore.pem") }
    /// A CA that signed neither the server's nor the client's certificate.
    public var untrustedCACertificate: String { path("rogue-ca.pem") }
    /// A client certificate signed by the untrusted CA, and its key.
    public var strangerCertificate: String { path("stranger.pem") }
    public var strangerKey: String { path("stranger.key") }
    /// The default client certificate's subject, as ZooKeeper's x509 provider names it.
    public static let clientSubject = "CN=zkstorm-client,O=zkstorm"
    /// The server certificate's DNS name.
    public static let serverName = "localhost"

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes every file in a new temporary directory (about two seconds of `openssl`). `serverIPAddress`
    /// adds 127.0.0.1 to the server certificate; `clientSubject` is the client certificate's subject as
    /// `openssl -subj` takes it (first RDN first).
    public static func make(
        serverIPAddress: Bool = false,
        clientSubject: String = "/CN=zkstorm-client/O=zkstorm"
    ) throws -> TestCertificates {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw TestServerError("/usr/bin/openssl is missing: install Debian's openssl package")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-pki-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try certificates.generate(serverIPAddress: serverIPAddress, clientSubject: clientSubject)
        return certificates
    }

    private func generate(serverIPAddress: Bool, clientSubject: String) throws {
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("ca.key")])
        try openssl([
            "req", "-x509", "-new", "-key", path("ca.key"), "-sha256", "-days", "2", "-subj", "/CN=zkstorm test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", path("ca.pem"),
        ])
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("rogue-ca.key")])
        try openssl([
            "req", "-x509", "-new", "-key", path("rogue-ca.key"), "-sha256", "-days", "2", "-subj", "/CN=rogue CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-out", path("rogue-ca.pem"),
        ])
        let names = serverIPAddress ? "DNS:localhost,IP:127.0.0.1" : "DNS:localhost"
        try issue(
            name: "server",
            subject: "/CN=localhost/O=zkstorm",
            extensions: "subjectAltName=\(names)\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        try issue(name: "client", subject: clientSubject, extensions: "extendedKeyUsage=clientAuth\n")
        try issue(
            name: "stranger",
            subject: "/O=elsewhere/CN=stranger",
            extensions: "extendedKeyUsage=clientAuth\n",
            ca: "rogue-ca"
        )
        for name in ["server", "client"] {
            let keyStore =
                try String(contentsOfFile: path("\(name).pem"), encoding: .utf8)
                + String(contentsOfFile: path("\(name).key"), encoding: .utf8)
            try keyStore.write(toFile: path("\(name)-keystore.pem"), atomically: true, encoding: .utf8)
        }
    }

    /// The built-in server's TLS listener from these files.
    public func serverTLS(
        port: Int = 0,
        clientAuth: ServerTLSConfiguration.ClientAuth = .need
    ) throws -> ServerTLSConfiguration {
        try ServerTLSConfiguration.fromPEMFiles(
            port: port,
            certificate: serverCertificate,
            key: serverKey,
            ca: caCertificate,
            clientAuth: clientAuth
        )
    }

    private func issue(name: String, subject: String, extensions: String, ca: String = "ca") throws {
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("\(name).key")])
        try openssl(["req", "-new", "-key", path("\(name).key"), "-subj", subject, "-out", path("\(name).csr")])
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }

    /// Runs openssl (standard output and error in one file, so neither pipe can fill up while the
    /// other is read); a failure carries what it printed.
    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let log = path("openssl-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw TestServerError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(output)")
        }
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// How a secured real ZooKeeper listens: TLS on `secureClientPort` (Netty, PEM stores) and SASL
/// DIGEST-MD5 users from a JAAS `Server` section.
public struct SecureZooKeeperSettings: Sendable {
    public var certificates: TestCertificates
    /// `ssl.clientAuth`: need, want or none.
    public var clientAuth: String
    /// user → password for `DigestLoginModule`.
    public var saslUsers: [String: String]
    /// More zoo.cfg lines (e.g. `enforce.auth.enabled=true`).
    public var extraConfiguration: String

    public init(
        certificates: TestCertificates,
        clientAuth: String = "need",
        saslUsers: [String: String] = [:],
        extraConfiguration: String = ""
    ) {
        self.certificates = certificates
        self.clientAuth = clientAuth
        self.saslUsers = saslUsers
        self.extraConfiguration = extraConfiguration
    }
}
