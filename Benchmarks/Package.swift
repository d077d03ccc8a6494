// swift-tools-version: 6.1
// Micro-benchmarks (ordo-one/package-benchmark), apart from the root package so its build and CI never
// compile them. Run through `scripts/bench --micro`, which fails on a regression against Thresholds/.
import PackageDescription

let package = Package(
    name: "zkstorm-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "zkstorm", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "ZKStormBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "ZooKeeperProtocol", package: "zkstorm"),
                .product(name: "StormMetrics", package: "zkstorm"),
                .product(name: "ZooKeeperServer", package: "zkstorm"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ZKStormBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
