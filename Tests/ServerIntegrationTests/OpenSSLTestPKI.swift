import Foundation
import ZooKeeperServer

/// Certificates for the TLS tests, made by the `openssl` command line in a temporary directory: a CA,
/// a server certificate for 127.0.0.1 and localhost, a client certificate whose subject holds the
/// characters RFC 2253 escapes, and a second CA with its own client (untrusted by the server).
struct OpenSSLTestPKI {
    let directory: URL
    var caCertificate: String { path("ca.pem") }
    var serverCertificate: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    /// Certificate then key in one file (ZooKeeper's `ssl.keyStore.type=PEM`).
    var serverKeyStore: String { path("server-keystore.pem") }
    var clientCertificate: String { path("client.pem") }
    var clientKey: String { path("client.key") }
    var clientKeyStore: String { path("client-keystore.pem") }
    var strangerCertificate: String { path("stranger.pem") }
    var strangerKey: String { path("stranger.key") }

    /// The client certificate's subject as given to openssl (first RDN first).
    static let clientSubject = "/C=DE/O=zkstorm, tests/OU=load+UID=gen 42/CN=kazoo client #1"

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func make() async throws -> OpenSSLTestPKI {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-pki-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pki = OpenSSLTestPKI(directory: directory)
        try await pki.openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/O=zkstorm/CN=test CA",
            "-keyout",
            pki.path("ca.key"),
            "-out",
            pki.caCertificate
        )
        try await pki.openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/O=elsewhere/CN=other CA",
            "-keyout",
            pki.path("other-ca.key"),
            "-out",
            pki.path("other-ca.pem")
        )
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(
            toFile: pki.path("server.ext"),
            atomically: true,
            encoding: .utf8
        )
        try "extendedKeyUsage=clientAuth\n".write(toFile: pki.path("client.ext"), atomically: true, encoding: .utf8)
        try await pki.issue(
            "server",
            subject: "/O=zkstorm/CN=localhost",
            ca: "ca",
            extensions: "server.ext"
        )
        try await pki.issue("client", subject: clientSubject, ca: "ca", extensions: "client.ext")
        try await pki.issue("stranger", subject: "/O=elsewhere/CN=stranger", ca: "other-ca", extensions: "client.ext")
        for name in ["server", "client"] {
            let joined =
                try String(contentsOfFile: pki.path("\(name).pem"), encoding: .utf8)
                + String(contentsOfFile: pki.path("\(name).key"), encoding: .utf8)
            try joined.write(toFile: pki.path("\(name)-keystore.pem"), atomically: true, encoding: .utf8)
        }
        return pki
    }

    /// The client certificate's subject as openssl prints it in RFC 2253 form (last RDN first).
    func clientSubjectRFC2253() async throws -> String {
        let result = try await ExternalProcess.run(
            "/usr/bin/openssl",
            ["x509", "-in", clientCertificate, "-noout", "-subject", "-nameopt", "RFC2253"]
        )
        guard result.status == 0, let line = result.output.split(separator: "\n").first,
            line.hasPrefix("subject=")
        else { throw ExternalProcess.Missing(description: "openssl x509 -subject failed: \(result.output)") }
        return String(line.dropFirst("subject=".count))
    }

    private func issue(_ name: String, subject: String, ca: String, extensions: String) async throws {
        try await openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            path("\(name).key"),
            "-out",
            path("\(name).csr")
        )
        try await openssl(
            "x509",
            "-req",
            "-in",
            path("\(name).csr"),
            "-CA",
            path("\(ca).pem"),
            "-CAkey",
            path("\(ca).key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            path(extensions),
            "-out",
            path("\(name).pem")
        )
    }

    private func openssl(_ arguments: String...) async throws {
        let result = try await ExternalProcess.run("/usr/bin/openssl", arguments, timeout: .seconds(60))
        guard result.status == 0 else {
            throw ExternalProcess.Missing(description: "openssl \(arguments.joined(separator: " ")): \(result.output)")
        }
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// The built-in server's TLS configuration from these files.
    func serverTLS(
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
}
