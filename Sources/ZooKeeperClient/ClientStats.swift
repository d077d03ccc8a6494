import Atomics
import NIOConcurrencyHelpers

/// Counters of one client, readable from any thread.
public struct ClientStats: Sendable, Hashable, CustomStringConvertible {
    /// Successful re-handshakes after a connection loss.
    public var reconnects: Int
    /// Connections lost while the session was alive.
    public var connectionLosses: Int
    /// Highest zxid seen in a reply.
    public var lastZxid: Int64
    /// Requests sent and not yet answered, plus requests waiting for a connection.
    public var outstandingRequests: Int
    /// Watch and session events delivered.
    public var eventsDelivered: Int
    /// Times socket reads were held because the `events` consumer fell behind (back-pressure).
    public var eventBackPressurePauses: Int
    /// Pings sent while idle (one after a third of the negotiated timeout without sending).
    public var pingsSent: Int = 0
    /// Ping replies received.
    public var pingsAnswered: Int = 0
    /// The longest a ping left after it was due (a third of the timeout idle), in nanoseconds: how late
    /// the client's own timer ran, at most one tick when its event loop keeps up.
    public var maxPingLatenessNanos: UInt64 = 0
    /// The longest round trip of a ping, in nanoseconds.
    public var maxPingRoundTripNanos: UInt64 = 0
    /// setWatches2 requests sent to restore watches after reconnects (several per reconnect when the
    /// watches exceed ``ZooKeeperConfiguration/maxPacketSize``).
    public var setWatchesBatchesSent: Int = 0
    /// Watches the server confirmed re-registered by those setWatches2 requests, over all reconnects.
    public var watchesRestored: Int = 0

    /// The counters on one line.
    public var description: String {
        "reconnects=\(reconnects) connectionLosses=\(connectionLosses) lastZxid=0x\(String(lastZxid, radix: 16)) outstanding=\(outstandingRequests) events=\(eventsDelivered) pauses=\(eventBackPressurePauses) pings=\(pingsAnswered)/\(pingsSent) setWatchesBatches=\(setWatchesBatchesSent) watchesRestored=\(watchesRestored)"
    }
}

/// Atomic backing store for `ClientStats`, written on the event loop, read anywhere.
final class ClientCounters: Sendable {
    let reconnects = ManagedAtomic<Int>(0)
    let connectionLosses = ManagedAtomic<Int>(0)
    let lastZxid = ManagedAtomic<Int64>(0)
    let outstanding = ManagedAtomic<Int>(0)
    let events = ManagedAtomic<Int>(0)
    let readPauses = ManagedAtomic<Int>(0)
    let pingsSent = ManagedAtomic<Int>(0)
    let pingsAnswered = ManagedAtomic<Int>(0)
    let maxPingLatenessNanos = ManagedAtomic<UInt64>(0)
    let maxPingRoundTripNanos = ManagedAtomic<UInt64>(0)
    let setWatchesBatches = ManagedAtomic<Int>(0)
    let watchesRestored = ManagedAtomic<Int>(0)
    /// Set once the session is closed or expired.
    let finished = ManagedAtomic<Bool>(false)
    let sessionId = ManagedAtomic<Int64>(0)
    let negotiatedTimeoutMs = ManagedAtomic<Int64>(0)
    let credentials = NIOLockedValueBox<SessionCredentials?>(nil)
    let connectPhases = NIOLockedValueBox<ConnectPhaseTimings?>(nil)

    var snapshot: ClientStats {
        ClientStats(
            reconnects: reconnects.load(ordering: .relaxed),
            connectionLosses: connectionLosses.load(ordering: .relaxed),
            lastZxid: lastZxid.load(ordering: .relaxed),
            outstandingRequests: outstanding.load(ordering: .relaxed),
            eventsDelivered: events.load(ordering: .relaxed),
            eventBackPressurePauses: readPauses.load(ordering: .relaxed),
            pingsSent: pingsSent.load(ordering: .relaxed),
            pingsAnswered: pingsAnswered.load(ordering: .relaxed),
            maxPingLatenessNanos: maxPingLatenessNanos.load(ordering: .relaxed),
            maxPingRoundTripNanos: maxPingRoundTripNanos.load(ordering: .relaxed),
            setWatchesBatchesSent: setWatchesBatches.load(ordering: .relaxed),
            watchesRestored: watchesRestored.load(ordering: .relaxed)
        )
    }

    /// Raises `counter` to `value` if it is lower (written on the session's loop only, read anywhere).
    static func raise(_ counter: ManagedAtomic<UInt64>, to value: UInt64) {
        if value > counter.load(ordering: .relaxed) { counter.store(value, ordering: .relaxed) }
    }
}

/// A boolean flag shared across threads.
final class ManagedAtomicBool: Sendable {
    private let value = ManagedAtomic<Bool>(false)
    func load() -> Bool { value.load(ordering: .acquiring) }
    func store(_ newValue: Bool) { value.store(newValue, ordering: .releasing) }
}
