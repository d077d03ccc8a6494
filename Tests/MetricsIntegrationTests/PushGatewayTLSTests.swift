import Foundation
import StormMetricsTestSupport
import Testing
import ZooKeeperTestSupport

@testable import StormMetrics

/// HTTPS gateways: the CA file, the insecure switch and basic auth, against a real Pushgateway whose
/// certificate is signed by a throwaway CA made with openssl.
@Suite struct PushGatewayTLSTests {
    /// bcrypt (cost 4) of "s3cret", made with Python's crypt over libxcrypt; the gateway only verifies it.
    static let passwordHash = "$2b$04$q6CwyVPzltznDbYlz1WtB.TcCaRhWnqWOSqh2RdNERLCnOf0npaSu"

    struct Certificates {
        var directory: URL
        var caFile: String { directory.appendingPathComponent("ca.crt").path }
        var certificateFile: String { directory.appendingPathComponent("server.crt").path }
        var keyFile: String { directory.appendingPathComponent("server.key").path }
    }

    static func makeCertificates() throws -> Certificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkstorm-tls-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1\n".write(
            to: directory.appendingPathComponent("san.cnf"),
            atomically: true,
            encoding: .utf8
        )
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
                "-subj",
                "/CN=zkstorm test CA",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
                "/CN=127.0.0.1",
            ],
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                "server.crt",
                "-days", "1", "-extfile", "san.cnf",
            ],
        ]
        for arguments in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw TLSTestError("openssl \(arguments.joined(separator: " ")) failed; is openssl installed?")
            }
        }
        return Certificates(directory: directory)
    }

    @Test func caFileInsecureAndBasicAuthAgainstAnHTTPSGateway() async throws {
        let certificates = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let gateway = try await Pushgateway.start(
            tls: .init(
                certificateFile: certificates.certificateFile,
                keyFile: certificates.keyFile,
                basicAuthUsers: ["storm": Self.passwordHash]
            )
        )
        let text = PrometheusExposition.render(SampleSnapshots.realistic())
        var configuration = PushConfiguration(url: gateway.url, instance: "tls", run: "r1")
        configuration.basicAuth = .init(user: "storm", password: "s3cret")

        // Unknown CA: refused, and the message says which flag fixes it.
        let untrusting = PushGatewayClient(configuration: configuration)
        await #expect {
            try await untrusting.push(text)
        } throws: { error in
            "\(error)".contains("--push-ca-file") && "\(error)".contains(gateway.url)
        }
        await untrusting.shutdown()

        configuration.caFile = certificates.caFile
        #expect(throws: Never.self) { try configuration.validate() }
        let trusting = PushGatewayClient(configuration: configuration)
        try await trusting.push(text)
        try await trusting.delete()
        await trusting.shutdown()

        var insecure = configuration
        insecure.caFile = nil
        insecure.insecure = true
        let skipping = PushGatewayClient(configuration: insecure)
        try await skipping.push(text)
        await skipping.shutdown()

        var wrongPassword = configuration
        wrongPassword.basicAuth = .init(user: "storm", password: "wrong")
        let refused = PushGatewayClient(configuration: wrongPassword)
        await #expect {
            try await refused.push(text)
        } throws: { error in
            (error as? PushGatewayError)?.statusCode == 401 && "\(error)".contains("--push-basic-auth")
        }
        await refused.shutdown()
        await gateway.stop()
    }
}

private struct TLSTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
