import ZooKeeperProtocol

/// What applying one request decided: the reply (a response value, or an error code whose reply is the
/// header alone), the zxid the reply header carries, and whether the connection closes once it is sent.
/// `ServerCore` encodes it with `ZooKeeperResponse.writeReply` / `writeErrorReply`.
struct RequestOutcome: Equatable {
    enum Reply: Equatable {
        case response(ZooKeeperResponse)
        case error(ErrorCode)
        /// An error whose reply still carries a body: SASL's AUTHFAILED with a null token (ZooKeeper
        /// writes the SetSASLResponse record even on error).
        case failure(ErrorCode, ZooKeeperResponse)
    }

    var reply: Reply
    var zxid: Int64
    var closeConnection = false

    static func response(_ response: ZooKeeperResponse, zxid: Int64) -> RequestOutcome {
        RequestOutcome(reply: .response(response), zxid: zxid)
    }

    static func error(_ code: ErrorCode, zxid: Int64, closeConnection: Bool = false) -> RequestOutcome {
        RequestOutcome(reply: .error(code), zxid: zxid, closeConnection: closeConnection)
    }

    /// The error code the reply header carries (`.ok` for a response).
    var errorCode: ErrorCode {
        switch reply {
        case .response: .ok
        case .error(let code), .failure(let code, _): code
        }
    }
}

/// The watch notifications a request caused, in the order they happened: each event with the watchers
/// (connection ids) to tell. One instance is reused for every request (`removeAll` keeps its storage), so
/// steady-state request application allocates nothing here.
struct WatchTriggers {
    struct Event {
        var path: String
        var type: EventType
        fileprivate var watcherRange: Range<Int>
    }

    /// One event as a test or a log line wants it: the watchers sorted.
    struct Fired: Equatable, CustomStringConvertible {
        var path: String
        var type: EventType
        var watchers: [Int]

        var description: String { "\(type) \(path) → \(watchers)" }
    }

    private(set) var events: [Event] = []
    private var watcherStorage: [Int] = []

    var isEmpty: Bool { events.isEmpty }

    func watchers(of event: Event) -> ArraySlice<Int> { watcherStorage[event.watcherRange] }

    /// Every event with its watchers, for assertions.
    var fired: [Fired] {
        events.map { Fired(path: $0.path, type: $0.type, watchers: watchers(of: $0).sorted()) }
    }

    /// Fires `type` on `path` in `watches` (removing one-shot watches) and records who hears it.
    mutating func record(_ type: EventType, path: String, firing watches: inout WatchManager) {
        let start = watcherStorage.count
        watches.trigger(path: path, type: type) { watcherStorage.append($0) }
        if watcherStorage.count > start {
            events.append(Event(path: path, type: type, watcherRange: start..<watcherStorage.count))
        }
    }

    /// An event for one watcher that no watch table holds (setWatches telling a client what it missed).
    mutating func append(_ type: EventType, path: String, watcher: Int) {
        watcherStorage.append(watcher)
        events.append(
            Event(path: path, type: type, watcherRange: (watcherStorage.count - 1)..<watcherStorage.count)
        )
    }

    mutating func removeAll() {
        events.removeAll(keepingCapacity: true)
        watcherStorage.removeAll(keepingCapacity: true)
    }
}

/// What the handshake decided (`ZooKeeperServer.processConnectRequest`).
enum ConnectDecision: Equatable {
    /// Send `response`; the session is now attached to the connection. `replacing` is the connection the
    /// session was attached to before, which ZooKeeper closes.
    case accept(ConnectResponse, session: Int64, replacing: Int?)
    /// Send `response` (a session id of 0, timeout 0), then close: unknown session or wrong password.
    case reject(ConnectResponse)
    /// Close without a reply.
    case refuse(ConnectRefusal)
}

enum ConnectRefusal: Equatable {
    /// The client has seen a newer zxid than this server has.
    case zxidAhead
    /// `maxSessions` sessions exist already.
    case tooManySessions
}
