import Foundation

/// A throwaway PKI made with `openssl` for TLS tests: a CA, a server certificate for the name `localhost`
/// only (no IP address: clients connect to 127.0.0.1 with server name `localhost`, and any other name is a
/// host-name mismatch), a client certificate, and a second CA that signed nothing the server uses.
/// Keys are unencrypted PKCS#8 PEM, which both ZooKeeper's PEM key store and swift-nio-ssl read.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caCertificate: String { path("ca.pem") }
    /// Server certificate followed by its key (ZooKeeper's `ssl.keyStore.location` with type PEM).
    public var serverKeyStore: String { path("server-keystore.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    /// A CA that signed neither the server's nor the client's certificate.
    public var untrustedCACertificate: String { path("rogue-ca.pem") }
    /// The client certificate's subject, as ZooKeeper's x509 provider names it.
    public static let clientSubject = "CN=zkstorm-client,O=zkstorm"
    /// The only name the server certificate holds.
    public static let serverName = "localhost"

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes every file in a new temporary directory (about a second of `openssl`).
    public static func make() throws -> TestCertificates {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw TestServerError("/usr/bin/openssl is missing: install Debian's openssl package")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-pki-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try certificates.generate()
        return certificates
    }

    private func generate() throws {
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
        try issue(
            name: "server",
            subject: "/CN=localhost/O=zkstorm",
            extensions: "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        try issue(
            name: "client",
            subject: "/CN=zkstorm-client/O=zkstorm",
            extensions: "extendedKeyUsage=clientAuth\n"
        )
        let keyStore =
            try String(contentsOfFile: path("server.pem"), encoding: .utf8)
            + String(contentsOfFile: path("server.key"), encoding: .utf8)
        try keyStore.write(toFile: path("server-keystore.pem"), atomically: true, encoding: .utf8)
    }

    private func issue(name: String, subject: String, extensions: String) throws {
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("\(name).key")])
        try openssl(["req", "-new", "-key", path("\(name).key"), "-subj", subject, "-out", path("\(name).csr")])
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestServerError(
                "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: output, as: UTF8.self))"
            )
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

    public init(certificates: TestCertificates, clientAuth: String = "need", saslUsers: [String: String] = [:]) {
        self.certificates = certificates
        self.clientAuth = clientAuth
        self.saslUsers = saslUsers
    }
}
