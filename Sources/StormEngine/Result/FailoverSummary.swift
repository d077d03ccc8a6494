/// The `failover` section of the result JSON: what happened to the run's sessions and watches when
/// servers failed, and how zkstorm accounted for it.
public struct FailoverSummary: Codable, Sendable, Equatable {
    /// Connections lost while their session was alive (every session of the run, control included).
    public var connectionLosses: UInt64
    /// Sessions that got a connection again (same session, another or the same server).
    public var reconnects: UInt64
    /// Time from losing the connection to SyncConnected on the same session (histogram "reconnect").
    public var reconnectUs: RunResult.Percentiles?
    public var expirations: UInt64
    /// New sessions opened to replace expired ones (watches re-created on them).
    public var sessionsReplaced: UInt64
    /// Attempts to open a replacement session that failed (retried until the run ended).
    public var replacementFailures: UInt64
    /// Time from seeing the expiry to the replacement session being ready (histogram "session_replacement").
    public var replacementUs: RunResult.Percentiles?
    /// Watches set again on replacement sessions.
    public var watchesRecreated: UInt64
    /// setWatches2 requests the sessions sent to restore their watches after reconnects (each fits the
    /// server's `jute.maxbuffer`, so a session with many watches sends several); nil when none was sent.
    public var setWatchesBatches: UInt64? = nil
    /// Watches the servers confirmed restored by those requests; nil when none was sent.
    public var watchesRestored: UInt64? = nil
    /// Watch notifications accounted for by znode version (nil without a watch storm).
    public var watch: WatchLedger.Summary?
    /// One entry per measured interval (1 s).
    public var intervals: [Interval]

    public struct Interval: Codable, Sendable, Equatable {
        /// Seconds since measurement began, at the end of the interval.
        public var t: Double
        public var connectionLosses: UInt64
        public var reconnects: UInt64
        public var expirations: UInt64
        public var sessionsReplaced: UInt64
        /// Failed requests in this interval by ZooKeeper result name ("CONNECTIONLOSS", "SESSIONEXPIRED").
        public var errorsByCode: [String: UInt64]
        /// The longest reconnect that completed in this interval (µs); nil when none did.
        public var reconnectMaxUs: UInt64? = nil

        enum CodingKeys: String, CodingKey {
            case t, reconnects, expirations
            case connectionLosses = "connection_losses"
            case sessionsReplaced = "sessions_replaced"
            case errorsByCode = "errors_by_code"
            case reconnectMaxUs = "reconnect_max_us"
        }
    }

    enum CodingKeys: String, CodingKey {
        case reconnects, expirations, watch, intervals
        case connectionLosses = "connection_losses"
        case reconnectUs = "reconnect_us"
        case sessionsReplaced = "sessions_replaced"
        case replacementFailures = "replacement_failures"
        case replacementUs = "replacement_us"
        case watchesRecreated = "watches_recreated"
        case setWatchesBatches = "set_watches_batches"
        case watchesRestored = "watches_restored"
    }
}
