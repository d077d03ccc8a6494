import NIOCore

/// `Watcher.Event.EventType`.
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let none = EventType(-1)
    public static let nodeCreated = EventType(1)
    public static let nodeDeleted = EventType(2)
    public static let nodeDataChanged = EventType(3)
    public static let nodeChildrenChanged = EventType(4)
    public static let dataWatchRemoved = EventType(5)
    public static let childWatchRemoved = EventType(6)
    public static let persistentWatchRemoved = EventType(7)

    public var description: String {
        switch rawValue {
        case -1: "None"
        case 1: "NodeCreated"
        case 2: "NodeDeleted"
        case 3: "NodeDataChanged"
        case 4: "NodeChildrenChanged"
        case 5: "DataWatchRemoved"
        case 6: "ChildWatchRemoved"
        case 7: "PersistentWatchRemoved"
        default: "EventType(\(rawValue))"
        }
    }
}

/// `Watcher.Event.KeeperState`.
public struct KeeperState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let disconnected = KeeperState(0)
    public static let syncConnected = KeeperState(3)
    public static let authFailed = KeeperState(4)
    public static let connectedReadOnly = KeeperState(5)
    public static let saslAuthenticated = KeeperState(6)
    public static let expired = KeeperState(-112)
    public static let closed = KeeperState(7)

    public var description: String {
        switch rawValue {
        case 0: "Disconnected"
        case 3: "SyncConnected"
        case 4: "AuthFailed"
        case 5: "ConnectedReadOnly"
        case 6: "SaslAuthenticated"
        case -112: "Expired"
        case 7: "Closed"
        default: "KeeperState(\(rawValue))"
        }
    }
}

/// `WatcherType` for checkWatches / removeWatches.
public struct WatcherType: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static let children = WatcherType(1)
    public static let data = WatcherType(2)
    public static let any = WatcherType(3)
    public static let persistent = WatcherType(4)
    public static let persistentRecursive = WatcherType(5)
}

/// `AddWatchMode` for addWatch.
public struct AddWatchMode: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public static let persistent = AddWatchMode(0)
    public static let persistentRecursive = AddWatchMode(1)
}

/// The body of a notification (xid -1).
public struct WatcherEvent: JuteRecord, Hashable {
    public var type: EventType
    public var state: KeeperState
    public var path: String

    public init(type: EventType, state: KeeperState, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        type = EventType(try buffer.readJuteInt("WatcherEvent.type"))
        state = KeeperState(try buffer.readJuteInt("WatcherEvent.state"))
        path = try buffer.readJuteNonNullString("WatcherEvent.path")
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type.rawValue)
        buffer.writeJuteInt(state.rawValue)
        buffer.writeJuteString(path)
    }
}

/// `SetWatches` (opcode 101): re-registration after reconnect, without persistent watches.
public struct SetWatchesRequest: JuteRecord, Hashable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]

    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        relativeZxid = try buffer.readJuteLong("SetWatches.relativeZxid")
        dataWatches = try buffer.readJuteStringVector("SetWatches.dataWatches") ?? []
        existWatches = try buffer.readJuteStringVector("SetWatches.existWatches") ?? []
        childWatches = try buffer.readJuteStringVector("SetWatches.childWatches") ?? []
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(relativeZxid)
        buffer.writeJuteStringVector(dataWatches)
        buffer.writeJuteStringVector(existWatches)
        buffer.writeJuteStringVector(childWatches)
    }
}

/// `SetWatches2` (opcode 105): re-registration after reconnect, every watch kind.
public struct SetWatches2Request: JuteRecord, Hashable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    public init(
        relativeZxid: Int64,
        dataWatches: [String] = [],
        existWatches: [String] = [],
        childWatches: [String] = [],
        persistentWatches: [String] = [],
        persistentRecursiveWatches: [String] = []
    ) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        relativeZxid = try buffer.readJuteLong("SetWatches2.relativeZxid")
        dataWatches = try buffer.readJuteStringVector("SetWatches2.dataWatches") ?? []
        existWatches = try buffer.readJuteStringVector("SetWatches2.existWatches") ?? []
        childWatches = try buffer.readJuteStringVector("SetWatches2.childWatches") ?? []
        persistentWatches = try buffer.readJuteStringVector("SetWatches2.persistentWatches") ?? []
        persistentRecursiveWatches =
            try buffer.readJuteStringVector("SetWatches2.persistentRecursiveWatches") ?? []
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(relativeZxid)
        buffer.writeJuteStringVector(dataWatches)
        buffer.writeJuteStringVector(existWatches)
        buffer.writeJuteStringVector(childWatches)
        buffer.writeJuteStringVector(persistentWatches)
        buffer.writeJuteStringVector(persistentRecursiveWatches)
    }

    public var isEmpty: Bool {
        dataWatches.isEmpty && existWatches.isEmpty && childWatches.isEmpty && persistentWatches.isEmpty
            && persistentRecursiveWatches.isEmpty
    }
}
