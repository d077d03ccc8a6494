import ZooKeeperClient
import ZooKeeperProtocol

/// A client certificate authenticates a session as `x509:<subject DN>`, as `sasl:` and `digest:` do, so the
/// run's ACL names it too. The DN is the server's to spell (3.8 takes `X500Principal.getName()`), so the run
/// asks the server with whoAmI which x509 id it holds instead of formatting the certificate itself.
extension ClientSecurity {
    /// `runACL` plus every x509 id in a whoAmI answer, when this run presented a client certificate.
    package func runACL(whoAmI identities: [ClientInfo]) -> [ACL] {
        guard tls?.certificateFile != nil else { return runACL }
        let certificateIds = identities.filter { $0.authScheme == "x509" && !$0.user.isEmpty }
            .map { ACL(perms: .all, id: Id(scheme: "x509", id: $0.user)) }
        if certificateIds.isEmpty { return runACL }
        let named = runACL == ACL.openUnsafe ? [] : runACL
        return named + certificateIds.filter { !named.contains($0) }
    }

    /// The run ACL for the session `client`: whoAmI when a client certificate was presented. A server
    /// without whoAmI (before 3.7) keeps the ACL of the sasl and digest ids alone.
    package func runACL(confirmedBy client: ZooKeeperClient) async -> [ACL] {
        guard tls?.certificateFile != nil, let identities = try? await client.whoAmI() else { return runACL }
        return runACL(whoAmI: identities)
    }
}
