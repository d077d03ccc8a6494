import ZooKeeperProtocol

/// An operation failed: the server's result code, the znode (chroot stripped) and what to do about it.
///
/// Every throwing call of ``ZooKeeperClient`` throws this type (or `CancellationError`). Switch on
/// ``code``; ``description`` is a sentence for a person.
public struct ZooKeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    /// ZooKeeper's result code, e.g. `.noNode`, `.connectionLoss`.
    public var code: ErrorCode
    /// The znode the operation was on, as the caller named it; nil for session-wide errors.
    public var path: String?
    /// What went wrong and what to do, for a person.
    public var message: String

    /// An error with a code, the znode and a message.
    ///
    /// - Parameters:
    ///   - code: ZooKeeper's result code.
    ///   - path: The znode, or nil.
    ///   - message: What went wrong and what to do.
    public init(code: ErrorCode, path: String? = nil, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// The message.
    public var description: String { message }

    /// The error for a non-zero reply to `opCode` on `path`, with advice a person can act on.
    ///
    /// - Parameters:
    ///   - code: The `err` field of the reply header.
    ///   - opCode: The request it answered.
    ///   - path: The znode the request named.
    /// - Returns: The error, its message naming the node and the next step.
    public static func reply(_ code: ErrorCode, opCode: OpCode, path: String?) -> ZooKeeperError {
        let subject = path ?? ""
        let what: String
        switch code {
        case .noNode:
            if opCode == .create || opCode == .create2 || opCode == .createContainer || opCode == .createTTL {
                what = "no node \(ZooKeeperPath.parent(of: subject)) (NONODE): create the parent first"
            } else {
                what = "no node \(subject) (NONODE): create it first or check the path"
            }
        case .nodeExists:
            what = "node \(subject) already exists (NODEEXISTS): delete it first or use setData"
        case .badVersion:
            what = "version mismatch on \(subject) (BADVERSION): read the node again and retry with its current version"
        case .notEmpty:
            what = "node \(subject) has children (NOTEMPTY): delete the children first"
        case .noChildrenForEphemerals:
            what = "parent of \(subject) is ephemeral (NOCHILDRENFOREPHEMERALS): ephemeral nodes cannot have children"
        case .noAuth:
            what = "not authorised for \(opCode) on \(subject) (NOAUTH): addAuth with an identity the node's ACL allows"
        case .invalidACL:
            what = "invalid ACL for \(subject) (INVALIDACL): check scheme and id, or addAuth before using auth:"
        case .badArguments:
            what =
                "the server refused the arguments of \(opCode) on \(subject) (BADARGUMENTS): check the path, flags and TTL"
        case .unimplemented:
            what =
                "the server does not implement \(opCode) (UNIMPLEMENTED): it may be an older version, or TTL needs zookeeper.extendedTypesEnabled=true"
        case .noWatcher:
            what = "no such watch on \(subject) (NOWATCHER): set the watch before checking or removing it"
        case .authFailed:
            what =
                "authentication failed (AUTHFAILED): check the scheme and credentials; the server closed the connection"
        case .sessionExpired:
            what =
                "session expired (SESSIONEXPIRED): create a new client; ephemerals and watches of the old session are gone"
        case .connectionLoss:
            what =
                "connection lost during \(opCode) on \(subject) (CONNECTIONLOSS): the outcome is unknown; check the node and retry"
        case .operationTimeout:
            what =
                "no reply to \(opCode) on \(subject) in time (OPERATIONTIMEOUT): the server is slow or stuck; raise requestTimeout or check the server"
        case .sessionMoved:
            what = "session moved to another server (SESSIONMOVED): retry the operation"
        case .notReadOnly:
            what = "server is read-only (NOTREADONLY): connect to a server with quorum"
        default:
            what = "\(opCode) on \(subject) failed: \(code)"
        }
        return ZooKeeperError(code: code, path: path, message: what)
    }

    static func connectionLoss(_ detail: String, path: String? = nil) -> ZooKeeperError {
        ZooKeeperError(code: .connectionLoss, path: path, message: "connection lost (CONNECTIONLOSS): \(detail)")
    }

    static func sessionExpired(_ detail: String) -> ZooKeeperError {
        ZooKeeperError(
            code: .sessionExpired,
            path: nil,
            message: "session expired (SESSIONEXPIRED): \(detail); create a new client"
        )
    }

    static let closed = ZooKeeperError(
        code: .connectionLoss,
        path: nil,
        message: "client is closed (CONNECTIONLOSS): create a new client"
    )

    static func badArguments(_ detail: String, path: String?) -> ZooKeeperError {
        ZooKeeperError(code: .badArguments, path: path, message: detail)
    }
}
