import Foundation
import Testing

/// Integration tests: `zkstorm run --secure`, the built binary with its embedded server secured by a
/// throwaway CA (TLS with a client certificate) and SASL DIGEST-MD5, nothing installed.
@Suite(.serialized) struct SecureRunCommandTests {
    @Test func secureRunMeasuresOverTLSAndSASLWithConnectPhases() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-secure-\(UUID().uuidString).json"
        )
        let html = json.deletingPathExtension().appendingPathExtension("html")
        defer {
            try? FileManager.default.removeItem(at: json)
            try? FileManager.default.removeItem(at: html)
        }
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--duration", "2s", "--warmup", "0s", "--sessions", "4", "--secure",
            "--quiet", "--json", json.path, "--html", html.path,
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("(built-in, TLS + SASL)"), "\(result.stdout)")
        #expect(result.stdout.contains("SASL DIGEST-MD5 as zkstorm"), "\(result.stdout)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any] ?? [:]
        let phases = object["connect_phases_us"] as? [String: Any] ?? [:]
        for phase in ["tcp", "tls", "handshake", "sasl"] {
            #expect(phases[phase] != nil, "\(phase) missing: \(phases.keys.sorted())")
        }
        #expect(result.stdout.contains("total: ") && !result.stdout.contains("total: 0 operations"), "\(result.stdout)")
        // The HTML page charts where connect time went, one curve per phase.
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("Connect time by phase"), "no connect-phase chart")
        for phase in ["TCP connect", "TLS handshake", "ConnectResponse", "SASL"] {
            #expect(page.contains(phase), "the connect-phase chart has no \(phase) curve")
        }
    }

    /// The comparison: the session-churn preset over plaintext (A) and TLS + SASL (B) in one
    /// `report --compare`: B's TLS and SASL phases beside A's "–", the total connect time with its ratio,
    /// and the HTML comparison with both runs' phase curves.
    @Test func sessionChurnPlaintextVersusTLSCompares() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-churn-\(UUID().uuidString)")
        let plain = base.appendingPathExtension("plain.json")
        let secure = base.appendingPathExtension("tls.json")
        let html = base.appendingPathExtension("html")
        defer {
            for url in [plain, secure, html] { try? FileManager.default.removeItem(at: url) }
        }
        for (file, extra) in [(plain, [String]()), (secure, ["--secure"])] {
            let result = try await ZkstormProcess.run(
                [
                    "run", "--preset", "session-churn", "--duration", "3s", "--warmup", "0s", "--quiet", "--json",
                    file.path,
                ]
                    + extra
            )
            #expect(result.status == 0, "\(extra): \(result.stderr)")
        }
        let compared = try await ZkstormProcess.run([
            "report", plain.path, "--compare", secure.path, "--html", html.path,
        ])
        #expect(compared.status == 0, "\(compared.stderr)")
        let lines = compared.stdout.split(separator: "\n")
        let tls = lines.first { $0.hasPrefix("connect") && $0.contains("tls p50") }.map(String.init) ?? ""
        #expect(tls.contains("–"), "plaintext A should show no TLS phase: \(compared.stdout)")
        let total = lines.first { $0.hasPrefix("connect") && $0.contains("total p50") }.map(String.init) ?? ""
        #expect(!total.isEmpty && !total.contains("–"), "total connect time not compared: \(compared.stdout)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("Connect time by phase") && page.contains("B TLS handshake"), "no phase curves for B")
        #expect(page.contains("A TCP connect"), "no phase curves for A")
    }

    @Test func secureWithATargetIsAUsageError() async throws {
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--secure", "--target", "127.0.0.1:1",
        ])
        #expect(result.status == 64, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("--secure secures the built-in server"), "\(result.stderr)")
    }
}
