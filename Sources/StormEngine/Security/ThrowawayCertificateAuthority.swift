import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority that lives for one process: `zkstorm run --secure` makes one in memory, signs
/// a server certificate for the embedded server (localhost and 127.0.0.1) and a client certificate for
/// the run's sessions, so TLS with client certificates costs nothing to set up. Keys are P-256; nothing
/// is written anywhere unless a caller writes the PEM text itself.
package struct ThrowawayCertificateAuthority: Sendable {
    /// A certificate and its private key, PEM-encoded.
    package struct Issued: Sendable {
        package var certificatePEM: String
        package var privateKeyPEM: String
        /// The subject as ZooKeeper's x509 provider names it (`CN=…,O=…`).
        package var subject: String
    }

    package let certificatePEM: String
    private let certificate: Certificate
    private let key: Certificate.PrivateKey

    /// Creates the CA, valid from an hour ago (clock skew) for `lifetime`.
    package init(commonName: String = "zkstorm throwaway CA", lifetime: TimeInterval = 86_400) throws {
        let signingKey = P256.Signing.PrivateKey()
        key = Certificate.PrivateKey(signingKey)
        let name = try DistinguishedName {
            OrganizationName("zkstorm")
            CommonName(commonName)
        }
        let now = Date()
        certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(signingKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + lifetime,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: key
        )
        certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// A server certificate for loopback: DNS `localhost` and IP 127.0.0.1 (host name verification passes).
    package func issueServerCertificate(commonName: String = "localhost") throws -> Issued {
        try issue(
            commonName: commonName,
            usage: .serverAuth,
            alternativeNames: [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        )
    }

    /// A client certificate; the server's x509 id for it is `CN=<commonName>,O=zkstorm`.
    package func issueClientCertificate(commonName: String = "zkstorm-client") throws -> Issued {
        try issue(commonName: commonName, usage: .clientAuth, alternativeNames: [])
    }

    private func issue(
        commonName: String,
        usage: ExtendedKeyUsage.Usage,
        alternativeNames: [GeneralName]
    ) throws -> Issued {
        let leafKey = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("zkstorm")
            CommonName(commonName)
        }
        let now = Date()
        let leaf = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(leafKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: certificate.notValidAfter,
            issuer: certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([usage])
                if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
            },
            issuerPrivateKey: key
        )
        return Issued(
            certificatePEM: try leaf.serializeAsPEM().pemString,
            privateKeyPEM: leafKey.pemRepresentation,
            subject: "CN=\(commonName),O=zkstorm"
        )
    }
}
