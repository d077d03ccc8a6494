import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Which ACL schemes a server without TLS and SASL accepts: the same body on real ZooKeeper 3.8 and
/// the built-in server. Real 3.8 registers only the ip and digest providers then, and answers
/// INVALIDACL (-114) for a `sasl:` or `x509:` id on create and on setACL.
@Suite("ACL schemes a plaintext server without SASL accepts")
struct ACLSchemeProviderTests {
    @Test(arguments: TestTarget.allCases)
    func saslAndX509IdsAreInvalidWithoutTheirProvider(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            for id in [Id(scheme: "sasl", id: "bob"), Id(scheme: "x509", id: "CN=client,O=zkstorm")] {
                let refused = await expectZooKeeperError(.invalidACL) {
                    _ = try await client.create(root + "/" + id.scheme, acl: [ACL(perms: .all, id: id)])
                }
                #expect(refused != nil, "create with \(id.scheme):\(id.id) on \(target)")
                #expect(try await client.exists(root + "/" + id.scheme) == nil)
            }
            _ = try await client.create(root + "/open")
            _ = await expectZooKeeperError(.invalidACL) {
                _ = try await client.setACL(root + "/open", acl: [ACL(perms: .all, id: Id(scheme: "sasl", id: "bob"))])
            }
            // The schemes whose providers are always there still work.
            _ = try await client.create(
                root + "/digest",
                acl: [ACL(perms: .all, id: Id(scheme: "digest", id: "bob:abc")), ACL(perms: .all, id: .anyone)]
            )
            _ = try await client.create(
                root + "/ip",
                acl: [ACL(perms: .all, id: Id(scheme: "ip", id: "127.0.0.1")), ACL(perms: .all, id: .anyone)]
            )
        }
    }
}
