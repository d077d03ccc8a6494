import Foundation
import Logging
import StormEngine
import Testing

/// Replay into a built-in server secured with TLS (client certificates) and SASL DIGEST-MD5, the way
/// `zkstorm replay --secure` (or `--tls-*`/`--sasl-*` against a secured `zkstorm serve`) runs it.
@Suite struct SecureReplayTests {
    func configuration(runId: String) -> ReplayConfiguration {
        var configuration = ReplayConfiguration(
            files: [FixtureFiles.directory],
            runId: runId,
            logger: Logger(label: "test")
        )
        configuration.options.pacing = .speed(50)
        return configuration
    }

    @Test func replaysTheRealLogsOverTLSAndSASL() async throws {
        let embedded = try SecureEmbeddedTarget()
        var configuration = configuration(runId: "replay-secure")
        configuration.security = try embedded.clientSecurity()
        configuration.embeddedServerSecurity = embedded.serverSecurity
        let (plan, _) = try TxnLogReplay.plan(configuration)
        #expect(plan.writeSteps > 40)
        let result = try await TxnLogReplay.run(configuration)
        #expect(result.target.hasSuffix("(built-in, TLS + SASL)"), "\(result.target)")
        #expect(result.security?.contains("SASL") == true, "\(result.security ?? "nil")")
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.skipped["failed multi"] == 1)
        #expect(result.replayed == UInt64(plan.writeSteps))
        #expect(result.text.contains("security: "))
    }

    @Test func securityWithoutATargetOrSecuredServerIsAUsageError() async throws {
        let embedded = try SecureEmbeddedTarget()
        var configuration = configuration(runId: "replay-insecure")
        configuration.security = try embedded.clientSecurity()
        do {
            _ = try await TxnLogReplay.run(configuration)
            Issue.record("a replay with TLS options and a plaintext built-in server ran")
        } catch let error as RunError {
            #expect(error.kind == .usage)
            #expect(error.message.contains("--secure"), "\(error.message)")
        }
    }
}
