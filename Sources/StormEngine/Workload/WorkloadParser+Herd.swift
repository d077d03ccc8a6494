import Yams
import ZooKeeperClient

extension WorkloadParser {
    static let herdFields = ["sessions", "znodes", "rate", "policies"]

    /// `herd: {sessions: 100, znodes: 50, rate: 20, policies: [immediate, jitter]}`; backoff and
    /// jitter take `base` and `max` from the workload's `reconnect:` (50ms and 2s otherwise).
    static func parseHerd(_ reader: YAMLFieldReader, reconnect: ReconnectPolicy) throws(WorkloadError) -> HerdSpec {
        var herd = HerdSpec()
        herd.sessions = try reader.int("sessions", default: herd.sessions, range: 1...50_000)
        herd.znodes = try reader.int("znodes", default: herd.znodes, range: 1...100_000)
        herd.rate = try reader.double("rate", default: herd.rate, range: 0...10_000)
        var base = Duration.milliseconds(50)
        var cap = Duration.seconds(2)
        switch reconnect {
        case .immediate: break
        case .exponentialBackoff(let b, let c), .exponentialBackoffWithJitter(let b, let c):
            base = b
            cap = c
        }
        if let node = reader.value("policies") {
            guard case .sequence(let items) = node, !items.isEmpty else {
                throw reader.error("policies", "expected a list such as [immediate, jitter]")
            }
            herd.policies = []
            for (index, item) in items.enumerated() {
                let name: ReconnectPolicyName = try YAMLFieldReader.choice(
                    item.scalar?.string ?? "",
                    file: reader.file,
                    node: item,
                    field: reader.path("policies[\(index)]")
                )
                switch name {
                case .immediate: herd.policies.append(.immediate)
                case .backoff: herd.policies.append(.exponentialBackoff(base: base, max: cap))
                case .jitter: herd.policies.append(.exponentialBackoffWithJitter(base: base, max: cap))
                }
            }
            if herd.policies.count > herd.sessions {
                throw reader.error(
                    "policies",
                    "\(herd.policies.count) policies need at least as many sessions (herd.sessions is \(herd.sessions))"
                )
            }
        } else {
            herd.policies = [reconnect]
        }
        return herd
    }
}
