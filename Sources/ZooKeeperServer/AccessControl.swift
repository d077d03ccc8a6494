import ZooKeeperProtocol

/// ZooKeeper's ACL rules for the schemes a standalone server knows: world, auth, digest and ip.
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
    static func fixup(_ acl: [ACL], identities: [Id]) -> [ACL]? {
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
                guard isValidSecureId(scheme: entry.id.scheme, entry.id.id) else { return nil }
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
        return user + ":" + Base64.encode(SHA1.hash(credentials))
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

/// Standard base64 with padding (what Java's `Base64.getEncoder()` writes).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [
                alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)],
                alphabet[Int(n & 63)],
            ]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [
                alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "="),
            ]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SHA-1 (FIPS 180-4), needed only for digest credentials; not used for anything security-bearing
/// beyond matching ZooKeeper's digest ids.
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (
            0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0
        )
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) {
            padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for t in 0..<16 {
                let b = chunk + t * 4
                w[t] =
                    UInt32(padded[b]) << 24 | UInt32(padded[b + 1]) << 16 | UInt32(padded[b + 2]) << 8
                    | UInt32(padded[b + 3])
            }
            for t in 16..<80 { w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
            var (a, b, c, d, e) = h
            for t in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[t]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, temp)
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
        var out: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4] {
            out += [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
        }
        return out
    }

    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
