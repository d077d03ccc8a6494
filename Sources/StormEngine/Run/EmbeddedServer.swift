import ZooKeeperServer

/// The built-in server a run or replay starts when no target is given: on an ephemeral loopback port,
/// over real TCP, secured when `--secure` asked for it.
struct EmbeddedServer {
    let server: ZooKeeperServer
    /// What sessions connect to: the TLS port when secured.
    let connectString: String
    /// How reports name the target.
    let label: String

    static func start(security: ServerSecurityConfiguration?) async throws(RunError) -> EmbeddedServer {
        var configuration = ZooKeeperServerConfiguration(host: "127.0.0.1", port: 0)
        if let security { configuration.security = security }
        let server = ZooKeeperServer(configuration: configuration)
        do {
            try await server.start()
        } catch {
            throw RunError(.internal, "the built-in server did not start on 127.0.0.1: \(error)")
        }
        if let securePort = server.securePort {
            let connectString = "127.0.0.1:\(securePort)"
            return EmbeddedServer(
                server: server,
                connectString: connectString,
                label: "\(connectString) (built-in, TLS + SASL)"
            )
        }
        return EmbeddedServer(
            server: server,
            connectString: server.connectString,
            label: "\(server.connectString) (built-in)"
        )
    }
}
