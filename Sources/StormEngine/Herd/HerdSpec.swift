import ZooKeeperClient

/// A reconnect herd (`herd:` in a workload): `sessions` clients that each keep a tree cache of the
/// same `znodes` znodes (in the manner of Curator's CuratorCache and kazoo's TreeCache: re-read
/// everything after every reconnect), a writer changing one of them `rate` times a second, and the
/// sessions split evenly among `policies` so one run compares how each reconnect policy herds.
public struct HerdSpec: Sendable, Equatable {
    public var sessions: Int
    public var znodes: Int
    /// Writes per second to the cached tree (round robin over its znodes): the steady-state traffic.
    public var rate: Double
    /// One share of the sessions per policy, in order.
    public var policies: [ReconnectPolicy]

    public init(sessions: Int = 100, znodes: Int = 50, rate: Double = 20, policies: [ReconnectPolicy] = [.immediate]) {
        self.sessions = sessions
        self.znodes = znodes
        self.rate = rate
        self.policies = policies
    }

    /// Sessions of share `index` (the first shares get the remainder).
    public func sessions(ofShare index: Int) -> Int {
        sessions / policies.count + (index < sessions % policies.count ? 1 : 0)
    }
}
