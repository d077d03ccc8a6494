import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ZooKeeperProtocol

/// The TLS listener (ZooKeeper's `secureClientPort` with `NettyServerCnxnFactory`): TLS from the first
/// byte, then the usual framing; a trusted client certificate adds the id `x509:<subject DN>`.
extension ZooKeeperServer {
    /// Binds the secure port when TLS is configured; the channel's connections feed the same core.
    static func bindSecureListener(
        configuration: ZooKeeperServerConfiguration,
        group: any EventLoopGroup,
        core: ServerCore,
        handshakeTimeout: TimeAmount
    ) async throws -> (any Channel)? {
        guard let tls = configuration.security.tls else { return nil }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls.tlsConfiguration)
        } catch {
            throw ZooKeeperServerError(
                message: "cannot set up TLS for the secure port: \(error). Check that --tls-key is the key of "
                    + "--tls-cert and that --tls-ca holds a CA certificate."
            )
        }
        let bootstrap = ZooKeeperServer.listenerBootstrap(group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: context))
                    try sync.addHandler(ServerConnectionHandler(core: core, handshakeTimeout: handshakeTimeout))
                }
            }
        do {
            return try await bootstrap.bind(host: configuration.host, port: tls.port).get()
        } catch {
            throw ZooKeeperServerError(
                message: "cannot listen on \(configuration.host):\(tls.port) (secure port): \(error). "
                    + "Pick another --secure-port or stop what holds it."
            )
        }
    }
}

extension ServerCore {
    /// A user event on `connection`'s channel (on its event loop). When the TLS handshake finished, a
    /// client certificate the handshake verified authenticates the connection as
    /// `x509:<subject DN>`, as `X509AuthenticationProvider` does (`ConnectionAuth.addCertificate`).
    func inboundEvent(_ event: Any, on connection: ServerConnection, pipeline: ChannelPipeline) {
        guard case .handshakeCompleted = event as? TLSUserEvent else { return }
        guard let certificate = try? pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes()
        else { return }
        let identity = lock.withLock { connection.auth.addCertificate(derEncoded: der) }
        if let identity {
            logger.debug(
                "TLS client authenticated",
                metadata: ["id": "\(identity.id)", "remote": "\(connection.remoteHost):\(connection.remotePort)"]
            )
        }
    }
}

extension AccessControl {
    /// Schemes whose ids an `auth` ACL entry expands to (providers whose `isAuthenticated()` is true).
    static let authenticatedSchemes: Set<String> = ["digest", "sasl", "x509", "super"]

    /// `isValid` of SASLAuthenticationProvider (a Kerberos-style name: with an `@`, it must read
    /// `name[/host]@REALM`) and X509AuthenticationProvider (a DN that parses: `type=value` pairs).
    static func isValidSecureId(scheme: String, _ id: String) -> Bool {
        switch scheme {
        case "sasl":
            guard id.contains("@") else { return true }
            let parts = id.split(separator: "@", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[0].split(separator: "/", omittingEmptySubsequences: false).count <= 2
                && !parts[1].contains("/")
        case "x509":
            // Every RDN component (split at unescaped `,` and `+`) is `type=value` with a type.
            var components: [(sawEquals: Bool, typeLength: Int)] = [(false, 0)]
            var escaped = false
            for character in id {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "," || character == "+" {
                    components.append((false, 0))
                } else if character == "=" && !components[components.count - 1].sawEquals {
                    components[components.count - 1].sawEquals = true
                } else if !components[components.count - 1].sawEquals && character != " " {
                    components[components.count - 1].typeLength += 1
                }
            }
            return !escaped && components.allSatisfy { $0.sawEquals && $0.typeLength > 0 }
        default:
            return false
        }
    }
}
