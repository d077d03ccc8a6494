/// One timed action of a workload's `faults:` list, against a target zkstorm can control: the
/// built-in server (drop every connection, pause) or a quorum run by `scripts/ensemble` (kill, stop,
/// resume, restart a member chosen by role or id).
public struct FaultSpec: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        /// Built-in server: close every client connection (sessions and ephemerals stay, as when a
        /// network blip hits every client at once).
        case drop
        /// Built-in server: stop reading and answering (SIGSTOP-like); `for` resumes it.
        case pause
        /// Ensemble member: SIGKILL; `for` restarts it on the same ports and data.
        case kill
        /// Ensemble member: SIGSTOP (its sessions time out if it stays stopped); `for` resumes it.
        case stop
        /// Ensemble member: SIGCONT after `stop`.
        case resume
        /// Ensemble member: start it again after `kill` (or kill and start it).
        case restart

        /// Whether the action is the built-in server's (otherwise an ensemble member's).
        public var isBuiltIn: Bool { self == .drop || self == .pause }
        /// Whether `for` may undo it.
        public var isRestorable: Bool { self == .pause || self == .kill || self == .stop }
    }

    /// Which ensemble member: the one that is leader, the follower with the lowest id, a node id
    /// (1-based, as `scripts/ensemble` numbers them), or every member at once (`all`: a whole quorum
    /// stopped past the session timeout expires every session, ZOOKEEPER-1669), resolved when the
    /// fault fires.
    public enum Member: Sendable, Equatable, CustomStringConvertible {
        case leader
        case follower
        case id(Int)
        case all

        public var description: String {
            switch self {
            case .leader: "leader"
            case .follower: "follower"
            case .id(let id): "\(id)"
            case .all: "all"
            }
        }
    }

    /// When it fires, from the start of measurement.
    public var at: Duration
    public var action: Action
    /// The member (ensemble actions only).
    public var member: Member?
    /// `for`: undo the action after this long (pause → resume, kill → restart, stop → resume).
    public var duration: Duration?

    public init(at: Duration, action: Action, member: Member? = nil, duration: Duration? = nil) {
        self.at = at
        self.action = action
        self.member = member
        self.duration = duration
    }

    /// Checks, before anything starts, that each fault suits the kind of target: drop and pause the
    /// built-in server (`target` nil), the others an ensemble's members.
    public static func check(_ faults: [FaultSpec], target: String?) throws(RunError) {
        guard let target else {
            if let fault = faults.first(where: { !$0.action.isBuiltIn }) {
                throw RunError(
                    .usage,
                    "faults: `\(fault.action.rawValue)` acts on an ensemble member, and this run's target is the built-in "
                        + "server: use drop or pause, or give --target an ensemble started by scripts/ensemble"
                )
            }
            return
        }
        if let fault = faults.first(where: \.action.isBuiltIn) {
            throw RunError(
                .usage,
                "faults: `\(fault.action.rawValue)` acts on the built-in server, and this run targets \(target): "
                    + "use kill, stop, resume or restart with a node, or run without --target"
            )
        }
    }
}
