import Foundation

/// Temporary files for one test process.
enum Scratch {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func write(_ name: String, _ text: String) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// Runs the built `zkstorm` binary (next to the test bundle in .build) without blocking a thread.
///
/// This target depends on the executable target, so `swift test` (filtered or not) rebuilds and relinks
/// the binary with the tests. `binary()` also refuses a binary older than the object files it is linked
/// from, so a run after `swift build --target` of something else cannot exercise a stale one either.
enum ZkstormBinary {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The modules linked into the binary.
    static let modules = [
        "zkstorm", "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperServer", "ZooKeeperProtocol",
    ]

    static func binary() throws -> URL {
        let directory = URL(fileURLWithPath: Swift.CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let built = directory.appendingPathComponent("zkstorm")
        guard FileManager.default.isExecutableFile(atPath: built.path) else {
            throw BinaryMissing(
                description: "no zkstorm binary next to the tests in \(directory.path): "
                    + "run `swift build --build-tests` first"
            )
        }
        let builtAt = try modificationDate(built)
        for module in modules {
            let objects = directory.appendingPathComponent("\(module).build")
            for object in try FileManager.default.contentsOfDirectory(atPath: objects.path)
            where object.hasSuffix(".o") {
                let path = objects.appendingPathComponent(object)
                if try modificationDate(path) > builtAt {
                    throw BinaryMissing(
                        description: "\(built.path) is older than \(path.path): run `swift build --build-tests`"
                    )
                }
            }
        }
        return built
    }

    static func modificationDate(_ url: URL) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date ?? .distantPast
    }

    static func run(_ arguments: [String], interruptAfter seconds: Double? = nil) async throws -> Outcome {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let out = Scratch.path("out-\(UUID().uuidString)")
        let err = Scratch.path("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = outHandle
        process.standardError = errHandle
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield()
                continuation.finish()
            }
        }
        try process.run()
        let signaller = Task {
            if let seconds {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                kill(process.processIdentifier, SIGINT)
            }
            try await Task.sleep(nanoseconds: 120_000_000_000)
            if process.isRunning { process.terminate() }
        }
        for await _ in exited { break }
        signaller.cancel()
        try outHandle.close()
        try errHandle.close()
        return Outcome(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        )
    }
}

struct BinaryMissing: Error, CustomStringConvertible {
    var description: String
}
