import Foundation
import ZooKeeperClient
import ZooKeeperProtocol

/// How to reach a secured target, as given (file names, user names), from flags, the environment or a
/// workload's `target:` section. Passwords are never stored here: only the files that hold them, or
/// the environment variables `ZKSTORM_SASL_PASSWORD` / `ZKSTORM_DIGEST_PASSWORD`.
public struct TargetSecurity: Sendable, Hashable {
    public var tlsCA: String?
    public var tlsCert: String?
    public var tlsKey: String?
    public var tlsServerName: String?
    public var tlsInsecure: Bool?
    public var saslUser: String?
    public var saslPasswordFile: String?
    public var digestUser: String?
    public var digestPasswordFile: String?

    public init(
        tlsCA: String? = nil,
        tlsCert: String? = nil,
        tlsKey: String? = nil,
        tlsServerName: String? = nil,
        tlsInsecure: Bool? = nil,
        saslUser: String? = nil,
        saslPasswordFile: String? = nil,
        digestUser: String? = nil,
        digestPasswordFile: String? = nil
    ) {
        self.tlsCA = tlsCA
        self.tlsCert = tlsCert
        self.tlsKey = tlsKey
        self.tlsServerName = tlsServerName
        self.tlsInsecure = tlsInsecure
        self.saslUser = saslUser
        self.saslPasswordFile = saslPasswordFile
        self.digestUser = digestUser
        self.digestPasswordFile = digestPasswordFile
    }

    /// The environment variables, one per flag: ZKSTORM_TLS_CA, ZKSTORM_TLS_CERT, ZKSTORM_TLS_KEY,
    /// ZKSTORM_TLS_SERVER_NAME, ZKSTORM_TLS_INSECURE (1/true), ZKSTORM_SASL_USER, ZKSTORM_SASL_PASSWORD_FILE,
    /// ZKSTORM_DIGEST_USER, ZKSTORM_DIGEST_PASSWORD_FILE.
    public static func fromEnvironment(_ environment: [String: String]) -> TargetSecurity {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return TargetSecurity(
            tlsCA: value("ZKSTORM_TLS_CA"),
            tlsCert: value("ZKSTORM_TLS_CERT"),
            tlsKey: value("ZKSTORM_TLS_KEY"),
            tlsServerName: value("ZKSTORM_TLS_SERVER_NAME"),
            tlsInsecure: value("ZKSTORM_TLS_INSECURE").map { ["1", "true", "yes"].contains($0.lowercased()) },
            saslUser: value("ZKSTORM_SASL_USER"),
            saslPasswordFile: value("ZKSTORM_SASL_PASSWORD_FILE"),
            digestUser: value("ZKSTORM_DIGEST_USER"),
            digestPasswordFile: value("ZKSTORM_DIGEST_PASSWORD_FILE")
        )
    }

    /// Each field of `other` that is set replaces this one's (flags over environment over file).
    public func overridden(by other: TargetSecurity) -> TargetSecurity {
        TargetSecurity(
            tlsCA: other.tlsCA ?? tlsCA,
            tlsCert: other.tlsCert ?? tlsCert,
            tlsKey: other.tlsKey ?? tlsKey,
            tlsServerName: other.tlsServerName ?? tlsServerName,
            tlsInsecure: other.tlsInsecure ?? tlsInsecure,
            saslUser: other.saslUser ?? saslUser,
            saslPasswordFile: other.saslPasswordFile ?? saslPasswordFile,
            digestUser: other.digestUser ?? digestUser,
            digestPasswordFile: other.digestPasswordFile ?? digestPasswordFile
        )
    }

    /// A CA, a client certificate or insecure mode turns TLS on.
    public var usesTLS: Bool { tlsCA != nil || tlsCert != nil || tlsInsecure == true }
    public var isEmpty: Bool { self == TargetSecurity() }

    /// Reads the certificate files and passwords. `environment` supplies ZKSTORM_SASL_PASSWORD and
    /// ZKSTORM_DIGEST_PASSWORD when no password file is given.
    public func resolve(environment: [String: String]) throws(RunError) -> ClientSecurity {
        var security = ClientSecurity()
        if (tlsCert == nil) != (tlsKey == nil) {
            throw RunError(.usage, "a TLS client certificate needs both --tls-cert FILE and --tls-key FILE")
        }
        if usesTLS {
            do throws(ZooKeeperError) {
                security.tls = try ZooKeeperTLS(
                    caFile: tlsCA,
                    certificateFile: tlsCert,
                    keyFile: tlsKey,
                    serverName: tlsServerName,
                    insecure: tlsInsecure == true
                )
            } catch {
                throw RunError(.noInput, error.message)
            }
        } else if tlsServerName != nil {
            throw RunError(
                .usage,
                "--tls-server-name needs TLS: give --tls-ca FILE (or --tls-cert and --tls-key, or --tls-insecure)"
            )
        }
        if let saslUser {
            let password = try Self.password(
                file: saslPasswordFile,
                environment: environment["ZKSTORM_SASL_PASSWORD"],
                what: "SASL",
                flag: "--sasl-password-file",
                variable: "ZKSTORM_SASL_PASSWORD"
            )
            security.sasl = ZooKeeperSASL(user: saslUser, password: password)
        } else if saslPasswordFile != nil {
            throw RunError(.usage, "--sasl-password-file needs --sasl-user USER")
        }
        if let digestUser {
            let password = try Self.password(
                file: digestPasswordFile,
                environment: environment["ZKSTORM_DIGEST_PASSWORD"],
                what: "digest",
                flag: "--digest-password-file",
                variable: "ZKSTORM_DIGEST_PASSWORD"
            )
            security.digest = (digestUser, password)
        } else if digestPasswordFile != nil {
            throw RunError(.usage, "--digest-password-file needs --digest-user USER")
        }
        return security
    }

    private static func password(
        file: String?,
        environment: String?,
        what: String,
        flag: String,
        variable: String
    ) throws(RunError) -> String {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw RunError(
                    .noInput,
                    "cannot read the \(what) password file \(file): check the path and permissions"
                )
            }
            var text = String(decoding: data, as: UTF8.self)
            // One trailing line break is the file's, not the password's.
            if text.hasSuffix("\n") { text.removeLast() }
            if text.hasSuffix("\r") { text.removeLast() }
            return text
        }
        if let environment { return environment }
        throw RunError(
            .usage,
            "a \(what) user needs a password: give \(flag) FILE or set \(variable) (never on the command line)"
        )
    }
}

/// Security loaded and ready for clients: one TLS context shared by every session.
public struct ClientSecurity: Sendable {
    public var tls: ZooKeeperTLS?
    public var sasl: ZooKeeperSASL?
    public var digest: (user: String, password: String)?

    public init(tls: ZooKeeperTLS? = nil, sasl: ZooKeeperSASL? = nil, digest: (user: String, password: String)? = nil) {
        self.tls = tls
        self.sasl = sasl
        self.digest = digest
    }

    public var isEmpty: Bool { tls == nil && sasl == nil && digest == nil }

    public func apply(to configuration: inout ZooKeeperConfiguration) {
        configuration.tls = tls
        configuration.sasl = sasl
        if let digest {
            configuration.authInfo.append(
                AuthPacket(
                    scheme: DigestAuth.scheme,
                    auth: DigestAuth.credentials(user: digest.user, password: digest.password)
                )
            )
        }
    }

    /// The ACL for everything a run creates: only the sasl and digest identities it authenticated as (all
    /// permissions); open when it authenticated as nobody. A client certificate's x509 id is added from
    /// the server's whoAmI (`runACL(confirmedBy:)`, CertificateRunACL.swift).
    public var runACL: [ACL] {
        var acl: [ACL] = []
        if let sasl { acl.append(ACL(perms: .all, id: Id(scheme: "sasl", id: sasl.user))) }
        if let digest {
            acl.append(
                ACL(
                    perms: .all,
                    id: Id(scheme: "digest", id: DigestAuth.identity(user: digest.user, password: digest.password))
                )
            )
        }
        return acl.isEmpty ? ACL.openUnsafe : acl
    }

    /// "TLS (CA ca.pem, client certificate), SASL DIGEST-MD5 as bob, digest as alice" for messages.
    public var summary: String {
        var parts: [String] = []
        if let tls {
            var detail: [String] = []
            if tls.insecure { detail.append("insecure") } else if let ca = tls.caFile { detail.append("CA \(ca)") }
            if tls.certificateFile != nil { detail.append("client certificate") }
            parts.append(detail.isEmpty ? "TLS" : "TLS (\(detail.joined(separator: ", ")))")
        }
        if let sasl { parts.append("SASL \(sasl.mechanism) as \(sasl.user)") }
        if let digest { parts.append("digest as \(digest.user)") }
        return parts.isEmpty ? "plaintext, no authentication" : parts.joined(separator: ", ")
    }
}
