import ZooKeeperProtocol

/// What a connection has proven about who it is (ZooKeeper's `ServerCnxn.authInfo`): the ids ACLs are
/// checked against. It starts with the connection's `ip` id; `addauth`, SASL and a TLS client certificate
/// add ids before it (`add(_:)`). It also keeps the connection's SASL exchange (`sasl`), which
/// `RequestApplier` advances; nothing here does I/O.
struct ConnectionAuth: Equatable {
    let remoteHost: String
    var identities: [Id]
    /// The SASL exchange on this connection (opcode 102; ZooKeeper's `ServerCnxn.zooKeeperSaslServer`).
    var sasl = ServerSASLState.idle

    init(remoteHost: String) {
        self.remoteHost = remoteHost
        identities = [Id(scheme: "ip", id: remoteHost)]
    }

    mutating func add(_ identity: Id) {
        // ZooKeeper lists authenticated ids before the connection's ip id (seen in whoAmI).
        if !identities.contains(identity) {
            identities.insert(identity, at: max(0, identities.count - 1))
        }
    }

    /// A TLS client certificate the handshake verified (DER): the id `x509:<subject DN>`, as
    /// `X509AuthenticationProvider` derives it. Returns the id, or nil if the certificate does not parse.
    @discardableResult
    mutating func addCertificate(derEncoded der: [UInt8]) -> Id? {
        guard let subject = X509Identity.subjectName(derEncoded: der) else { return nil }
        let identity = Id(scheme: "x509", id: subject)
        add(identity)
        return identity
    }

    /// Whether the connection holds an id of one of `schemes` (`enforce.auth.schemes`).
    func isAuthenticated(bySchemeIn schemes: Set<String>) -> Bool {
        identities.contains { schemes.contains($0.scheme) }
    }
}
