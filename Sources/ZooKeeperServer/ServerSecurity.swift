import NIOSSL

/// How the built-in server secures client connections: a TLS listener on a second port (ZooKeeper's
/// `secureClientPort`), SASL DIGEST-MD5 users, and whether requests before authentication are refused.
/// The default secures nothing, so a server without it behaves exactly as before.
public struct ServerSecurityConfiguration: Sendable {
    /// The TLS listener; nil serves plaintext only.
    public var tls: ServerTLSConfiguration?
    /// SASL DIGEST-MD5 users (name → password), as a JAAS `DigestLoginModule` section lists them.
    /// Empty: no SASL server, and a `sasl` packet is answered as ZooKeeper without one answers it.
    public var saslUsers: [String: String] = [:]
    /// The schemes that count as authenticated for `requireAuthentication` (ZooKeeper's
    /// `enforce.auth.schemes`).
    public var requiredAuthSchemes: Set<String> = ["sasl", "x509"]
    /// Refuse every request but `auth` and `sasl` until the connection holds an id of one of
    /// `requiredAuthSchemes` (ZooKeeper's `enforce.auth.enabled=true`): err -124, then close.
    public var requireAuthentication = false

    public init(
        tls: ServerTLSConfiguration? = nil,
        saslUsers: [String: String] = [:],
        requireAuthentication: Bool = false
    ) {
        self.tls = tls
        self.saslUsers = saslUsers
        self.requireAuthentication = requireAuthentication
    }

    /// Whether a SASL server answers opcode 102.
    var saslEnabled: Bool { !saslUsers.isEmpty }
}

/// The TLS listener: PEM certificate chain and key, the CA that client certificates must chain to,
/// and whether a client certificate is required (`ssl.clientAuth`).
public struct ServerTLSConfiguration: Sendable {
    /// ZooKeeper's `ssl.clientAuth`: `need` (the default) fails the handshake without a trusted
    /// client certificate, `want` asks for one and verifies it if given, `none` does not ask.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case need, want, none
    }

    /// 0 binds an ephemeral port; read the bound one from `ZooKeeperServer.securePort`.
    public var port: Int
    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey
    /// The CA client certificates must chain to; required unless `clientAuth` is `.none`.
    public var trustRoots: [NIOSSLCertificate]
    public var clientAuth: ClientAuth

    public init(
        port: Int,
        certificateChain: [NIOSSLCertificate],
        privateKey: NIOSSLPrivateKey,
        trustRoots: [NIOSSLCertificate] = [],
        clientAuth: ClientAuth = .need
    ) {
        self.port = port
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
        self.clientAuth = clientAuth
    }

    /// Reads the PEM files; every error names the file and what to do.
    public static func fromPEMFiles(
        port: Int,
        certificate: String,
        key: String,
        ca: String?,
        clientAuth: ClientAuth = .need
    ) throws(ZooKeeperServerError) -> ServerTLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw ZooKeeperServerError(
                message: "\(certificate): cannot read a PEM certificate (\(error)). Give --tls-cert a PEM file "
                    + "holding the server certificate (and its chain)."
            )
        }
        guard !chain.isEmpty else {
            throw ZooKeeperServerError(message: "\(certificate): no PEM certificate in the file.")
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ZooKeeperServerError(
                message: "\(key): cannot read a PEM private key (\(error)). Give --tls-key the unencrypted "
                    + "PEM key of --tls-cert."
            )
        }
        var roots: [NIOSSLCertificate] = []
        if let ca {
            do {
                roots = try NIOSSLCertificate.fromPEMFile(ca)
            } catch {
                throw ZooKeeperServerError(
                    message: "\(ca): cannot read a PEM CA certificate (\(error)). Give --tls-ca the CA that "
                        + "signs client certificates."
                )
            }
            guard !roots.isEmpty else { throw ZooKeeperServerError(message: "\(ca): no PEM certificate in the file.") }
        } else if clientAuth != .none {
            throw ZooKeeperServerError(
                message: "--client-auth \(clientAuth.rawValue) needs --tls-ca (the CA client certificates "
                    + "must chain to); give one, or use --client-auth none."
            )
        }
        let tls = ServerTLSConfiguration(
            port: port,
            certificateChain: chain,
            privateKey: privateKey,
            trustRoots: roots,
            clientAuth: clientAuth
        )
        // Build the context once now, so a key that does not match its certificate is bad input here,
        // not a failure to start later.
        do {
            _ = try NIOSSLContext(configuration: tls.tlsConfiguration)
        } catch {
            throw ZooKeeperServerError(
                message: "\(key) is not the private key of \(certificate) (\(error)); give --tls-key the key the "
                    + "certificate was issued for."
            )
        }
        return tls
    }

    /// The swift-nio-ssl configuration the listener's context is made from.
    var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        // ZooKeeper 3.8 negotiates TLSv1.2 or 1.3; nothing older.
        configuration.minimumTLSVersion = .tlsv12
        if !trustRoots.isEmpty { configuration.trustRoots = .certificates(trustRoots) }
        switch clientAuth {
        case .need: configuration.certificateVerification = .noHostnameVerification
        case .want: configuration.certificateVerification = .optionalVerification
        case .none: configuration.certificateVerification = .none
        }
        return configuration
    }
}

/// A file of `user=password` lines: the SASL DIGEST-MD5 users of `zkstorm serve --sasl-users`.
/// Blank lines and lines starting with `#` are skipped; everything after the first `=` is the password.
public enum SASLUsersFile {
    public static func parse(_ text: String, file: String) throws(ZooKeeperServerError) -> [String: String] {
        var users: [String: String] = [:]
        var lineNumber = 0
        // Splitting on isNewline: "\r\n" is one Character in Swift, so a "\n" separator would miss it.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ZooKeeperServerError(
                    message: "\(file):\(lineNumber): expected user=password, found no '='. Write one user per line."
                )
            }
            let user = String(line[..<equals]).trimmingBlanks
            let password = String(line[line.index(after: equals)...])
            guard !user.isEmpty else {
                throw ZooKeeperServerError(message: "\(file):\(lineNumber): the user name before '=' is empty.")
            }
            guard user.allSatisfy({ $0 != " " && $0 != "\t" && $0 != "@" && $0 != "/" }) else {
                throw ZooKeeperServerError(
                    message: "\(file):\(lineNumber): user name '\(user)' holds a blank, '@' or '/'; "
                        + "SASL ids cannot (ZooKeeper parses them as Kerberos names)."
                )
            }
            guard !password.isEmpty else {
                throw ZooKeeperServerError(message: "\(file):\(lineNumber): user '\(user)' has an empty password.")
            }
            guard users[user] == nil else {
                throw ZooKeeperServerError(message: "\(file):\(lineNumber): user '\(user)' is listed twice.")
            }
            users[user] = password
        }
        guard !users.isEmpty else {
            throw ZooKeeperServerError(message: "\(file): no user=password line; add at least one user.")
        }
        return users
    }
}

extension String {
    fileprivate var trimmingBlanks: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
