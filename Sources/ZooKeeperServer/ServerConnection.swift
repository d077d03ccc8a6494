import NIOCore
import ZooKeeperProtocol

/// One client TCP connection as the server core sees it.
///
/// `@unchecked Sendable`: the `let` fields are immutable and Sendable; every `var` is read and written
/// only while holding `ServerCore.lock`, which is what orders replies and watch events per connection.
final class ServerConnection: @unchecked Sendable {
    let id: Int
    /// The core that owns this connection's state (the core drops the connection when it closes).
    let core: ServerCore
    let channel: any Channel
    let remoteHost: String
    let remotePort: Int
    /// Wall-clock ms when the connection was accepted (`est=` in `cons`).
    let establishedAt: Int64

    // Guarded by ServerCore.lock.
    var sessionID: Int64 = 0
    var handshakeDone = false
    /// Whether any frame or four-letter word has arrived yet (4lw are only recognised first).
    var sawFirstBytes = false
    /// The ids this connection has proven (ACL checks, whoAmI) and its SASL exchange.
    var auth: ConnectionAuth
    /// Replies and notifications waiting to be written, in linearization order.
    var outbox: ByteBuffer
    /// The channel takes more output (below its high-water mark). While false, output stays in `outbox`,
    /// which `ServerCore.maxOutboxBytes` bounds.
    var writable = true
    /// Monotonic ms when `writable` last turned false.
    var unwritableSince: Int64 = 0
    /// A flush task is queued on the connection's event loop.
    var flushScheduled = false
    /// After the outbox is written, close (bad frame, closeSession, rejection, 4lw answered).
    var closeAfterFlush = false
    /// Closed or closing: further input is ignored.
    var closed = false
    var packetsReceived = 0
    var packetsSent = 0
    /// The last request's type; `cons` shows its abbreviation (`lop=`), "NA" before the first.
    var lastOpCode: OpCode?
    var lastCxid: Int32 = 0
    var lastZxid: Int64 = 0
    var lastResponseAt: Int64 = 0
    var lastLatency: Int64 = 0
    var latency = LatencyStatistics()

    init(id: Int, core: ServerCore, channel: any Channel, establishedAt: Int64) {
        self.id = id
        self.core = core
        self.channel = channel
        self.establishedAt = establishedAt
        if let address = channel.remoteAddress {
            remoteHost = address.ipAddress ?? "unknown"
            remotePort = address.port ?? 0
        } else {
            remoteHost = "unknown"
            remotePort = 0
        }
        auth = ConnectionAuth(remoteHost: remoteHost)
        outbox = channel.allocator.buffer(capacity: 0)
    }

    /// Called before appending: an empty outbox whose last contents the channel has written and
    /// released is uniquely owned again, so clearing reuses its storage instead of allocating. One
    /// that grew large for a big reply is let go, so idle connections do not pin megabytes.
    func reuseEmptyOutbox() {
        guard outbox.readableBytes == 0 else { return }
        if outbox.capacity > 256 * 1024 {
            outbox = channel.allocator.buffer(capacity: 1024)
        } else {
            outbox.clear()
        }
    }
}

/// Request latency, kept in ns and shown in ms as ZooKeeper's `ServerStats` shows it (min/avg/max).
struct LatencyStatistics {
    var count: Int64 = 0
    var totalNanoseconds: Int64 = 0
    var minNanoseconds: Int64 = Int64.max
    var maxNanoseconds: Int64 = 0

    mutating func record(nanoseconds: Int64) {
        count += 1
        totalNanoseconds += nanoseconds
        if nanoseconds < minNanoseconds { minNanoseconds = nanoseconds }
        if nanoseconds > maxNanoseconds { maxNanoseconds = nanoseconds }
    }

    var minimumMs: Int64 { count == 0 ? 0 : minNanoseconds / 1_000_000 }
    var maximumMs: Int64 { maxNanoseconds / 1_000_000 }

    /// One-decimal ms average (`0.0`), as ZooKeeper prints it.
    var averageMsText: String {
        guard count > 0 else { return "0.0" }
        let tenths = (totalNanoseconds / count + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
