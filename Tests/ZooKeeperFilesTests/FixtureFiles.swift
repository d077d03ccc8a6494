import Foundation

/// Real files written by ZooKeeper 3.8.0 (scripts/capture-txnlogs), and the workload that made them.
enum FixtureFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/zk38").path

    static func path(_ name: String) -> String { directory + "/" + name }

    static func names(prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }
            .sorted {
                UInt64($0.split(separator: ".")[1], radix: 16)! < UInt64($1.split(separator: ".")[1], radix: 16)!
            }
    }

    struct Workload: Decodable {
        var expected: [String: Int]
        var tree: [String: String]
    }

    static func workload() throws -> Workload {
        try JSONDecoder().decode(Workload.self, from: Data(contentsOf: URL(fileURLWithPath: path("workload.json"))))
    }

    /// A scratch copy of a fixture to damage; the directory is removed by the caller.
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
