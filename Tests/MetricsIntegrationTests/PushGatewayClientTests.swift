import StormMetricsTestSupport
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

@Suite struct PushGatewayClientTests {
    @Test func pushedSeriesAppearOnTheGatewayUnderTheGroupingKeyAndDeleteRemovesThem() async throws {
        let gateway = try await Pushgateway.start()
        let configuration = PushConfiguration(url: gateway.url, instance: "worker-1", run: "run-42")
        let client = PushGatewayClient(configuration: configuration)
        do {
            try await client.push(PrometheusExposition.render(SampleSnapshots.realistic()))
            let text = try await gateway.metricsText()
            #expect(
                text.contains(
                    #"zkstorm_requests_total{instance="worker-1",job="zkstorm",op="get",result="ok",run="run-42"} 400"#
                )
            )
            #expect(
                text.contains(
                    #"zkstorm_request_duration_seconds_bucket{instance="worker-1",job="zkstorm",op="set",result="ok",run="run-42",le="+Inf"} 120"#
                )
            )
            #expect(
                text.contains(
                    #"zkstorm_request_latency_seconds{instance="worker-1",job="zkstorm",op="get",result="ok",run="run-42",quantile="0.99"}"#
                )
            )
            #expect(
                text.contains(
                    #"zkstorm_server_info{instance="worker-1",job="zkstorm",run="run-42",server="127.0.0.1:2181",state="leader",version="3.8.0"} 1"#
                )
            )
            #expect(text.contains(#"push_time_seconds{instance="worker-1",job="zkstorm",run="run-42"}"#))

            try await client.delete()
            let afterDelete = try await gateway.metricsText()
            #expect(!afterDelete.contains("zkstorm_requests_total"))
        } catch {
            Issue.record("\(error)")
        }
        await client.shutdown()
        await gateway.stop()
    }

    @Test func labelValuesWithSlashesOrSpacesSurviveTheGroupingPath() async throws {
        let gateway = try await Pushgateway.start()
        let configuration = PushConfiguration(url: gateway.url + "/", instance: "host-a/pod 7", run: "2026-11-24 run%1")
        #expect(
            configuration.groupingPath
                == "/metrics/job/zkstorm/instance@base64/aG9zdC1hL3BvZCA3/run/2026-11-24%20run%251"
        )
        let client = PushGatewayClient(configuration: configuration)
        do {
            try await client.push(PrometheusExposition.render(SampleSnapshots.realistic()))
            let text = try await gateway.metricsText()
            #expect(
                text.contains(#"zkstorm_sessions{instance="host-a/pod 7",job="zkstorm",run="2026-11-24 run%1"} 64"#)
            )
        } catch {
            Issue.record("\(error)")
        }
        #expect(
            PushConfiguration(url: gateway.url, instance: "", run: "r").groupingPath
                == "/metrics/job/zkstorm/instance@base64/=/run/r"
        )
        await client.shutdown()
        await gateway.stop()
    }

    @Test func bodyGoesGzipEncodedWithTheRightHeadersAndTheRealGatewayAcceptsIt() async throws {
        let listener = try await RawHTTPListener()
        var configuration = PushConfiguration(url: listener.url, instance: "worker-1", run: "run-42")
        configuration.basicAuth = .init(user: "storm", password: "s3cret")
        let client = PushGatewayClient(configuration: configuration)
        let text = PrometheusExposition.render(SampleSnapshots.realistic())
        try await client.push(text)
        let request = try #require(await listener.nextRequest())
        #expect(request.requestLine == "PUT /metrics/job/zkstorm/instance/worker-1/run/run-42 HTTP/1.1")
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(request.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(request.header("Authorization") == "Basic c3Rvcm06czNjcmV0")
        #expect(request.header("Expect") == nil)
        #expect(Array(request.body.prefix(2)) == Gzip.magic)
        #expect(request.body.count < text.utf8.count / 4)
        #expect(String(decoding: try Gzip.decompress(request.body), as: UTF8.self) == text)

        try await client.delete()
        let delete = try #require(await listener.nextRequest())
        #expect(delete.requestLine == "DELETE /metrics/job/zkstorm/instance/worker-1/run/run-42 HTTP/1.1")
        #expect(delete.body.isEmpty)
        await client.shutdown()

        configuration.basicAuth = nil
        configuration.bearerToken = "token-123"
        let bearerClient = PushGatewayClient(configuration: configuration)
        try await bearerClient.push(text)
        #expect(await listener.nextRequest()?.header("Authorization") == "Bearer token-123")
        await bearerClient.shutdown()
        await listener.close()

        // The very bytes the listener captured are accepted by the real gateway.
        let gateway = try await Pushgateway.start()
        let realClient = PushGatewayClient(
            configuration: PushConfiguration(url: gateway.url, instance: "worker-1", run: "run-42")
        )
        do {
            try await realClient.push(gzippedBody: request.body)
            #expect(
                try await gateway.metricsText().contains(
                    #"zkstorm_watch_events_total{instance="worker-1",job="zkstorm",run="run-42",watch_type="data"} 150"#
                )
            )
        } catch {
            Issue.record("\(error)")
        }
        await realClient.shutdown()
        await gateway.stop()
    }

    @Test func errorsNameTheURLAndWhatToDo() async throws {
        let deadPort = try await RawHTTPListener().closedPort()
        let dead = PushGatewayClient(
            configuration: PushConfiguration(url: "http://127.0.0.1:\(deadPort)", instance: "i", run: "r")
        )
        await #expect {
            try await dead.push("zkstorm_sessions 1\n")
        } throws: { error in
            let text = "\(error)"
            return text.contains("PUT http://127.0.0.1:\(deadPort)/metrics/job/zkstorm/instance/i/run/r failed")
                && text.contains("Check that the Pushgateway is running")
                && (error as? PushGatewayError)?.statusCode == nil
        }
        await dead.shutdown()

        let gateway = try await Pushgateway.start()
        let client = PushGatewayClient(configuration: PushConfiguration(url: gateway.url, instance: "i", run: "r"))
        // A sample with a timestamp-like third field and a broken label: the gateway answers 400.
        await #expect {
            try await client.push("zkstorm_sessions{a=\"b} 1\n")
        } throws: { error in
            let pushError = error as? PushGatewayError
            return pushError?.statusCode == 400 && "\(error)".contains(gateway.url)
                && "\(error)".contains("zkstorm bug")
        }
        await client.shutdown()
        await gateway.stop()
    }
}

extension RawHTTPListener {
    /// Closes the listener and returns its port: nothing listens there any more.
    func closedPort() async -> Int {
        let port = self.port
        await close()
        return port
    }
}
