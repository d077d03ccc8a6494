import Foundation
import Testing

/// Integration tests: `zkstorm run --secure`, the built binary with its embedded server secured by a
/// throwaway CA (TLS with a client certificate) and SASL DIGEST-MD5, nothing installed.
@Suite(.serialized) struct SecureRunCommandTests {
    @Test func secureRunMeasuresOverTLSAndSASLWithConnectPhases() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-secure-\(UUID().uuidString).json"
        )
        defer { try? FileManager.default.removeItem(at: json) }
        let result = try SecureCLITests.run([
            "run", "--preset", "read-heavy", "--duration", "2s", "--warmup", "0s", "--sessions", "4", "--secure",
            "--quiet", "--json", json.path,
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
    }

    @Test func secureWithATargetIsAUsageError() throws {
        let result = try SecureCLITests.run(["run", "--preset", "read-heavy", "--secure", "--target", "127.0.0.1:1"])
        #expect(result.status == 64, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("--secure secures the built-in server"), "\(result.stderr)")
    }
}
