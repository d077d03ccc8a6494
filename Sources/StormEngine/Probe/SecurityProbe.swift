import Logging
import ZooKeeperClient
import ZooKeeperProtocol

/// What `zkstorm check` says about how a target is secured: the TLS version negotiated, whether the
/// server requires a client certificate, SASL's outcome and mechanism, the identities `whoAmI` returns,
/// and how long each connect phase took.
package enum SecurityProbe {
    package struct Finding: Sendable, Hashable {
        package var feature: String
        /// False when the feature was tried and failed (a refused probe connection, a failed whoAmI).
        package var ok: Bool
        package var detail: String
    }

    /// Connects once with `security` (throws the client's `ZooKeeperError` when that fails: the caller
    /// maps AUTHFAILED to exit 77), then once more without the client certificate when one was given,
    /// to learn whether the server demands it.
    package static func run(
        connectString: String,
        security: ClientSecurity,
        logger: Logger = Logger(label: "zkstorm.probe")
    ) async throws -> [Finding] {
        var configuration = ZooKeeperConfiguration(connectString: connectString)
        configuration.sessionTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(3)
        configuration.logger = logger
        security.apply(to: &configuration)
        let client = try await ZooKeeperClient.connect(configuration)
        var findings: [Finding] = []
        let phases = client.lastConnectPhases
        if let tls = security.tls {
            var detail = phases?.tlsVersion ?? "unknown version"
            detail += ", " + (phases?.tlsCipher ?? "cipher suite unknown")
            detail +=
                tls.insecure ? "; server certificate NOT verified (--tls-insecure)" : "; server certificate verified"
            findings.append(Finding(feature: "TLS", ok: true, detail: detail))
            findings.append(await clientCertificateFinding(configuration: configuration, tls: tls))
        } else {
            findings.append(Finding(feature: "TLS", ok: true, detail: "not used (plaintext)"))
        }
        if let sasl = security.sasl {
            findings.append(
                Finding(
                    feature: "SASL",
                    ok: true,
                    detail: "succeeded: \(sasl.mechanism) as \(sasl.user), server's rspauth verified"
                )
            )
        } else {
            findings.append(Finding(feature: "SASL", ok: true, detail: "not used"))
        }
        if let digest = security.digest {
            findings.append(Finding(feature: "digest auth", ok: true, detail: "addAuth digest as \(digest.user)"))
        }
        do {
            // Auth packets are answered in order; a sync after them means the server has applied them.
            _ = try await client.send(.sync(path: "/"))
            guard case .whoAmI(let ids) = try await client.send(.whoAmI) else {
                throw ZooKeeperError(code: .marshallingError, message: "whoAmI answered with another record")
            }
            let text = ids.map { "\($0.authScheme):\($0.user)" }.joined(separator: ", ")
            findings.append(Finding(feature: "whoAmI", ok: true, detail: text.isEmpty ? "no identities" : text))
        } catch {
            findings.append(Finding(feature: "whoAmI", ok: false, detail: "\(error)"))
        }
        if let phases {
            findings.append(Finding(feature: "connect phases", ok: true, detail: describe(phases)))
        }
        try? await client.close()
        return findings
    }

    static func clientCertificateFinding(configuration: ZooKeeperConfiguration, tls: ZooKeeperTLS) async -> Finding {
        guard tls.certificateFile != nil else {
            return Finding(
                feature: "client certificate",
                ok: true,
                detail: "none given; the server did not require one"
            )
        }
        var bare = configuration
        do {
            bare.tls = try ZooKeeperTLS(caFile: tls.caFile, serverName: tls.serverName, insecure: tls.insecure)
        } catch {
            return Finding(feature: "client certificate", ok: false, detail: "\(error)")
        }
        bare.authInfo = []
        do {
            let probe = try await ZooKeeperClient.connect(bare)
            try? await probe.close()
            return Finding(
                feature: "client certificate",
                ok: true,
                detail: "given; not required (a connection without it was accepted: ssl.clientAuth=want or none)"
            )
        } catch let error as ZooKeeperError where error.message.contains("certificate required") {
            return Finding(
                feature: "client certificate",
                ok: true,
                detail: "required (ssl.clientAuth=need): given and accepted"
            )
        } catch {
            return Finding(
                feature: "client certificate",
                ok: true,
                detail: "given and accepted; a connection without it failed otherwise: \(error)"
            )
        }
    }

    static func describe(_ p: ConnectPhaseTimings) -> String {
        func ms(_ ns: UInt64) -> String {
            let tenths = (ns + 50_000) / 100_000
            return "\(tenths / 10).\(tenths % 10) ms"
        }
        var parts = ["TCP \(ms(p.tcpNanos))"]
        if let tls = p.tlsNanos { parts.append("TLS \(ms(tls))") }
        parts.append("handshake \(ms(p.handshakeNanos))")
        if let sasl = p.saslNanos { parts.append("SASL \(ms(sasl))") }
        parts.append("total \(ms(p.totalNanos))")
        return parts.joined(separator: ", ")
    }
}
