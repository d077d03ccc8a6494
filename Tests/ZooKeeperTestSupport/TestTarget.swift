import Foundation
import ZooKeeperClient

/// A ZooKeeper-compatible server a test can talk to and control.
public protocol ZooKeeperTestServer: AnyObject, Sendable {
    var connectString: String { get }
    var port: Int { get }
    /// Stops the server; clients see their connection drop.
    func stop() async throws
    /// Starts it again on the same port with its data and sessions.
    func restart() async throws
    /// Freezes the server so it answers nothing (connections stay open).
    func pause() async throws
    func resume() async throws
    func fourLetterWord(_ word: String) async throws -> String
    /// Stops the server for good and removes what it stored.
    func destroy() async throws
}

/// The servers the integration tests run against. The same test bodies run for every case
/// (`@Test(arguments: TestTarget.allCases)`); a new server kind is one more case here.
public enum TestTarget: String, Sendable, CaseIterable, CustomStringConvertible {
    case realZooKeeper
    case builtIn

    public var description: String { rawValue }

    /// One server per target, started on first use and shared by every test of the process.
    /// Tests that stop, restart or pause a server use `dedicated(tickTime:)` instead.
    public func shared() async throws -> any ZooKeeperTestServer {
        try await SharedTestServers.instance.server(for: self)
    }

    /// A fresh server the calling test owns; call `destroy()` when done.
    public func dedicated(tickTime: Int = 2000) async throws -> any ZooKeeperTestServer {
        switch self {
        case .realZooKeeper:
            try await RealZooKeeper.start(extendedTypes: true, tickTime: tickTime)
        case .builtIn:
            try await BuiltInTestServer.start(tickTime: tickTime)
        }
    }

    /// A root znode path no other test uses: `/t-<name>-<random>`.
    public static func uniqueRoot(_ name: String) -> String {
        let safe = name.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return "/t-\(String(safe))-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// Starts each target's shared server once (concurrent callers wait for the same start).
actor SharedTestServers {
    static let instance = SharedTestServers()
    private var starting: [TestTarget: Task<any ZooKeeperTestServer, any Error>] = [:]

    func server(for target: TestTarget) async throws -> any ZooKeeperTestServer {
        if let task = starting[target] { return try await task.value }
        let task = Task<any ZooKeeperTestServer, any Error> {
            try await target.dedicated(tickTime: 2000)
        }
        starting[target] = task
        return try await task.value
    }
}
