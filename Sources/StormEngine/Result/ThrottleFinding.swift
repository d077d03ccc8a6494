/// A limit a run suspects capped it (ThrottleDetector.swift): what was seen and which setting it points at.
public struct ThrottleFinding: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The server closed or reset connections at accept (`zk_connection_rejected`).
        case acceptRefused = "accept_refused"
        /// The server says it throttled requests (`zk_throttled_ops`, `zk_request_throttle_wait_count`).
        case serverThrottled = "server_throttled"
        /// Open-loop stages: the achieved rate stopped following the offered rate while latency climbed.
        case latencyPlateau = "latency_plateau"
    }

    public var kind: Kind
    /// What the run saw, with its figures.
    public var evidence: String
    /// The setting suspected, and what to do about it.
    public var suspect: String
    /// The suspected limit's value where the run can tell (connections per address, ops/s), else nil.
    public var limit: Double?

    public init(kind: Kind, evidence: String, suspect: String, limit: Double? = nil) {
        self.kind = kind
        self.evidence = evidence
        self.suspect = suspect
        self.limit = limit
    }
}
