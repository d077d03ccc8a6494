// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "zkstorm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "zkstorm", targets: ["zkstorm"]),
        .library(name: "ZooKeeperProtocol", targets: ["ZooKeeperProtocol"]),
        .library(name: "ZooKeeperClient", targets: ["ZooKeeperClient"]),
        .library(name: "ZooKeeperServer", targets: ["ZooKeeperServer"]),
        .library(name: "StormMetrics", targets: ["StormMetrics"]),
        .library(name: "StormEngine", targets: ["StormEngine"]),
        .library(name: "ZooKeeperFiles", targets: ["ZooKeeperFiles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `swift package generate-documentation` (scripts/docs); a plugin only, nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "ZooKeeperProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ZooKeeperClient",
            dependencies: [
                "ZooKeeperProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .target(
            name: "ZooKeeperServer",
            dependencies: [
                "ZooKeeperProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ZooKeeperFiles",
            dependencies: ["ZooKeeperProtocol", "CZlib", "GzipCodec", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "GzipCodec", dependencies: ["CZlib"]),
        .target(
            name: "StormMetrics",
            dependencies: [
                "CCurl", "GzipCodec", "ZooKeeperClient",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "StormEngine",
            dependencies: [
                "ZooKeeperClient", "ZooKeeperServer", "StormMetrics", "ZooKeeperFiles",
                .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "zkstorm",
            dependencies: [
                "ZooKeeperProtocol", "ZooKeeperClient", "ZooKeeperServer", "StormMetrics", "StormEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test support: starts real ZooKeeper / Pushgateway / Prometheus processes and the built-in
        // server for the integration targets.
        .target(
            name: "ZooKeeperTestSupport",
            dependencies: [
                "ZooKeeperClient", "ZooKeeperServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ZooKeeperTestSupport"
        ),
        // Sample metrics snapshots and the dashboard's queries, shared by the metrics unit and integration tests.
        .target(name: "StormMetricsTestSupport", dependencies: ["StormMetrics"], path: "Tests/StormMetricsTestSupport"),
        // glibc's heap statistics, for the tests that check a hot path keeps no memory.
        .target(name: "CMallocStats", path: "Tests/CMallocStats"),
        // A seeded generator for tests that draw random inputs (one copy for every test target).
        .target(name: "TestRandom", path: "Tests/TestRandom"),

        // Unit tests: no socket, no process, no JVM, no timing bound. They run in parallel, and under
        // `--sanitize=thread` (scripts/test --tsan).
        .testTarget(
            name: "ZooKeeperProtocolTests",
            dependencies: [
                "ZooKeeperProtocol", "TestRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ZooKeeperClientTests",
            dependencies: [
                "ZooKeeperClient", "ZooKeeperProtocol", "TestRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ZooKeeperServerTests", dependencies: ["ZooKeeperServer", "ZooKeeperProtocol"]),
        .testTarget(name: "StormMetricsTests", dependencies: ["StormMetrics", "StormMetricsTestSupport"]),
        .testTarget(
            name: "StormEngineTests",
            dependencies: [
                "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // Integration tests: real ZooKeeper (one server or a quorum), kazoo and the Java and C command-line
        // clients, Pushgateway, Prometheus, promtool, Chromium, the built-in server over sockets, and the
        // timing bounds. scripts/test runs them one at a time, after the unit tests.
        .testTarget(
            name: "ClientIntegrationTests",
            dependencies: [
                "ZooKeeperClient", "ZooKeeperProtocol", "ZooKeeperTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ServerIntegrationTests",
            dependencies: [
                "ZooKeeperServer", "ZooKeeperClient", "ZooKeeperProtocol", "ZooKeeperTestSupport", "TestRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "MetricsIntegrationTests",
            dependencies: [
                "StormMetrics", "StormMetricsTestSupport", "ZooKeeperClient", "ZooKeeperTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ZooKeeperFilesTests",
            dependencies: [
                "ZooKeeperFiles", "StormEngine", "ZooKeeperProtocol", "ZooKeeperTestSupport", "TestRandom",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "EngineIntegrationTests",
            dependencies: [
                "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperProtocol", "ZooKeeperTestSupport",
                "CMallocStats",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "FailoverTests",
            dependencies: [
                "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperProtocol", "ZooKeeperServer",
                "ZooKeeperTestSupport",
            ]
        ),
        // End to end: the `zkstorm` binary as a person runs it. Depending on the executable target makes
        // every build of these tests build the binary too, so a filtered run never runs a stale one.
        .testTarget(
            name: "zkstormCLITests",
            dependencies: [
                "zkstorm", "StormEngine", "StormMetrics", "ZooKeeperClient", "ZooKeeperFiles", "ZooKeeperTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

/// One set of Swift settings for every Swift target of ours (the package is in Swift 6 language mode):
/// `any` spelled out on existentials, imports that say which module a member comes from, and warnings
/// as errors, so a warning in our code fails the build. Dependencies keep their own settings and may warn.
let sharedSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let cTargets: Set<String> = ["CCurl", "CZlib", "CMallocStats"]
for target in package.targets where !cTargets.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + sharedSwiftSettings
}
