// swift-tools-version:6.0
// libFuzzer harnesses for ZooKeeperProtocol's decoders (RequestParsing) and ZooKeeperFiles' readers
// (FileReading). Built and run by scripts/fuzz:
//   swift build --sanitize=fuzzer --sanitize=address -Xswiftc -parse-as-library
// ZooKeeperProtocol and the decode path are symlinks to the real sources, so this package fuzzes
// exactly the code the main package ships and tests, without resolving the main package's other
// dependencies.
import PackageDescription

let package = Package(
    name: "zkstorm-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "ZooKeeperProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "GzipCodec", dependencies: ["CZlib"]),
        .target(
            name: "ZooKeeperFiles",
            dependencies: ["ZooKeeperProtocol", "CZlib", "GzipCodec", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "FileReading",
            dependencies: ["ZooKeeperFiles", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "RequestParsing",
            dependencies: ["ZooKeeperProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
