import Testing

@testable import StormMetrics

@Suite struct PushConfigurationTests {
    @Test func noGatewayMeansNoPushing() throws {
        #expect(try PushConfiguration.fromEnvironment([:], instance: "i", run: "r") == nil)
        #expect(try PushConfiguration.fromEnvironment(["ZKSTORM_PUSHGATEWAY": "  "], instance: "i", run: "r") == nil)
    }

    @Test func environmentFillsEverySetting() throws {
        let environment = [
            "ZKSTORM_PUSHGATEWAY": "https://gw.example:9091/prefix/",
            "ZKSTORM_PUSH_JOB": "storm",
            "ZKSTORM_PUSH_INTERVAL": "500ms",
            "ZKSTORM_PUSH_DELETE_ON_EXIT": "true",
            "ZKSTORM_PUSH_BASIC_AUTH": "user:pa:ss",
            "ZKSTORM_PUSH_INSECURE": "1",
            "ZKSTORM_PUSH_TIMEOUT": "2.5s",
        ]
        let configuration = try #require(
            try PushConfiguration.fromEnvironment(environment, instance: "host-1", run: "run-9")
        )
        #expect(configuration.url == "https://gw.example:9091/prefix/")
        #expect(configuration.groupURL == "https://gw.example:9091/prefix/metrics/job/storm/instance/host-1/run/run-9")
        #expect(configuration.interval == .milliseconds(500))
        #expect(configuration.timeout == .milliseconds(2500))
        #expect(configuration.deleteOnExit)
        #expect(configuration.insecure)
        #expect(configuration.basicAuth == .init(user: "user", password: "pa:ss"))
        #expect(configuration.bearerToken == nil)
    }

    @Test func commandLineWinsOverEnvironment() throws {
        var overrides = PushConfiguration.Overrides()
        overrides.url = "http://127.0.0.1:9091"
        overrides.interval = .seconds(10)
        overrides.deleteOnExit = false
        overrides.bearerToken = "t"
        let environment = [
            "ZKSTORM_PUSHGATEWAY": "http://other:9091", "ZKSTORM_PUSH_INTERVAL": "1s",
            "ZKSTORM_PUSH_DELETE_ON_EXIT": "yes",
        ]
        let configuration = try #require(
            try PushConfiguration.fromEnvironment(environment, instance: "i", run: "r", overrides: overrides)
        )
        #expect(configuration.url == "http://127.0.0.1:9091")
        #expect(configuration.interval == .seconds(10))
        #expect(!configuration.deleteOnExit)
        #expect(configuration.bearerToken == "t")
        #expect(configuration.job == "zkstorm")
        #expect(configuration.timeout == .seconds(3))
    }

    @Test func badValuesNameTheSettingToFix() {
        func message(_ environment: [String: String]) -> String? {
            do {
                _ = try PushConfiguration.fromEnvironment(environment, instance: "i", run: "r")
                return nil
            } catch {
                return error.description
            }
        }
        let url = ["ZKSTORM_PUSHGATEWAY": "http://127.0.0.1:9091"]
        #expect(
            message(["ZKSTORM_PUSHGATEWAY": "127.0.0.1:9091"])?.hasPrefix(
                "--push-gateway (ZKSTORM_PUSHGATEWAY): \"127.0.0.1:9091\" is not an http:// or https:// URL"
            ) == true
        )
        #expect(
            message(url.merging(["ZKSTORM_PUSH_INTERVAL": "soon"]) { $1 })?.hasPrefix(
                "ZKSTORM_PUSH_INTERVAL: \"soon\" is not a duration"
            )
                == true
        )
        #expect(
            message(url.merging(["ZKSTORM_PUSH_INSECURE": "maybe"]) { $1 })?.hasPrefix("ZKSTORM_PUSH_INSECURE:") == true
        )
        #expect(
            message(url.merging(["ZKSTORM_PUSH_BASIC_AUTH": "nocolon"]) { $1 })?.hasPrefix("ZKSTORM_PUSH_BASIC_AUTH:")
                == true
        )
        #expect(
            message(url.merging(["ZKSTORM_PUSH_CA_FILE": "/nonexistent/ca.pem"]) { $1 })?.contains(
                "cannot read /nonexistent/ca.pem"
            )
                == true
        )
        #expect(
            message(url.merging(["ZKSTORM_PUSH_BASIC_AUTH": "u:p", "ZKSTORM_PUSH_BEARER_TOKEN": "t"]) { $1 })?.contains(
                "not both"
            ) == true
        )
    }

    @Test func durationsParseInCommonForms() throws {
        #expect(try PushConfiguration.parseDuration("5s", setting: "x") == .seconds(5))
        #expect(try PushConfiguration.parseDuration("250ms", setting: "x") == .milliseconds(250))
        #expect(try PushConfiguration.parseDuration("2m", setting: "x") == .seconds(120))
        #expect(try PushConfiguration.parseDuration("1.5", setting: "x") == .milliseconds(1500))
        #expect(throws: PushConfigurationError.self) { try PushConfiguration.parseDuration("0s", setting: "x") }
        #expect(throws: PushConfigurationError.self) { try PushConfiguration.parseDuration("-1s", setting: "x") }
    }

    @Test func aShardJoinsTheGroupingKeySoShardsOfOneRunKeepTheirOwnGroups() throws {
        var configuration = PushConfiguration(url: "http://127.0.0.1:9091", instance: "pod-a", run: "run-7")
        #expect(configuration.groupingPath == "/metrics/job/zkstorm/instance/pod-a/run/run-7")
        configuration.shard = .init(index: 2, count: 3)
        #expect(configuration.groupingPath == "/metrics/job/zkstorm/instance/pod-a/run/run-7/shard/2/shards/3")
        #expect(configuration.groupingLabels.map(\.label) == ["job", "instance", "run", "shard", "shards"])
        try configuration.validate()
        var other = configuration
        other.shard = .init(index: 1, count: 3)
        #expect(other.groupURL != configuration.groupURL)
        configuration.shard = .init(index: 3, count: 3)
        #expect(throws: PushConfigurationError.self) { try configuration.validate() }
    }
}
