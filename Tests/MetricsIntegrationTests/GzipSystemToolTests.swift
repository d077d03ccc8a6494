import Foundation
import Testing

@testable import StormMetrics

/// What our gzip writes, read by the system's gzip (a separate process).
@Suite struct GzipSystemToolTests {
    @Test func systemGunzipReadsOurOutput() throws {
        let input = Array("hello from zkstorm\n".utf8)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-gzip-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(try Gzip.compress(input)).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Array(output) == input)
    }
}
