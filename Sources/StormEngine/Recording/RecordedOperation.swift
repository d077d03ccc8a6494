import ZooKeeperProtocol

/// The operations whose latency a run records. `connect`/`close` come from session churn.
public enum RecordedOperation: UInt8, Sendable, CaseIterable, Comparable {
    case get, exists, children, set, create, delete, multi, sync, connect, close

    public var name: String {
        switch self {
        case .get: "get"
        case .exists: "exists"
        case .children: "children"
        case .set: "set"
        case .create: "create"
        case .delete: "delete"
        case .multi: "multi"
        case .sync: "sync"
        case .connect: "connect"
        case .close: "close"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One histogram per (operation, result); `code` is `ErrorCode.ok` for success.
public struct RecordKey: Hashable, Sendable, Comparable {
    public var operation: RecordedOperation
    public var code: ErrorCode

    public init(_ operation: RecordedOperation, _ code: ErrorCode = .ok) {
        self.operation = operation
        self.code = code
    }

    /// "ok" or ZooKeeper's error name ("NONODE"), as Prometheus labels and the JSON use it.
    public var resultName: String { code == .ok ? "ok" : code.name }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.operation, -lhs.code.rawValue) < (rhs.operation, -rhs.code.rawValue)
    }
}
