import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus server (Debian's /usr/bin/prometheus) on a free loopback port that scrapes one
/// target every second with `honor_labels: true` (as for a Pushgateway), storing into a temp dir.
public final class Prometheus: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`.
    public static let binary = "/usr/bin/prometheus"

    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    private let lock = NSLock()
    private var process: ObservabilityProcess?

    private init(port: Int, process: ObservabilityProcess) {
        self.port = port
        self.process = process
    }

    /// Starts Prometheus scraping `url`'s /metrics (e.g. a `Pushgateway.url`) and waits until ready.
    public static func start(scraping targetURL: String) async throws -> Prometheus {
        guard let target = URL(string: targetURL), let host = target.host, let targetPort = target.port else {
            throw ObservabilityServiceError(
                "Prometheus.start(scraping:) needs a URL with host and port, got \(targetURL)"
            )
        }
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = FreePort.allocate()
            let directory = try makeTemporaryDirectory(prefix: "zkstorm-prometheus")
            let config = """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: pushgateway
                    honor_labels: true
                    static_configs:
                      - targets: ['\(host):\(targetPort)']

                """
            let configFile = directory.appendingPathComponent("prometheus.yml")
            try config.write(to: configFile, atomically: true, encoding: .utf8)
            do {
                let process = try ObservabilityProcess.launch(
                    name: "prometheus",
                    binary: binary,
                    arguments: [
                        "--config.file=\(configFile.path)",
                        "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                        "--web.listen-address=127.0.0.1:\(port)",
                        "--log.level=warn",
                    ],
                    directory: directory
                )
                try await process.waitUntilReady(url: "http://127.0.0.1:\(port)/-/ready", timeout: .seconds(30))
                return Prometheus(port: port, process: process)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    public func stop() async {
        let process = lock.withLock { () -> ObservabilityProcess? in
            defer { self.process = nil }
            return self.process
        }
        await process?.stop()
    }

    /// Evaluates an instant PromQL query now (HTTP API /api/v1/query).
    public func query(_ promql: String) async throws -> PrometheusQueryResult {
        var components = URLComponents(string: "\(url)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promql)]
        // URLComponents leaves "+" alone, which a query string reads as a space.
        let encoded = components.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")
        let (status, body) = try await httpGet("\(url)/api/v1/query?\(encoded)")
        guard
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            json["status"] as? String == "success",
            let data = json["data"] as? [String: Any],
            let resultType = data["resultType"] as? String
        else {
            throw ObservabilityServiceError("Prometheus query \(promql) failed (HTTP \(status)): \(body)")
        }
        var samples: [PrometheusQueryResult.Sample] = []
        if let results = data["result"] as? [[String: Any]] {
            for result in results {
                let labels = result["metric"] as? [String: String] ?? [:]
                let value = (result["value"] as? [Any])?.last as? String ?? ""
                samples.append(.init(labels: labels, value: value))
            }
        } else if let scalar = data["result"] as? [Any], let value = scalar.last as? String {
            samples.append(.init(labels: [:], value: value))
        }
        return PrometheusQueryResult(resultType: resultType, samples: samples)
    }

    deinit {
        process?.kill()
    }
}

public struct PrometheusQueryResult: Sendable {
    public struct Sample: Sendable {
        public var labels: [String: String]
        /// As Prometheus writes it: "12.5", "NaN", "+Inf".
        public var value: String
    }

    /// "vector", "matrix", "scalar" or "string".
    public var resultType: String
    public var samples: [Sample]
}
