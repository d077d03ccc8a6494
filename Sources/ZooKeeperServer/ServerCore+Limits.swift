import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The per-connection limits: the outbox bound that closes a connection whose client stopped reading
/// (`maxOutboxBytes`), and the per-address connection cap applied at accept (`maxClientConnectionsPerHost`).
extension ServerCore {
    /// A channel must have stayed past its high-water mark this long before its outbox limit applies: a
    /// client that pipelines large reads drains in bursts and is not a stalled one.
    static let stalledAfterMs: Int64 = 200

    /// Under `lock`, after output was appended: a connection whose channel has been past its high-water
    /// mark for `stalledAfterMs` (the client is not reading) and whose outbox now holds more than
    /// `maxOutboxBytes` is closed without the rest of its output, and counted
    /// (`zk_connections_closed_slow`). A writable channel's outbox is handed to the channel at the next
    /// flush. Other connections are untouched: nothing here, nor in the flush of a channel that is not
    /// writable, waits on a socket.
    func enforceOutboxLimit(_ connection: ServerConnection) {
        let limit = configuration.maxOutboxBytes
        guard limit > 0, !connection.writable, connection.outbox.readableBytes > limit,
            !connection.closed, !connection.closeAfterFlush,
            monotonicMilliseconds() - connection.unwritableSince >= Self.stalledAfterMs
        else { return }
        counters.connectionsClosedSlow += 1
        logger.debug(
            "closing connection: client not reading, outbox over the limit",
            metadata: [
                "remote": "\(connection.remoteHost):\(connection.remotePort)",
                "outbox_bytes": "\(connection.outbox.readableBytes)",
                "max_outbox": "\(limit)",
                "session": "0x\(String(connection.sessionID, radix: 16))",
            ]
        )
        // What it never read is let go at once: the point is to stop holding it.
        connection.outbox = connection.channel.allocator.buffer(capacity: 0)
        connection.closeAfterFlush = true
        markForFlush(connection)
    }

    /// The channel crossed its high- or low-water mark (on its own event loop): record it, and once it
    /// takes output again write what waited in the outbox.
    func writabilityChanged(_ connection: ServerConnection, writable: Bool) {
        let flushNow: Bool = lock.withLock {
            if connection.writable && !writable { connection.unwritableSince = monotonicMilliseconds() }
            connection.writable = writable
            return writable && !connection.closed && connection.outbox.readableBytes > 0
        }
        if flushNow { flush(connection) }
    }

    /// Under `lock`, at accept: admits the connection unless its address already holds
    /// `maxClientConnectionsPerHost` connections (then it is counted as rejected and the caller closes
    /// it, as ZooKeeper closes a connection past `maxClientCnxns` before reading anything).
    func admitFromHost(_ connection: ServerConnection) -> Bool {
        let limit = configuration.maxClientConnectionsPerHost
        let count = connectionsPerHost[connection.remoteHost, default: 0]
        if limit > 0 && count >= limit {
            counters.connectionsRejected += 1
            logger.debug(
                "refusing connection: too many from one address",
                metadata: ["remote": "\(connection.remoteHost)", "max_client_cnxns": "\(limit)"]
            )
            return false
        }
        connectionsPerHost[connection.remoteHost] = count + 1
        return true
    }

    /// Under `lock`, when an admitted connection closes.
    func releaseFromHost(_ connection: ServerConnection) {
        guard let count = connectionsPerHost[connection.remoteHost] else { return }
        if count <= 1 {
            connectionsPerHost.removeValue(forKey: connection.remoteHost)
        } else {
            connectionsPerHost[connection.remoteHost] = count - 1
        }
    }
}
