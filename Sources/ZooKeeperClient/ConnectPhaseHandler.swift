import NIOCore
import NIOSSL
import NIOTLS

/// Sits between TLS (if any) and `ZooKeeperConnectionHandler`: stamps when TCP is up and when the TLS
/// handshake completes, and turns TLS errors into a security failure of the attempt (with the reason),
/// instead of a plain connection loss that would be retried until the connect timeout.
final class ConnectPhaseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let session: ClientSession
    private let attempt: Int
    private let host: HostPort
    private let tls: Bool
    private var reported = false

    init(session: ClientSession, attempt: Int, host: HostPort, tls: Bool) {
        self.session = session
        self.attempt = attempt
        self.host = host
        self.tls = tls
    }

    func channelActive(context: ChannelHandlerContext) {
        session.channelBecameActive(attempt: attempt)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let version = (try? context.pipeline.syncOperations.nioSSL_tlsVersion()).flatMap { $0 }
            session.tlsHandshakeCompleted(attempt: attempt, version: version.map(Self.name))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if tls, !reported, error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            reported = true
            session.tlsFailed(attempt: attempt, host: host, error: error)
        }
        context.fireErrorCaught(error)
    }

    static func name(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: "TLSv1"
        case .tlsv11: "TLSv1.1"
        case .tlsv12: "TLSv1.2"
        case .tlsv13: "TLSv1.3"
        }
    }
}
