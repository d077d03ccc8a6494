import Foundation
import Testing
import ZooKeeperTestSupport

/// `zkstorm check` and `zkstorm report` as issue 16's user ran them.
@Suite("zkstorm check and report messages end to end", .serialized)
struct CheckAndReportMessagesTests {
    @Test(arguments: TestTarget.allCases)
    func checkNamesAMissingChrootAndExits64(target: TestTarget) async throws {
        let server = try await target.shared()
        let chroot = TestTarget.uniqueRoot("nochroot")
        let result = try await ZkstormProcess.run(["check", "--target", server.connectString + chroot])
        #expect(result.status == 64, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("the chroot \(chroot) does not exist"), "\(result.stderr)")
        #expect(!result.stdout.contains("unsupported"), "\(result.stdout)")
    }

    @Test func checkEventTimeoutTakesADuration() async throws {
        let server = try await TestTarget.builtIn.shared()
        let good = try await ZkstormProcess.run([
            "check", "--target", server.connectString, "--event-timeout", "1500ms",
        ])
        #expect(good.status == 0, "\(good.stderr)")
        let bad = try await ZkstormProcess.run(["check", "--target", server.connectString, "--event-timeout", "soon"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--event-timeout soon"), "\(bad.stderr)")
    }

    /// One short run's result, written once for the report tests.
    static func result(_ name: String, sessions: String = "2") async throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-\(name)-\(UUID()).json")
        let run = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--duration", "1s", "--warmup", "0s", "--sessions", sessions, "--json",
            url.path, "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        return url
    }

    @Test func reportOnTruncatedJSONNamesTheOffset() async throws {
        let full = try await Self.result("full")
        defer { try? FileManager.default.removeItem(at: full) }
        let data = try Data(contentsOf: full)
        let cut = full.deletingPathExtension().appendingPathExtension("cut.json")
        defer { try? FileManager.default.removeItem(at: cut) }
        try data.prefix(data.count / 2).write(to: cut)
        let result = try await ZkstormProcess.run(["report", cut.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("ends at byte \(data.count / 2)"), "\(result.stderr)")
        #expect(!result.stderr.contains(": The given data was not valid JSON."), "\(result.stderr)")
    }

    @Test func reportCompareWritesAComparisonPage() async throws {
        let a = try await Self.result("a", sessions: "2")
        let b = try await Self.result("b", sessions: "4")
        let html = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cmp-\(UUID()).html")
        defer {
            for url in [a, b, html] { try? FileManager.default.removeItem(at: url) }
        }
        let result = try await ZkstormProcess.run(["report", a.path, "--compare", b.path, "--html", html.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("ratios are B / A"))
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains(">A ops/s<") && page.contains(">B ops/s<"), "the page shows one run only")
    }

    @Test func missingResultFileExits66() async throws {
        let result = try await ZkstormProcess.run(["report", "/nonexistent/result.json"])
        #expect(result.status == 66, "\(result.stderr)")
    }
}
