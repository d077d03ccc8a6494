import Crypto
import NIOCore

/// `GetSASLRequest {buffer token}`: the body of a request with opcode 102 (`sasl`).
public struct GetSASLRequest: JuteRecord, Hashable {
    public var token: [UInt8]?

    public init(token: [UInt8]?) {
        self.token = token
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        token = try buffer.readJuteBuffer("GetSASLRequest.token")
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(token)
    }
}

/// `SetSASLResponse {buffer token}`: the body of the server's reply to a `sasl` request.
/// A refused exchange carries err -115 (AUTHFAILED) in the reply header and no body.
public struct SetSASLResponse: JuteRecord, Hashable {
    public var token: [UInt8]?

    public init(token: [UInt8]?) {
        self.token = token
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        token = try buffer.readJuteBuffer("SetSASLResponse.token")
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(token)
    }
}

/// Why a DIGEST-MD5 exchange (RFC 2831) could not go on.
public struct DigestMD5Error: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The token is not a list of `name=value` directives.
        case malformed
        /// A directive the exchange needs is absent.
        case missingDirective
        /// The peer asked for something this implementation does not do (a qop other than auth, an algorithm
        /// other than md5-sess).
        case unsupported
        /// A directive does not match what this side sent or expects (nonce, realm, digest-uri, nc).
        case mismatch
        /// The client's response value is wrong: the password (or user name) is not the one the server holds.
        case wrongCredentials
        /// The server's rspauth does not prove it knows the password: not the server we meant to talk to.
        case serverNotAuthenticated
    }

    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "DIGEST-MD5: \(detail)" }
}

/// An ordered list of RFC 2831 directives (`name=value` or `name="quoted"`, comma separated).
/// Names are kept lower-cased; values unquoted and unescaped.
public struct DigestMD5Directives: Hashable, Sendable {
    public struct Directive: Hashable, Sendable {
        public var name: String
        public var value: String
        /// Written between double quotes when encoded.
        public var quoted: Bool

        public init(_ name: String, _ value: String, quoted: Bool) {
            self.name = name
            self.value = value
            self.quoted = quoted
        }
    }

    public var directives: [Directive]

    public init(_ directives: [Directive]) {
        self.directives = directives
    }

    /// The first value of `name` (case-insensitive).
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return directives.first { $0.name == key }?.value
    }

    /// Every value of `name`, in order (a challenge may offer several realms).
    public func values(_ name: String) -> [String] {
        let key = name.lowercased()
        return directives.filter { $0.name == key }.map(\.value)
    }

    /// Parses a token: `#( name "=" ( token | quoted-string ) )` with optional linear white space.
    public init(parsing token: [UInt8]) throws(DigestMD5Error) {
        var parser = DirectiveParser(bytes: token)
        directives = try parser.parseAll()
    }

    /// The token bytes, UTF-8.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for (index, directive) in directives.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: directive.name.utf8)
            out.append(UInt8(ascii: "="))
            if directive.quoted {
                out.append(UInt8(ascii: "\""))
                for byte in directive.value.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: directive.value.utf8)
            }
        }
        return out
    }
}

private struct DirectiveParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
    }

    private mutating func skipSpace() {
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
    }

    private func failure(_ what: String) -> DigestMD5Error {
        DigestMD5Error(.malformed, "\(what) at byte \(index) of \(bytes.count)")
    }

    mutating func parseAll() throws(DigestMD5Error) -> [DigestMD5Directives.Directive] {
        var result: [DigestMD5Directives.Directive] = []
        while true {
            skipSpace()
            // Empty list elements (",,") are allowed by the #rule.
            while index < bytes.count, bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipSpace()
            }
            if index >= bytes.count { return result }
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ","),
                !Self.isSpace(bytes[index])
            {
                index += 1
            }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).lowercased()
            if name.isEmpty { throw failure("empty directive name") }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                throw failure("expected '=' after \(name)")
            }
            index += 1
            skipSpace()
            var value: [UInt8] = []
            var quoted = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                var closed = false
                while index < bytes.count {
                    let b = bytes[index]
                    index += 1
                    if b == UInt8(ascii: "\\") {
                        guard index < bytes.count else { break }
                        value.append(bytes[index])
                        index += 1
                    } else if b == UInt8(ascii: "\"") {
                        closed = true
                        break
                    } else {
                        value.append(b)
                    }
                }
                if !closed { throw failure("unterminated quoted value of \(name)") }
            } else {
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), !Self.isSpace(bytes[index]) {
                    value.append(bytes[index])
                    index += 1
                }
            }
            result.append(.init(name, String(decoding: value, as: UTF8.self), quoted: quoted))
            skipSpace()
            if index < bytes.count {
                guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected ',' after \(name)") }
                index += 1
            }
        }
    }
}

/// DIGEST-MD5 (RFC 2831) as ZooKeeper uses it: qop `auth` only, algorithm `md5-sess`, charset utf-8,
/// realm "zk-sasl-md5", digest-uri "zookeeper/zk-sasl-md5". Pure functions and value types, so the client
/// and the built-in server compute the same values and tests need no socket.
public enum DigestMD5 {
    public static let mechanism = "DIGEST-MD5"
    /// The realm ZooKeeper's server offers (`zookeeper.sasl.realm` is not consulted for DIGEST-MD5).
    public static let zooKeeperRealm = "zk-sasl-md5"
    /// `<protocol>/<server name>` as ZooKeeper's client and server agree on it.
    public static let zooKeeperDigestURI = "zookeeper/zk-sasl-md5"

    /// Lower-case hexadecimal of `bytes`.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func md5(_ bytes: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: bytes))
    }

    /// RFC 2831 2.1.2.1: with charset=utf-8, a string whose characters all fit ISO 8859-1 is hashed as
    /// ISO 8859-1, otherwise as UTF-8 (Java's DigestMD5Base does the same per string).
    static func hashBytes(_ string: String) -> [UInt8] {
        var latin1: [UInt8] = []
        latin1.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            guard scalar.value <= 0xFF else { return Array(string.utf8) }
            latin1.append(UInt8(scalar.value))
        }
        return latin1
    }

    /// An 8-digit lower-case hex nonce count, as `nc` is written.
    public static func nonceCount(_ nc: UInt32) -> String {
        let digits = String(nc, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// A fresh nonce or cnonce: 16 random bytes in hex (the value is opaque to the peer).
    public static func randomNonce<G: RandomNumberGenerator>(using generator: inout G) -> String {
        hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return randomNonce(using: &generator)
    }

    /// The `response` value (RFC 2831 2.1.2.1) when `forRspauth` is false, the server's `rspauth` value
    /// (2.1.3) when it is true. Only qop=auth: A2 = "AUTHENTICATE:" + digest-uri (":" + digest-uri for rspauth).
    public static func responseValue(
        username: String,
        realm: String,
        password: String,
        nonce: String,
        cnonce: String,
        nonceCount: String,
        digestURI: String,
        authzid: String? = nil,
        forRspauth: Bool = false
    ) -> String {
        var userRealmPassword = hashBytes(username)
        userRealmPassword.append(UInt8(ascii: ":"))
        userRealmPassword += hashBytes(realm)
        userRealmPassword.append(UInt8(ascii: ":"))
        userRealmPassword += hashBytes(password)
        var a1 = md5(userRealmPassword)
        a1 += Array(":\(nonce):\(cnonce)".utf8)
        if let authzid, !authzid.isEmpty { a1 += Array(":\(authzid)".utf8) }
        let a2 = Array(((forRspauth ? ":" : "AUTHENTICATE:") + digestURI).utf8)
        let kd = hex(md5(a1)) + ":\(nonce):\(nonceCount):\(cnonce):auth:" + hex(md5(a2))
        return hex(md5(Array(kd.utf8)))
    }
}

/// The server's first token: what it offers.
public struct DigestMD5Challenge: Hashable, Sendable {
    public var realms: [String]
    public var nonce: String
    public var qop: [String]
    public var charset: String?
    public var algorithm: String

    public init(
        realm: String = DigestMD5.zooKeeperRealm,
        nonce: String,
        qop: [String] = ["auth"],
        charset: String? = "utf-8",
        algorithm: String = "md5-sess"
    ) {
        self.realms = [realm]
        self.nonce = nonce
        self.qop = qop
        self.charset = charset
        self.algorithm = algorithm
    }

    public init(parsing token: [UInt8]) throws(DigestMD5Error) {
        let directives = try DigestMD5Directives(parsing: token)
        if directives["rspauth"] != nil {
            throw DigestMD5Error(.mismatch, "expected a challenge, got the server's final rspauth")
        }
        guard let nonce = directives["nonce"] else {
            throw DigestMD5Error(.missingDirective, "the challenge has no nonce")
        }
        guard let algorithm = directives["algorithm"] else {
            throw DigestMD5Error(.missingDirective, "the challenge has no algorithm")
        }
        guard algorithm.lowercased() == "md5-sess" else {
            throw DigestMD5Error(.unsupported, "algorithm \(algorithm) (only md5-sess)")
        }
        self.realms = directives.values("realm")
        self.nonce = nonce
        // qop defaults to auth (2.1.1); the value is a quoted comma-separated list.
        let offered = directives["qop"].map { $0.split(separator: ",").map { $0.trimmingSpaces.lowercased() } }
        self.qop = offered ?? ["auth"]
        self.charset = directives["charset"]
        self.algorithm = algorithm
    }

    public var directives: DigestMD5Directives {
        var list = realms.map { DigestMD5Directives.Directive("realm", $0, quoted: true) }
        list.append(.init("nonce", nonce, quoted: true))
        list.append(.init("qop", qop.joined(separator: ","), quoted: true))
        if let charset { list.append(.init("charset", charset, quoted: false)) }
        list.append(.init("algorithm", algorithm, quoted: false))
        return DigestMD5Directives(list)
    }

    public var token: [UInt8] { directives.encoded }
}

/// The client's second token: proof that it knows the password.
public struct DigestMD5Response: Hashable, Sendable {
    public var charset: String?
    public var username: String
    public var realm: String
    public var nonce: String
    public var nonceCount: String
    public var cnonce: String
    public var digestURI: String
    public var response: String
    public var qop: String
    public var authzid: String?

    public init(
        charset: String? = "utf-8",
        username: String,
        realm: String,
        nonce: String,
        nonceCount: String = "00000001",
        cnonce: String,
        digestURI: String = DigestMD5.zooKeeperDigestURI,
        response: String,
        qop: String = "auth",
        authzid: String? = nil
    ) {
        self.charset = charset
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.nonceCount = nonceCount
        self.cnonce = cnonce
        self.digestURI = digestURI
        self.response = response
        self.qop = qop
        self.authzid = authzid
    }

    public init(parsing token: [UInt8]) throws(DigestMD5Error) {
        let d = try DigestMD5Directives(parsing: token)
        func required(_ name: String) throws(DigestMD5Error) -> String {
            guard let value = d[name] else { throw DigestMD5Error(.missingDirective, "the response has no \(name)") }
            return value
        }
        username = try required("username")
        nonce = try required("nonce")
        cnonce = try required("cnonce")
        nonceCount = try required("nc")
        digestURI = try required("digest-uri")
        response = try required("response").lowercased()
        // A missing realm means the empty realm (2.1.2).
        realm = d["realm"] ?? ""
        qop = d["qop"] ?? "auth"
        charset = d["charset"]
        authzid = d["authzid"]
    }

    public var directives: DigestMD5Directives {
        var list: [DigestMD5Directives.Directive] = []
        if let charset { list.append(.init("charset", charset, quoted: false)) }
        list.append(.init("username", username, quoted: true))
        list.append(.init("realm", realm, quoted: true))
        list.append(.init("nonce", nonce, quoted: true))
        list.append(.init("nc", nonceCount, quoted: false))
        list.append(.init("cnonce", cnonce, quoted: true))
        list.append(.init("digest-uri", digestURI, quoted: true))
        list.append(.init("response", response, quoted: false))
        list.append(.init("qop", qop, quoted: false))
        if let authzid { list.append(.init("authzid", authzid, quoted: true)) }
        return DigestMD5Directives(list)
    }

    public var token: [UInt8] { directives.encoded }
}

/// The client's side of one exchange: answer the challenge, then check the server's rspauth.
public struct DigestMD5ClientExchange: Hashable, Sendable {
    public var username: String
    public var password: String
    public var digestURI: String
    public var cnonce: String

    /// `cnonce` is injectable so tests reproduce a fixed exchange.
    public init(
        username: String,
        password: String,
        digestURI: String = DigestMD5.zooKeeperDigestURI,
        cnonce: String = DigestMD5.randomNonce()
    ) {
        self.username = username
        self.password = password
        self.digestURI = digestURI
        self.cnonce = cnonce
    }

    /// The response to `challengeToken` and the rspauth value the server must send back.
    public func respond(
        to challengeToken: [UInt8]
    ) throws(DigestMD5Error) -> (
        response: DigestMD5Response, expectedRspauth: String
    ) {
        let challenge = try DigestMD5Challenge(parsing: challengeToken)
        guard challenge.qop.contains("auth") else {
            throw DigestMD5Error(.unsupported, "the server offers qop \(challenge.qop) but not auth")
        }
        // One realm offered: use it; none: the empty realm (2.1.2); several: ZooKeeper offers one.
        let realm = challenge.realms.first ?? ""
        let nc = DigestMD5.nonceCount(1)
        func value(_ rspauth: Bool) -> String {
            DigestMD5.responseValue(
                username: username,
                realm: realm,
                password: password,
                nonce: challenge.nonce,
                cnonce: cnonce,
                nonceCount: nc,
                digestURI: digestURI,
                forRspauth: rspauth
            )
        }
        let response = DigestMD5Response(
            charset: challenge.charset == nil ? nil : "utf-8",
            username: username,
            realm: realm,
            nonce: challenge.nonce,
            nonceCount: nc,
            cnonce: cnonce,
            digestURI: digestURI,
            response: value(false)
        )
        return (response, value(true))
    }

    /// Checks the server's final token (`rspauth=<hex>`) against the value `respond(to:)` predicted.
    public static func verifyFinal(_ token: [UInt8], expectedRspauth: String) throws(DigestMD5Error) {
        let directives = try DigestMD5Directives(parsing: token)
        guard let rspauth = directives["rspauth"] else {
            throw DigestMD5Error(.missingDirective, "the server's final token has no rspauth")
        }
        guard rspauth.lowercased() == expectedRspauth else {
            throw DigestMD5Error(.serverNotAuthenticated, "the server's rspauth does not match the password")
        }
    }
}

/// The server's side of one exchange: issue a challenge, verify the response, prove itself with rspauth.
public struct DigestMD5ServerExchange: Hashable, Sendable {
    public var realm: String
    public var nonce: String
    public var digestURI: String

    public init(
        realm: String = DigestMD5.zooKeeperRealm,
        nonce: String = DigestMD5.randomNonce(),
        digestURI: String = DigestMD5.zooKeeperDigestURI
    ) {
        self.realm = realm
        self.nonce = nonce
        self.digestURI = digestURI
    }

    public var challenge: DigestMD5Challenge { DigestMD5Challenge(realm: realm, nonce: nonce) }

    /// The first token the server sends (in reply to the client's empty token).
    public var challengeToken: [UInt8] { challenge.token }

    /// Verifies the client's response token. `password` returns the stored password of a user name, or nil
    /// for an unknown user. On success: the authenticated user name (the identity is `sasl:<user>`) and the
    /// final token, `rspauth=<hex>`.
    public func verify(
        responseToken: [UInt8],
        password: (String) -> String?
    ) throws(DigestMD5Error) -> (user: String, finalToken: [UInt8]) {
        let response = try DigestMD5Response(parsing: responseToken)
        guard response.nonce == nonce else { throw DigestMD5Error(.mismatch, "the response's nonce is not ours") }
        guard response.realm == realm else {
            throw DigestMD5Error(.mismatch, "realm \"\(response.realm)\" is not \"\(realm)\"")
        }
        guard response.digestURI == digestURI else {
            throw DigestMD5Error(.mismatch, "digest-uri \"\(response.digestURI)\" is not \"\(digestURI)\"")
        }
        guard response.qop.lowercased() == "auth" else {
            throw DigestMD5Error(.unsupported, "qop \(response.qop) (only auth)")
        }
        guard UInt32(response.nonceCount, radix: 16) == 1 else {
            throw DigestMD5Error(.mismatch, "nc \(response.nonceCount) is not 00000001")
        }
        guard let stored = password(response.username) else {
            throw DigestMD5Error(.wrongCredentials, "no such user \(response.username)")
        }
        func value(_ rspauth: Bool) -> String {
            DigestMD5.responseValue(
                username: response.username,
                realm: realm,
                password: stored,
                nonce: nonce,
                cnonce: response.cnonce,
                nonceCount: response.nonceCount,
                digestURI: digestURI,
                authzid: response.authzid,
                forRspauth: rspauth
            )
        }
        guard value(false) == response.response else {
            throw DigestMD5Error(.wrongCredentials, "wrong password for user \(response.username)")
        }
        let final = DigestMD5Directives([.init("rspauth", value(true), quoted: false)])
        // ZooKeeper's server names the session by the authentication id (the user name), as here.
        return (response.username, final.encoded)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
