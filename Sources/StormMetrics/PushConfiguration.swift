import Foundation

/// Where and how `MetricsPusher` pushes: the Pushgateway, the grouping key, credentials, TLS and timing.
///
/// `zkstorm run` fills it from `--push-*` flags and `ZKSTORM_PUSH*` variables with
/// `PushConfiguration.fromEnvironment(_:instance:run:overrides:)`: a flag wins over its variable.
public struct PushConfiguration: Sendable, Equatable {
    public struct BasicAuth: Sendable, Equatable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    /// The Pushgateway's base URL, e.g. "http://127.0.0.1:9091" (a path prefix is kept).
    public var url: String
    public var job: String = "zkstorm"
    public var instance: String
    public var run: String
    /// The shard of a sharded run (`zkstorm run --shard I/N`); nil for a run of one process. It joins the
    /// grouping key, so N shards of one run never overwrite each other's group on the gateway.
    public var shard: Shard?
    public var interval: Duration = .seconds(5)
    /// DELETE the run's group when the run ends, so finished runs don't linger as stale series.
    public var deleteOnExit: Bool = false
    public var basicAuth: BasicAuth?
    public var bearerToken: String?
    /// PEM bundle of the CAs that sign the gateway's certificate (https).
    public var caFile: String?
    /// Skip TLS certificate and host name checks (self-signed test gateways only).
    public var insecure: Bool = false
    /// Upper bound of one HTTP request, connecting included.
    public var timeout: Duration = .seconds(3)
    public var connectTimeout: Duration = .seconds(2)

    public init(url: String, instance: String, run: String) {
        self.url = url
        self.instance = instance
        self.run = run
    }

    /// The grouping key's labels in path order: job, instance, run, then shard and shards for a sharded run.
    /// The Pushgateway adds them to every pushed series.
    public var groupingLabels: [(label: String, value: String)] {
        var labels = [("job", job), ("instance", instance), ("run", run)]
        if let shard { labels += [("shard", String(shard.index)), ("shards", String(shard.count))] }
        return labels
    }

    /// The grouping key's path: `/metrics/job/<job>/instance/<instance>/run/<run>`, followed by
    /// `/shard/<index>/shards/<count>` for a sharded run.
    public var groupingPath: String {
        "/metrics" + groupingLabels.map { Self.pathSegment(label: $0.label, value: $0.value) }.joined()
    }

    /// The URL PUT and DELETE go to.
    public var groupURL: String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        return base + groupingPath
    }

    /// One `/<label>/<value>` pair. Values with "/" or empty ones use the Pushgateway's base64 form
    /// (`/<label>@base64/<url-safe base64>`, "=" for empty), since a "/" would end the segment.
    static func pathSegment(label: String, value: String) -> String {
        if value.isEmpty { return "/\(label)@base64/=" }
        if value.contains("/") {
            let base64 = Data(value.utf8).base64EncodedString()
            let urlSafe = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "/\(label)@base64/\(urlSafe)"
        }
        return "/\(label)/\(percentEncode(value))"
    }

    static func percentEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xf)])
            }
        }
        return out
    }

    /// Checks what can be checked before the first push; the message says which setting to fix.
    public func validate() throws(PushConfigurationError) {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), url.count > 8 else {
            throw PushConfigurationError(
                setting: "--push-gateway (ZKSTORM_PUSHGATEWAY)",
                message:
                    "\"\(url)\" is not an http:// or https:// URL; give the Pushgateway's address, e.g. http://127.0.0.1:9091"
            )
        }
        // URLComponents refuses a port outside 0...65535 ("http://127.0.0.1:99999") and a missing host.
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
            (components.port ?? 80) > 0 && (components.port ?? 80) <= 65535
        else {
            throw PushConfigurationError(
                setting: "--push-gateway (ZKSTORM_PUSHGATEWAY)",
                message:
                    "\"\(url)\" is not a usable URL (a host and a port 1-65535 are needed); give the Pushgateway's address, e.g. http://127.0.0.1:9091"
            )
        }
        guard interval > .zero else {
            throw PushConfigurationError(
                setting: "--push-interval (ZKSTORM_PUSH_INTERVAL)",
                message: "must be positive, e.g. 5s"
            )
        }
        guard timeout > .zero, connectTimeout > .zero else {
            throw PushConfigurationError(
                setting: "--push-timeout (ZKSTORM_PUSH_TIMEOUT)",
                message: "must be positive, e.g. 3s"
            )
        }
        if basicAuth != nil && bearerToken != nil {
            throw PushConfigurationError(
                setting: "--push-bearer-token (ZKSTORM_PUSH_BEARER_TOKEN)",
                message: "give either basic auth or a bearer token, not both: both use the Authorization header"
            )
        }
        if let shard, shard.count < 1 || !(0..<shard.count).contains(shard.index) {
            throw PushConfigurationError(
                setting: "--shard (JOB_COMPLETION_INDEX, ZKSTORM_SHARDS)",
                message: "shard \(shard.index)/\(shard.count) does not exist; give I/N with N >= 1 and 0 <= I < N"
            )
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw PushConfigurationError(
                setting: "--push-ca-file (ZKSTORM_PUSH_CA_FILE)",
                message: "cannot read \(caFile); give a PEM file of the CA that signed the gateway's certificate"
            )
        }
    }
}

/// A push setting that cannot work, naming the flag (or variable) to fix.
public struct PushConfigurationError: Error, Sendable, CustomStringConvertible {
    public var setting: String
    public var message: String
    public var description: String { "\(setting): \(message)" }
}

extension PushConfiguration {
    /// Values given on the command line; nil means "not given", so the environment (then the default) applies.
    public struct Overrides: Sendable {
        public var url: String?
        public var job: String?
        public var interval: Duration?
        public var deleteOnExit: Bool?
        public var basicAuth: BasicAuth?
        public var bearerToken: String?
        public var caFile: String?
        public var insecure: Bool?
        public var timeout: Duration?

        public init() {}
    }

    /// Environment variables read by `fromEnvironment`.
    public enum Variable {
        public static let url = "ZKSTORM_PUSHGATEWAY"
        public static let job = "ZKSTORM_PUSH_JOB"
        public static let interval = "ZKSTORM_PUSH_INTERVAL"
        public static let deleteOnExit = "ZKSTORM_PUSH_DELETE_ON_EXIT"
        /// "user:password".
        public static let basicAuth = "ZKSTORM_PUSH_BASIC_AUTH"
        public static let bearerToken = "ZKSTORM_PUSH_BEARER_TOKEN"
        public static let caFile = "ZKSTORM_PUSH_CA_FILE"
        public static let insecure = "ZKSTORM_PUSH_INSECURE"
        public static let timeout = "ZKSTORM_PUSH_TIMEOUT"
    }

    /// Merges command-line `overrides` over `environment` over defaults. Nil when neither names a gateway
    /// (pushing is off). Throws, naming the variable or flag, for a value that does not parse or validate.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        instance: String,
        run: String,
        overrides: Overrides = Overrides()
    ) throws(PushConfigurationError) -> PushConfiguration? {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        guard let url = overrides.url ?? value(Variable.url) else { return nil }
        var configuration = PushConfiguration(url: url, instance: instance, run: run)
        if let job = overrides.job ?? value(Variable.job) { configuration.job = job }
        if let interval = overrides.interval {
            configuration.interval = interval
        } else if let text = value(Variable.interval) {
            configuration.interval = try parseDuration(text, setting: Variable.interval)
        }
        if let timeout = overrides.timeout {
            configuration.timeout = timeout
        } else if let text = value(Variable.timeout) {
            configuration.timeout = try parseDuration(text, setting: Variable.timeout)
        }
        if let deleteOnExit = overrides.deleteOnExit {
            configuration.deleteOnExit = deleteOnExit
        } else if let text = value(Variable.deleteOnExit) {
            configuration.deleteOnExit = try parseBool(text, setting: Variable.deleteOnExit)
        }
        if let insecure = overrides.insecure {
            configuration.insecure = insecure
        } else if let text = value(Variable.insecure) {
            configuration.insecure = try parseBool(text, setting: Variable.insecure)
        }
        if let auth = overrides.basicAuth {
            configuration.basicAuth = auth
        } else if let text = value(Variable.basicAuth) {
            guard let colon = text.firstIndex(of: ":") else {
                throw PushConfigurationError(setting: Variable.basicAuth, message: "expected \"user:password\"")
            }
            configuration.basicAuth = BasicAuth(
                user: String(text[..<colon]),
                password: String(text[text.index(after: colon)...])
            )
        }
        configuration.bearerToken = overrides.bearerToken ?? value(Variable.bearerToken)
        configuration.caFile = overrides.caFile ?? value(Variable.caFile)
        try configuration.validate()
        return configuration
    }

    /// "5s", "500ms", "2m", "1.5s" or a bare number of seconds.
    public static func parseDuration(_ text: String, setting: String) throws(PushConfigurationError) -> Duration {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text
        var scale = 1.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = String(text.dropLast(unit.suffix.count))
            scale = unit.seconds
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0 else {
            throw PushConfigurationError(
                setting: setting,
                message: "\"\(text)\" is not a duration; use e.g. 5s, 500ms or 2m"
            )
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    static func parseBool(_ text: String, setting: String) throws(PushConfigurationError) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw PushConfigurationError(setting: setting, message: "\"\(text)\" is not a boolean; use true or false")
        }
    }
}
