import Foundation
import NIOSSL
import ZooKeeperClient
import ZooKeeperServer

/// What `zkstorm run --secure` needs to secure the embedded server and its own sessions alike: a
/// throwaway CA, the server's TLS listener (client certificate required, as ZooKeeper 3.8 defaults to),
/// one SASL DIGEST-MD5 user with a random password, and the client's certificate and key.
///
/// The client's TLS context reads PEM files, so `clientSecurity()` puts the CA, client certificate and
/// key in a fresh directory only this user can read, and deletes it once the context is built.
package struct SecureEmbeddedTarget: Sendable {
    package let authority: ThrowawayCertificateAuthority
    package let client: ThrowawayCertificateAuthority.Issued
    package let saslUser: String
    package let saslPassword: String
    package let serverSecurity: ServerSecurityConfiguration
    package let directory: URL

    package var caFile: String { directory.appendingPathComponent("ca.pem").path }
    package var certificateFile: String { directory.appendingPathComponent("client.pem").path }
    package var keyFile: String { directory.appendingPathComponent("client.key").path }

    package init(saslUser: String = "zkstorm") throws {
        authority = try ThrowawayCertificateAuthority()
        let server = try authority.issueServerCertificate()
        client = try authority.issueClientCertificate()
        self.saslUser = saslUser
        var generator = SystemRandomNumberGenerator()
        saslPassword = (0..<24).map { _ in
            String(UnicodeScalar(UInt8.random(in: 0x61...0x7a, using: &generator)))
        }.joined()
        let tls = ServerTLSConfiguration(
            port: 0,
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(server.certificatePEM.utf8)),
            privateKey: try NIOSSLPrivateKey(bytes: Array(server.privateKeyPEM.utf8), format: .pem),
            trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(authority.certificatePEM.utf8)),
            clientAuth: .need
        )
        serverSecurity = ServerSecurityConfiguration(tls: tls, saslUsers: [saslUser: saslPassword])
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-secure-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
        )
    }

    /// Writes the client's CA, certificate and key (mode 0600 in a 0700 directory).
    package func writeClientFiles() throws {
        let files = FileManager.default
        try files.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        for (path, text) in [
            (caFile, authority.certificatePEM), (certificateFile, client.certificatePEM),
            (keyFile, client.privateKeyPEM),
        ] {
            guard files.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }

    package func removeFiles() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The client side for every session of the run: TLS with the client certificate (the server's IP
    /// SAN 127.0.0.1 is verified) and SASL as the generated user. The files exist only while the TLS
    /// context reads them.
    package func clientSecurity() throws -> ClientSecurity {
        try writeClientFiles()
        defer { removeFiles() }
        var tls = try ZooKeeperTLS(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        // The files are gone after this; reports name the CA by what it is.
        tls.caFile = "throwaway CA of --secure"
        return ClientSecurity(tls: tls, sasl: ZooKeeperSASL(user: saslUser, password: saslPassword))
    }
}
