import ArgumentParser
import Foundation
import StormEngine
import ZooKeeperClient
import ZooKeeperProtocol

/// TLS, SASL and digest options shared by every command that talks to a target (`@OptionGroup`).
/// Each also reads an environment variable (ZKSTORM_TLS_CA, …); a flag wins over the variable, the
/// variable over a workload file's `target:` section. Passwords come from files or the environment only.
struct SecurityOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-ca"),
        help: ArgumentHelp(
            "PEM CA that signed the servers' certificates; turns TLS on (or ZKSTORM_TLS_CA).",
            valueName: "file"
        )
    )
    var tlsCA: String?

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp(
            "PEM client certificate; turns TLS on; needs --tls-key (or ZKSTORM_TLS_CERT).",
            valueName: "file"
        )
    )
    var tlsCert: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp("PEM private key of --tls-cert (or ZKSTORM_TLS_KEY).", valueName: "file")
    )
    var tlsKey: String?

    @Option(
        name: .customLong("tls-server-name"),
        help: ArgumentHelp(
            "Name sent as SNI and checked against the server certificate (default: the host of --target; or ZKSTORM_TLS_SERVER_NAME).",
            valueName: "name"
        )
    )
    var tlsServerName: String?

    @Flag(
        name: .customLong("tls-insecure"),
        help: "TLS without checking the server's certificate: labs only (or ZKSTORM_TLS_INSECURE=1)."
    )
    var tlsInsecure = false

    @Option(
        name: .customLong("sasl-user"),
        help: ArgumentHelp("Authenticate with SASL DIGEST-MD5 as this user (or ZKSTORM_SASL_USER).", valueName: "user")
    )
    var saslUser: String?

    @Option(
        name: .customLong("sasl-password-file"),
        help: ArgumentHelp(
            "File holding the SASL password (or ZKSTORM_SASL_PASSWORD_FILE; or the password in ZKSTORM_SASL_PASSWORD).",
            valueName: "file"
        )
    )
    var saslPasswordFile: String?

    @Option(
        name: .customLong("digest-user"),
        help: ArgumentHelp("addAuth digest as this user after connecting (or ZKSTORM_DIGEST_USER).", valueName: "user")
    )
    var digestUser: String?

    @Option(
        name: .customLong("digest-password-file"),
        help: ArgumentHelp(
            "File holding the digest password (or ZKSTORM_DIGEST_PASSWORD_FILE; or the password in ZKSTORM_DIGEST_PASSWORD).",
            valueName: "file"
        )
    )
    var digestPasswordFile: String?

    /// The flags alone, as overrides.
    var flags: TargetSecurity {
        TargetSecurity(
            tlsCA: tlsCA,
            tlsCert: tlsCert,
            tlsKey: tlsKey,
            tlsServerName: tlsServerName,
            tlsInsecure: tlsInsecure ? true : nil,
            saslUser: saslUser,
            saslPasswordFile: saslPasswordFile,
            digestUser: digestUser,
            digestPasswordFile: digestPasswordFile
        )
    }

    /// Workload file, then environment, then flags; files read and passwords loaded. On failure prints
    /// `command: message` and exits with the error's sysexits code (64 usage, 66 unreadable file).
    func resolve(command: String, workload: TargetSecurity = TargetSecurity()) throws -> ClientSecurity {
        let environment = ProcessInfo.processInfo.environment
        let merged = workload.overridden(by: .fromEnvironment(environment)).overridden(by: flags)
        do throws(RunError) {
            return try merged.resolve(environment: environment)
        } catch {
            FileHandle.standardError.write(Data("zkstorm \(command): \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}

/// Runs a command's connecting `body`; a TLS or SASL refusal (AUTHFAILED) is printed with the command's
/// name and exits 77 (EX_NOPERM), and a target that cannot be reached or is lost (CONNECTIONLOSS,
/// SESSIONEXPIRED, OPERATIONTIMEOUT) exits 69 (EX_UNAVAILABLE), as `run` and `check` do.
func exitingOnRefusal<T>(command: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ZooKeeperError where error.code == .authFailed {
        FileHandle.standardError.write(Data("zkstorm \(command): \(error.message)\n".utf8))
        throw ExitCode(77)
    } catch let error as ZooKeeperError
        where [.connectionLoss, .sessionExpired, .operationTimeout].contains(error.code)
    {
        FileHandle.standardError.write(Data("zkstorm \(command): \(error.message)\n".utf8))
        throw ExitCode(69)
    }
}
