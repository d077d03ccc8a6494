import Foundation
import Testing

@testable import StormEngine

extension EngineTests {
    /// The HTML report as Debian's headless Chromium lays it out.
    @Suite("HTML report in a browser")
    struct HTMLReportBrowserTests {
        /// The unit tests' sample run (`ReportTests.sampleResult()`), as JSON; the unit test
        /// `committedSampleRunIsTheSampleResult` keeps the two the same.
        static func sampleRun() throws -> RunResult {
            try RunResult.load(
                path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("Fixtures/sample-run.json").path
            )
        }

        @Test func htmlRendersEveryChartInHeadlessChromium() async throws {
            let html = HTMLReport.render(try Self.sampleRun())
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(!html.contains("<script"), "the report must be self-contained and script-free")
            #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 6)
            let check = try await BrowserCheck.charts(in: html)
            #expect(
                check.map(\.label) == [
                    "Latency by percentile", "Throughput over time", "Errors over time", "p99 latency over time",
                    "Watch notification lag distribution", "Fan-out per storm round",
                ]
            )
            for chart in check {
                #expect(chart.width > 300 && chart.height > 200, "\(chart.label) has no size")
                #expect(
                    chart.series > 0 && chart.drawn == chart.series,
                    "\(chart.label): \(chart.drawn) of \(chart.series) series drawn"
                )
            }
        }
    }
}

/// Opens HTML in Debian's headless Chromium and measures every chart as the browser laid it out.
enum BrowserCheck {
    struct Chart: Decodable {
        var label: String
        var width: Double
        var height: Double
        var series: Int
        var drawn: Int
    }

    static let probe = """
        <script>
        (function () {
          const charts = Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {
            const box = svg.getBoundingClientRect();
            const series = Array.from(svg.querySelectorAll('.series'));
            const drawn = series.filter(function (s) { const b = s.getBBox(); return b.width > 0 || b.height > 0; }).length;
            return { label: svg.getAttribute('aria-label'), width: box.width, height: box.height, series: series.length, drawn: drawn };
          });
          document.title = 'CHECK:' + JSON.stringify(charts);
        })();
        </script>
        """

    static func chromiumPath() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw BrowserCheckError(
            message: "chromium is not installed: run scripts/install-deps (apt-get install -y chromium)"
        )
    }

    static func charts(in html: String) async throws -> [Chart] {
        let chromium = try chromiumPath()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-html-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        try html.replacingOccurrences(of: "</body>", with: probe + "\n</body>").write(
            to: page,
            atomically: true,
            encoding: .utf8
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)", "--window-size=1280,2400",
            "--virtual-time-budget=2000", "--dump-dom", page.absoluteString,
        ]
        // Output to a file and an async wait: a blocking wait here would hold one of the two
        // cooperative threads and starve the timing tests running beside this one.
        let domFile = directory.appendingPathComponent("dom.html")
        _ = FileManager.default.createFile(atPath: domFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: domFile)
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield()
                continuation.finish()
            }
        }
        try process.run()
        let killer = Task {
            try await Task.sleep(nanoseconds: 60_000_000_000)
            if process.isRunning { process.terminate() }
        }
        for await _ in exited { break }
        killer.cancel()
        try output.close()
        let data = try Data(contentsOf: domFile)
        let dom = String(decoding: data, as: UTF8.self)
        guard let start = dom.range(of: "<title>CHECK:"),
            let end = dom.range(of: "</title>", range: start.upperBound..<dom.endIndex)
        else {
            throw BrowserCheckError(
                message: "chromium did not render the page (no probe result in \(dom.count) bytes of DOM)"
            )
        }
        let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&amp;", with: "&")
        return try JSONDecoder().decode([Chart].self, from: Data(json.utf8))
    }
}

struct BrowserCheckError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
