import ArgumentParser
import StormEngine

/// `zkstorm run --seed-snapshot FILE [--shape-only]`.
struct SeedSnapshotOptions: ParsableArguments {
    @Option(
        name: .customLong("seed-snapshot"),
        help:
            "Build this ZooKeeper snapshot's tree (snapshot.<zxid>[.gz|.snappy]) under the run root before the workload."
    )
    var seedSnapshot: String?

    @Flag(
        name: .customLong("shape-only"),
        help: "With --seed-snapshot: generated names and filler data, same node count, depth, fan-out and sizes."
    )
    var shapeOnly = false

    func validate() throws {
        if shapeOnly && seedSnapshot == nil { throw ValidationError("--shape-only needs --seed-snapshot FILE") }
    }

    /// The seed, read now so a damaged file fails before any session opens (exit 65).
    func seed() throws -> SnapshotSeed? {
        guard let seedSnapshot else { return nil }
        do {
            return try SnapshotSeed(path: seedSnapshot, shapeOnly: shapeOnly)
        } catch let error as RunError {
            StandardError().write("zkstorm run: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}
