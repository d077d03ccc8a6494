import Yams

extension WorkloadParser {
    static let faultFields = ["at", "action", "node", "for"]

    /// `faults: [{at: 5s, action: drop}, {at: 8s, action: kill, node: leader, for: 3s}]`
    static func parseFaults(_ node: Node, file: String, duration: Duration) throws(WorkloadError) -> [FaultSpec] {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "faults",
                "expected a list such as [{at: 5s, action: drop}, {at: 10s, action: kill, node: leader, for: 3s}]"
            )
        }
        var faults: [FaultSpec] = []
        for (index, item) in sequence.enumerated() {
            let field = "faults[\(index)]"
            let reader = try YAMLFieldReader(file: file, field: field, node: item, allowed: faultFields)
            for required in ["at", "action"] where !reader.has(required) {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: "\(field).\(required)",
                    required == "at"
                        ? "missing; e.g. at: 5s (from the start of measurement)"
                        : "missing; one of "
                            + YAMLFieldReader.names(FaultSpec.Action.self)
                )
            }
            var fault = FaultSpec(
                at: try reader.duration("at", default: .zero),
                action: try reader.choice("action", default: .drop)
            )
            if fault.at >= duration {
                throw reader.error(
                    "at",
                    "\(DurationText.format(fault.at)) is not before the end of the measurement (\(DurationText.format(duration)))"
                )
            }
            if let text = try reader.string("node") {
                guard !fault.action.isBuiltIn else {
                    throw reader.error(
                        "node",
                        "`\(fault.action.rawValue)` acts on the built-in server, not on a member: leave `node` out"
                    )
                }
                fault.member = try member(text, reader: reader)
            } else if !fault.action.isBuiltIn {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: "\(field).node",
                    "missing: which member to \(fault.action.rawValue): leader, follower, all or a node id (1, 2, ...)"
                )
            }
            if reader.has("for") {
                guard fault.action.isRestorable else {
                    throw reader.error(
                        "for",
                        "`\(fault.action.rawValue)` cannot be undone after a while; `for` goes with pause, kill or stop"
                    )
                }
                fault.duration = try reader.duration("for", default: .seconds(1), minimum: .milliseconds(100))
            }
            faults.append(fault)
        }
        return faults.sorted { $0.at < $1.at }
    }

    private static func member(_ text: String, reader: YAMLFieldReader) throws(WorkloadError) -> FaultSpec.Member {
        switch text {
        case "leader": return .leader
        case "follower": return .follower
        case "all": return .all
        default:
            guard let id = Int(text), (1...255).contains(id) else {
                throw reader.error(
                    "node",
                    "unknown member \"\(text)\"\(Spelling.suggestion(for: text, in: ["leader", "follower", "all"])); "
                        + "give leader, follower, all or a node id (1, 2, ...) as scripts/ensemble numbers them"
                )
            }
            return .id(id)
        }
    }
}
