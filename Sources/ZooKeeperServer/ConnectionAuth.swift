import ZooKeeperProtocol

/// What a connection has proven about who it is (ZooKeeper's `ServerCnxn.authInfo`): the ids ACLs are
/// checked against. It starts with the connection's `ip` id; `addauth` adds ids before it. Further schemes
/// (SASL, x509) add their ids with `add(_:)` and may keep their per-connection state here.
struct ConnectionAuth: Equatable {
    let remoteHost: String
    var identities: [Id]

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
}
