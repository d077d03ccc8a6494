import Foundation
import ZooKeeperClient

/// The sections about reaching the target: `target` (hosts, TLS, SASL, digest) and `reconnect`.
extension WorkloadParser {
    /// `reconnect: {policy: immediate | backoff | jitter, base: 50ms, max: 2s}`: `base` and `max` only
    /// for the back-off policies (`base` at least 1ms, `max` at least `base`).
    static func parseReconnect(_ reader: YAMLFieldReader) throws(WorkloadError) -> ReconnectPolicy {
        let policy = try reader.choice("policy", default: ReconnectPolicyName.immediate)
        if policy == .immediate {
            for key in ["base", "max"] where reader.has(key) {
                throw reader.error(key, "only for policy backoff or jitter; immediate waits for nothing")
            }
            return .immediate
        }
        let base = try reader.duration("base", default: .milliseconds(50), minimum: .milliseconds(1))
        let cap = try reader.duration("max", default: .seconds(2), minimum: base)
        return policy == .backoff
            ? .exponentialBackoff(base: base, max: cap) : .exponentialBackoffWithJitter(base: base, max: cap)
    }

    /// The `reconnect.policy` values.
    enum ReconnectPolicyName: String, CaseIterable {
        case immediate, backoff, jitter
    }

    /// `target: {hosts, tls: {ca, cert, key, server_name, insecure}, sasl: {user, password_file},
    /// digest: {user, password_file}}`.
    static func parseTarget(_ reader: YAMLFieldReader) throws(WorkloadError) -> (String?, TargetSecurity) {
        var security = TargetSecurity()
        let hosts = try reader.string("hosts")
        if let hosts, hosts.isEmpty {
            throw reader.error("hosts", "expected a connect string such as \"zk1:2281,zk2:2281/chroot\"")
        }
        func nonEmpty(_ r: YAMLFieldReader, _ key: String) throws(WorkloadError) -> String? {
            guard let value = try r.string(key) else { return nil }
            guard !value.isEmpty else { throw r.error(key, "expected a value, found nothing") }
            return value
        }
        if let node = reader.value("tls") {
            let tls = try YAMLFieldReader(file: reader.file, field: "target.tls", node: node, allowed: targetTLSFields)
            security.tlsCA = try nonEmpty(tls, "ca")
            security.tlsCert = try nonEmpty(tls, "cert")
            security.tlsKey = try nonEmpty(tls, "key")
            security.tlsServerName = try nonEmpty(tls, "server_name")
            if tls.has("insecure") { security.tlsInsecure = try tls.bool("insecure", default: false) }
            if (security.tlsCert == nil) != (security.tlsKey == nil) {
                throw tls.error(
                    security.tlsCert == nil ? "key" : "cert",
                    "a client certificate needs both `cert` and `key`"
                )
            }
            if security.tlsCA == nil && security.tlsCert == nil && security.tlsInsecure != true {
                throw YAMLFieldReader.error(
                    file: reader.file,
                    node: node,
                    field: "target.tls",
                    "TLS needs `ca` (the CA that signed the servers' certificates), `cert` and `key`, or `insecure: true`"
                )
            }
        }
        for scheme in ["sasl", "digest"] {
            guard let node = reader.value(scheme) else { continue }
            let r = try YAMLFieldReader(
                file: reader.file,
                field: "target.\(scheme)",
                node: node,
                allowed: targetCredentialFields
            )
            guard let user = try nonEmpty(r, "user") else {
                throw YAMLFieldReader.error(
                    file: reader.file,
                    node: node,
                    field: "target.\(scheme).user",
                    "missing; \(scheme) needs a `user` (and `password_file`, or ZKSTORM_\(scheme.uppercased())_PASSWORD)"
                )
            }
            let file = try nonEmpty(r, "password_file")
            if scheme == "sasl" {
                security.saslUser = user
                security.saslPasswordFile = file
            } else {
                security.digestUser = user
                security.digestPasswordFile = file
            }
        }
        security.resolveFiles(relativeToWorkload: reader.file)
        return (hosts, security)
    }
}
