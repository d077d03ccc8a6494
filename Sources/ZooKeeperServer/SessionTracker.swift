/// A client session: outlives its connections until it is closed or expires.
struct ServerSession {
    var id: Int64
    var password: [UInt8]
    var timeoutMs: Int32
    /// The tick-rounded deadline bucket the session sits in (monotonic ms).
    var expiresAt: Int64
    /// The connection currently attached, if any.
    var connection: Int?
}

/// Sessions and their expiry on a tick wheel (`ExpiryQueue`): a deadline is rounded up to the next
/// tick, so one timer per tick expires whole buckets and a touch moves a session only when its
/// bucket changes.
struct SessionTracker {
    let tickMs: Int64
    private(set) var sessions: [Int64: ServerSession] = [:]
    private(set) var buckets: [Int64: Set<Int64>] = [:]
    private var nextID: Int64

    init(tickMs: Int64, wallClockMs: Int64) {
        self.tickMs = max(tickMs, 1)
        // ZooKeeper's SessionTrackerImpl.initializeNextSessionId with server id 1 (standalone).
        nextID = ((wallClockMs << 24) >> 8 & 0x00FF_FFFF_FFFF_FFFF) | (1 << 56)
    }

    var count: Int { sessions.count }

    /// `[2 × tick, 20 × tick]`, as ZooKeeper's default min/max session timeouts.
    func negotiate(_ requested: Int32) -> Int32 {
        let low = Int32(clamping: 2 * tickMs)
        let high = Int32(clamping: 20 * tickMs)
        return min(max(requested, low), high)
    }

    func bucket(for now: Int64, timeoutMs: Int32) -> Int64 {
        (now + Int64(timeoutMs)) / tickMs * tickMs + tickMs
    }

    mutating func create(timeoutMs: Int32, password: [UInt8], now: Int64) -> ServerSession {
        let id = nextID
        nextID += 1
        let session = ServerSession(
            id: id,
            password: password,
            timeoutMs: timeoutMs,
            expiresAt: bucket(for: now, timeoutMs: timeoutMs),
            connection: nil
        )
        sessions[id] = session
        buckets[session.expiresAt, default: []].insert(id)
        return session
    }

    subscript(id: Int64) -> ServerSession? { sessions[id] }

    mutating func attach(_ id: Int64, connection: Int?) {
        sessions[id]?.connection = connection
    }

    mutating func setTimeout(_ id: Int64, _ timeoutMs: Int32, now: Int64) {
        sessions[id]?.timeoutMs = timeoutMs
        touch(id, now: now)
    }

    /// Pushes the session's deadline out; false if the session is gone.
    @discardableResult
    mutating func touch(_ id: Int64, now: Int64) -> Bool {
        guard let session = sessions[id] else { return false }
        let newBucket = bucket(for: now, timeoutMs: session.timeoutMs)
        if newBucket == session.expiresAt { return true }
        buckets[session.expiresAt]?.remove(id)
        if buckets[session.expiresAt]?.isEmpty == true { buckets[session.expiresAt] = nil }
        buckets[newBucket, default: []].insert(id)
        sessions[id]!.expiresAt = newBucket
        return true
    }

    mutating func remove(_ id: Int64) -> ServerSession? {
        guard let session = sessions.removeValue(forKey: id) else { return nil }
        buckets[session.expiresAt]?.remove(id)
        if buckets[session.expiresAt]?.isEmpty == true { buckets[session.expiresAt] = nil }
        return session
    }

    /// Sessions whose bucket has passed, removed from the tracker.
    mutating func expire(now: Int64) -> [ServerSession] {
        var expired: [ServerSession] = []
        for deadline in buckets.keys where deadline <= now {
            for id in buckets.removeValue(forKey: deadline) ?? [] {
                if let session = sessions.removeValue(forKey: id) { expired.append(session) }
            }
        }
        return expired
    }
}
