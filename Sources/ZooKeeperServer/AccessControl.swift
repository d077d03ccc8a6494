import Crypto
import Foundation
import ZooKeeperProtocol

/// ZooKeeper's ACL rules for the schemes a standalone server knows: world, auth, digest, ip, sasl and x509.
enum AccessControl {
    /// Whether `identities` grant any of `permission`'s bits on a node with `acl`
    /// (`ZooKeeperServer.checkACL`): an empty ACL allows everything, super allows everything.
    static func allows(_ acl: [ACL], _ permission: Permissions, identities: [Id]) -> Bool {
        if acl.isEmpty { return true }
        for identity in identities where identity.scheme == "super" { return true }
        for entry in acl where entry.perms.rawValue & permission.rawValue != 0 {
            if entry.id.scheme == "world" && entry.id.id == "anyone" { return true }
            for identity in identities where identity.scheme == entry.id.scheme {
                switch identity.scheme {
                case "digest", "sasl", "x509":
                    // Digest, SASLAuthenticationProvider and X509AuthenticationProvider all match on equality.
                    if identity.id == entry.id.id { return true }
                case "ip":
                    if ipMatches(address: identity.id, pattern: entry.id.id) { return true }
                default:
                    break
                }
            }
        }
        return false
    }

    /// Resolves `auth` entries to the session's authenticated ids and rejects malformed ACLs
    /// (`PrepRequestProcessor.fixupACL`). Returns nil where ZooKeeper answers INVALIDACL.
    /// `secureSchemes` holds the providers the server registered beyond ip and digest: `sasl` with a SASL
    /// server, `x509` with a TLS listener. Real 3.8 answers INVALIDACL for an id of a scheme it has no
    /// provider for, so a plaintext server without SASL refuses `sasl:` and `x509:` ACLs (seen).
    static func fixup(_ acl: [ACL], identities: [Id], secureSchemes: Set<String>) -> [ACL]? {
        var unique: [ACL] = []
        for entry in acl where !unique.contains(entry) { unique.append(entry) }
        if unique.isEmpty { return nil }
        var result: [ACL] = []
        for entry in unique {
            switch entry.id.scheme {
            case "world" where entry.id.id == "anyone":
                result.append(entry)
            case "auth":
                // Ids of providers whose isAuthenticated() is true (digest, sasl, x509); not ip.
                let authenticated = identities.filter { authenticatedSchemes.contains($0.scheme) }
                if authenticated.isEmpty { return nil }
                for identity in authenticated { result.append(ACL(perms: entry.perms, id: identity)) }
            case "digest":
                guard entry.id.id.split(separator: ":", omittingEmptySubsequences: false).count == 2 else {
                    return nil
                }
                result.append(entry)
            case "ip":
                guard parseIPPattern(entry.id.id) != nil else { return nil }
                result.append(entry)
            case "sasl", "x509":
                guard secureSchemes.contains(entry.id.scheme), isValidSecureId(scheme: entry.id.scheme, entry.id.id)
                else { return nil }
                result.append(entry)
            default:
                return nil
            }
        }
        return result
    }

    /// The id a digest `addauth` yields: `user:base64(sha1("user:password"))`.
    static func digestIdentity(credentials: [UInt8]) -> String {
        let user =
            credentials.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false)
            .first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return user + ":" + Data(Insecure.SHA1.hash(data: credentials)).base64EncodedString()
    }

    /// The user part a whoAmI reply shows for an id.
    static func userName(of identity: Id) -> String {
        guard identity.scheme == "digest" else { return identity.id }
        return identity.id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? identity.id
    }

    static func ipMatches(address: String, pattern: String) -> Bool {
        guard let (network, bits) = parseIPPattern(pattern), let addr = parseIPv4(address) else {
            return address == pattern
        }
        let mask: UInt32 = bits == 0 ? 0 : UInt32.max << (32 - UInt32(bits))
        return addr & mask == network & mask
    }

    /// `a.b.c.d` or `a.b.c.d/bits` (IPv4 only: the server listens on IPv4 loopback).
    static func parseIPPattern(_ pattern: String) -> (UInt32, Int)? {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = parseIPv4(String(parts[0])) else { return nil }
        if parts.count == 1 { return (address, 32) }
        guard let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        return (address, bits)
    }

    static func parseIPv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
