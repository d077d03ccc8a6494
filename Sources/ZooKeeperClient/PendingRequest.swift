import ZooKeeperProtocol

/// The callback of ``ZooKeeperClient/send(_:completion:)``: runs on the event loop with the outcome,
/// the monotonic ns when the request was written and when its reply was decoded (0 when it never
/// reached the wire).
public typealias ZooKeeperCompletion =
    @Sendable (Result<ZooKeeperResponse, ZooKeeperError>, _ sentAt: UInt64, _ receivedAt: UInt64) -> Void

/// A request written to the connection and waiting for its reply (replies come back in xid order).
struct PendingRequest {
    var xid: Int32
    var opCode: OpCode
    /// Server path (chroot included), for watch registration and error messages.
    var path: String?
    var watch: RegisteredWatches.Kind
    /// Identifies the request for cancellation; 0 when it cannot be cancelled.
    var token: UInt64
    var sentAt: UInt64
    var deadline: UInt64
    /// nil once the caller has been answered early (timeout or cancellation): the reply is dropped.
    var completion: ZooKeeperCompletion?
}

/// A request waiting for a connection (before the first handshake or while reconnecting).
struct WaitingRequest {
    var request: ZooKeeperRequest
    var token: UInt64
    var deadline: UInt64
    var completion: ZooKeeperCompletion
}
