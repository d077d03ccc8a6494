/// A request type on the wire (`ZooDefs.OpCode`).
public struct OpCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let notification = OpCode(0)
    public static let create = OpCode(1)
    public static let delete = OpCode(2)
    public static let exists = OpCode(3)
    public static let getData = OpCode(4)
    public static let setData = OpCode(5)
    public static let getACL = OpCode(6)
    public static let setACL = OpCode(7)
    public static let getChildren = OpCode(8)
    public static let sync = OpCode(9)
    public static let ping = OpCode(11)
    public static let getChildren2 = OpCode(12)
    public static let check = OpCode(13)
    public static let multi = OpCode(14)
    public static let create2 = OpCode(15)
    public static let reconfig = OpCode(16)
    public static let checkWatches = OpCode(17)
    public static let removeWatches = OpCode(18)
    public static let createContainer = OpCode(19)
    public static let deleteContainer = OpCode(20)
    public static let createTTL = OpCode(21)
    public static let multiRead = OpCode(22)
    public static let auth = OpCode(100)
    public static let setWatches = OpCode(101)
    public static let sasl = OpCode(102)
    public static let getEphemerals = OpCode(103)
    public static let getAllChildrenNumber = OpCode(104)
    public static let setWatches2 = OpCode(105)
    public static let addWatch = OpCode(106)
    public static let whoAmI = OpCode(107)
    public static let createSession = OpCode(-10)
    public static let closeSession = OpCode(-11)
    public static let error = OpCode(-1)

    static let names: [Int32: String] = [
        0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
        6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
        13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
        18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
        22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
        104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
        -10: "createSession", -11: "closeSession", -1: "error",
    ]

    public var name: String? { Self.names[rawValue] }

    /// The short name a server shows as `lop=` in `cons` for the last request of this type
    /// (`FinalRequestProcessor.lastOp`; `auth` and `sasl` are handled outside it, named here alike).
    public var abbreviation: String? {
        switch rawValue {
        case 1, 15, 19, 21: "CREA"
        case 2, 20: "DELE"
        case 3: "EXIS"
        case 4: "GETD"
        case 5: "SETD"
        case 6: "GETA"
        case 7: "SETA"
        case 8, 12: "GETC"
        case 9: "SYNC"
        case 11: "PING"
        case 13: "CHEC"
        case 14: "MULT"
        case 16: "RECO"
        case 17: "CHKW"
        case 18: "REMW"
        case 22: "MLTR"
        case 100: "AUTH"
        case 101: "SETW"
        case 102: "SASL"
        case 103: "GETE"
        case 104: "GETACN"
        case 105: "STW2"
        case 106: "ADDW"
        case 107: "HOMI"
        case -10: "SESS"
        case -11: "CLOS"
        default: nil
        }
    }
    public var description: String { name ?? "opcode(\(rawValue))" }
}

/// Reserved xids that mark packets which are not replies to a numbered request.
public enum SpecialXid {
    public static let notification: Int32 = -1
    public static let ping: Int32 = -2
    public static let auth: Int32 = -4
    public static let setWatches: Int32 = -8
}
