import ArgumentParser
import Foundation
import ZooKeeperServer

/// `zkstorm serve`'s security flags: a TLS port, SASL DIGEST-MD5 users and enforced authentication.
struct ServeSecurityOptions: ParsableArguments {
    @Option(name: .customLong("secure-port"), help: "TLS port (ZooKeeper's secureClientPort; 0 picks a free one).")
    var securePort: Int?

    @Option(name: .customLong("tls-cert"), help: "PEM server certificate (and chain) for --secure-port.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (unencrypted).")
    var tlsKey: String?

    @Option(name: .customLong("tls-ca"), help: "PEM CA that client certificates must chain to.")
    var tlsCA: String?

    @Option(
        name: .customLong("client-auth"),
        help: "Client certificates: need (default, as ZooKeeper 3.8), want, or none."
    )
    var clientAuth: String = "need"

    @Option(
        name: .customLong("sasl-users"),
        help: "File of user=password lines: SASL DIGEST-MD5 users (ids sasl:<user>)."
    )
    var saslUsers: String?

    @Flag(
        name: .customLong("require-auth"),
        help: "Refuse requests until the connection is authenticated by SASL or a client certificate (-124)."
    )
    var requireAuth = false

    /// A failure to read a security file: the message names it; the code follows sysexits.
    struct Failure: Error {
        var message: String
        var exitCode: Int32
    }

    func validate() throws {
        guard let mode = ServerTLSConfiguration.ClientAuth(rawValue: clientAuth) else {
            throw ValidationError("--client-auth must be need, want or none, got '\(clientAuth)'.")
        }
        if let securePort {
            guard (0...65535).contains(securePort) else {
                throw ValidationError("--secure-port must be between 0 and 65535, got \(securePort).")
            }
            guard tlsCert != nil, tlsKey != nil else {
                throw ValidationError("--secure-port needs --tls-cert and --tls-key (PEM files).")
            }
            if mode != .none, tlsCA == nil {
                throw ValidationError(
                    "--client-auth \(mode.rawValue) needs --tls-ca (the CA client certificates must chain to), "
                        + "or use --client-auth none."
                )
            }
        } else if tlsCert != nil || tlsKey != nil || tlsCA != nil {
            throw ValidationError("--tls-cert, --tls-key and --tls-ca need --secure-port (the TLS port).")
        }
        if requireAuth, saslUsers == nil, securePort == nil || mode == .none {
            throw ValidationError(
                "--require-auth needs a way to authenticate: --sasl-users, or --secure-port with client certificates."
            )
        }
    }

    func configuration() throws(Failure) -> ServerSecurityConfiguration {
        var security = ServerSecurityConfiguration(requireAuthentication: requireAuth)
        if let securePort, let tlsCert, let tlsKey {
            for file in [tlsCert, tlsKey] + (tlsCA.map { [$0] } ?? [])
            where !FileManager.default.fileExists(atPath: file) {
                throw Failure(message: "\(file): no such file.", exitCode: 66)
            }
            do {
                security.tls = try ServerTLSConfiguration.fromPEMFiles(
                    port: securePort,
                    certificate: tlsCert,
                    key: tlsKey,
                    ca: tlsCA,
                    clientAuth: ServerTLSConfiguration.ClientAuth(rawValue: clientAuth) ?? .need
                )
            } catch {
                throw Failure(message: error.message, exitCode: 65)
            }
        }
        if let saslUsers {
            guard FileManager.default.fileExists(atPath: saslUsers) else {
                throw Failure(message: "\(saslUsers): no such file (--sasl-users).", exitCode: 66)
            }
            let text: String
            do {
                text = try String(contentsOfFile: saslUsers, encoding: .utf8)
            } catch {
                throw Failure(
                    message: "\(saslUsers): cannot read the SASL users file (\(error.localizedDescription)).",
                    exitCode: 66
                )
            }
            do {
                security.saslUsers = try SASLUsersFile.parse(text, file: saslUsers)
            } catch {
                throw Failure(message: error.message, exitCode: 65)
            }
        }
        return security
    }

    /// What the log line says about the TLS listener.
    var summary: String {
        var parts = ["client certificates: \(clientAuth)"]
        if saslUsers != nil { parts.append("SASL DIGEST-MD5") }
        if requireAuth { parts.append("authentication required") }
        return "(" + parts.joined(separator: ", ") + ")"
    }
}
