import NIOCore
import NIOSSL
import ZooKeeperProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS for a client: loaded once (PEM files read, context built) and shared by every session that uses it.
public struct ZooKeeperTLS: Sendable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    /// Sent as SNI and matched against the server's certificate; nil: the connect string's host name (an IP
    /// address is matched against the certificate's IP SANs and not sent as SNI).
    public var serverName: String?
    /// Accept any server certificate (labs only): no chain or host-name check.
    public var insecure: Bool
    let context: NIOSSLContext

    /// Reads the PEM files and builds the TLS context. Throws `ZooKeeperError` (`.badArguments`) naming the
    /// file that cannot be read or parsed.
    public init(
        caFile: String? = nil,
        certificateFile: String? = nil,
        keyFile: String? = nil,
        serverName: String? = nil,
        insecure: Bool = false
    ) throws(ZooKeeperError) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecure = insecure
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if insecure {
            tls.certificateVerification = .none
        } else if let caFile {
            tls.trustRoots = .certificates(try Self.certificates(caFile, what: "CA"))
        }
        switch (certificateFile, keyFile) {
        case (let cert?, let key?):
            tls.certificateChain = try Self.certificates(cert, what: "client certificate").map { .certificate($0) }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw ZooKeeperError(
                    code: .badArguments,
                    message: "cannot read the TLS client key \(key): \(error); give a PEM private key (--tls-key)"
                )
            }
        case (nil, nil):
            break
        default:
            throw ZooKeeperError(
                code: .badArguments,
                message: "a TLS client certificate needs both --tls-cert and --tls-key (only one was given)"
            )
        }
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw ZooKeeperError(
                code: .badArguments,
                message: "cannot build the TLS context: \(error); check that --tls-key matches --tls-cert"
            )
        }
    }

    private static func certificates(_ path: String, what: String) throws(ZooKeeperError) -> [NIOSSLCertificate] {
        guard access(path, R_OK) == 0 else {
            throw ZooKeeperError(
                code: .badArguments,
                message: "cannot read the TLS \(what) file \(path): no such readable file"
            )
        }
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            guard !certificates.isEmpty else {
                throw ZooKeeperError(
                    code: .badArguments,
                    message: "the TLS \(what) file \(path) holds no PEM certificate"
                )
            }
            return certificates
        } catch let error as ZooKeeperError {
            throw error
        } catch {
            throw ZooKeeperError(
                code: .badArguments,
                message: "cannot read the TLS \(what) file \(path): \(error); give a PEM file"
            )
        }
    }

    /// The name to send as SNI and verify against, for `host`; nil for an IP address (verified against IP SANs).
    func serverHostname(for host: String) -> String? {
        let name = serverName ?? host
        let isIP = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return isIP ? nil : name
    }
}

/// SASL credentials; the mechanism is DIGEST-MD5 (the identity on the server is `sasl:<user>`).
public struct ZooKeeperSASL: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var mechanism: String { DigestMD5.mechanism }
}

/// How long each phase of one successful connect took, in nanoseconds (monotonic clock).
public struct ConnectPhaseTimings: Sendable, Hashable {
    /// TCP connect (SYN to established).
    public var tcpNanos: UInt64
    /// TLS handshake; nil without TLS.
    public var tlsNanos: UInt64?
    /// ConnectRequest sent (after TLS) to ConnectResponse received.
    public var handshakeNanos: UInt64
    /// First SASL token sent to rspauth verified; nil without SASL.
    public var saslNanos: UInt64?
    /// True when the connect resumed an existing session (a reconnect).
    public var resumed: Bool
    public var host: String
    /// Negotiated TLS version ("TLSv1.3"), nil without TLS.
    public var tlsVersion: String?
    /// Negotiated cipher suite, IANA name ("TLS_AES_128_GCM_SHA256"), read from the ServerHello; nil
    /// without TLS.
    public var tlsCipher: String? = nil

    public var totalNanos: UInt64 { tcpNanos + (tlsNanos ?? 0) + handshakeNanos + (saslNanos ?? 0) }
}

extension ZooKeeperError {
    /// A TLS handshake with `host` failed: name the reason a person can fix.
    static func tlsHandshake(
        host: HostPort,
        expectedName: String,
        error: any Error,
        presentedCertificate: Bool
    ) -> ZooKeeperError {
        let text = String(describing: error)
        let upper = text.uppercased()
        let reason: String
        let advice: String
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            reason = "host name mismatch: the server's certificate does not name \(expectedName)"
            advice = "connect by a name the certificate lists, or give that name with --tls-server-name NAME"
        } else if upper.contains("CERTIFICATE_VERIFY_FAILED") {
            reason = "unknown CA: the server's certificate is not signed by a trusted CA (or has expired)"
            advice = "give the CA that signed the server's certificate with --tls-ca FILE"
        } else if upper.contains("CERTIFICATE_REQUIRED")
            || (!presentedCertificate && (upper.contains("BAD_CERTIFICATE") || upper.contains("HANDSHAKE_FAILURE")))
        {
            reason = "certificate required: the server demands a client certificate (ssl.clientAuth=need)"
            advice = "give --tls-cert FILE and --tls-key FILE signed by a CA the server trusts"
        } else if upper.contains("BAD_CERTIFICATE") || upper.contains("UNKNOWN_CA") {
            reason = "the server refused our client certificate"
            advice = "use a client certificate signed by a CA in the server's ssl.trustStore"
        } else if upper.contains("WRONG_VERSION_NUMBER") || upper.contains("PACKET_LENGTH_TOO_LONG")
            || upper.contains("EOF DURING HANDSHAKE")
        {
            reason = "the server does not speak TLS on this port (it closed the connection or answered in plaintext)"
            advice = "use the server's secureClientPort, or drop the --tls-* options for a plaintext port"
        } else {
            reason = text
            advice = "check the server's TLS settings (secureClientPort, ssl.*) and the --tls-* options"
        }
        return ZooKeeperError(
            code: .authFailed,
            path: nil,
            message: "TLS handshake with \(host) failed: \(reason); \(advice)"
        )
    }

    /// SASL with `host` failed.
    static func sasl(host: HostPort, user: String, detail: String) -> ZooKeeperError {
        ZooKeeperError(
            code: .authFailed,
            path: nil,
            message:
                "SASL DIGEST-MD5 authentication as \(user) with \(host) failed: \(detail); check --sasl-user and the password (file or ZKSTORM_SASL_PASSWORD) against the server's JAAS Server section"
        )
    }
}
