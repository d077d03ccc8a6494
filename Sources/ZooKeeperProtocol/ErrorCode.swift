/// A ZooKeeper result code (`KeeperException.Code`). Unknown codes are kept, not dropped.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = ErrorCode(0)
    public static let systemError = ErrorCode(-1)
    public static let runtimeInconsistency = ErrorCode(-2)
    public static let dataInconsistency = ErrorCode(-3)
    public static let connectionLoss = ErrorCode(-4)
    public static let marshallingError = ErrorCode(-5)
    public static let unimplemented = ErrorCode(-6)
    public static let operationTimeout = ErrorCode(-7)
    public static let badArguments = ErrorCode(-8)
    public static let unknownSession = ErrorCode(-12)
    public static let newConfigNoQuorum = ErrorCode(-13)
    public static let reconfigInProgress = ErrorCode(-14)
    public static let apiError = ErrorCode(-100)
    public static let noNode = ErrorCode(-101)
    public static let noAuth = ErrorCode(-102)
    public static let badVersion = ErrorCode(-103)
    public static let noChildrenForEphemerals = ErrorCode(-108)
    public static let nodeExists = ErrorCode(-110)
    public static let notEmpty = ErrorCode(-111)
    public static let sessionExpired = ErrorCode(-112)
    public static let invalidCallback = ErrorCode(-113)
    public static let invalidACL = ErrorCode(-114)
    public static let authFailed = ErrorCode(-115)
    public static let sessionMoved = ErrorCode(-118)
    public static let notReadOnly = ErrorCode(-119)
    public static let ephemeralOnLocalSession = ErrorCode(-120)
    public static let noWatcher = ErrorCode(-121)
    public static let requestTimeout = ErrorCode(-122)
    public static let reconfigDisabled = ErrorCode(-123)
    public static let sessionClosedRequireSaslAuth = ErrorCode(-124)
    public static let quotaExceeded = ErrorCode(-125)
    public static let throttledOp = ErrorCode(-127)

    static let names: [Int32: String] = [
        0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
        -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
        -8: "BADARGUMENTS", -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM", -14: "RECONFIGINPROGRESS",
        -100: "APIERROR", -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
        -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY", -112: "SESSIONEXPIRED",
        -113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED", -118: "SESSIONMOVED",
        -119: "NOTREADONLY", -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER",
        -122: "REQUESTTIMEOUT", -123: "RECONFIGDISABLED", -124: "SESSIONCLOSEDREQUIRESASLAUTH",
        -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
    ]

    /// ZooKeeper's own name for the code (`NONODE`, `BADVERSION`, …).
    public var name: String { Self.names[rawValue] ?? "ERROR(\(rawValue))" }
    public var description: String { "\(name) (\(rawValue))" }

    /// Every code this module knows, in numeric order from 0 down.
    public static var allKnown: [ErrorCode] { names.keys.sorted(by: >).map { ErrorCode($0) } }
}
