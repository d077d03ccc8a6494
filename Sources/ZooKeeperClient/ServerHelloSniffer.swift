import NIOCore

/// Reads the cipher suite the server chose from its ServerHello as it passes (the first handshake
/// record is sent in the clear in every TLS version), because swift-nio-ssl reports the negotiated
/// version but not the cipher. It sits in front of the TLS handler, forwards every byte untouched and
/// removes itself once it has the answer or knows it will not get one.
final class ServerHelloSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let seen: (UInt16) -> Void
    private var head: [UInt8] = []
    private var done = false

    /// `seen` gets the cipher suite's IANA code point.
    init(seen: @escaping (UInt16) -> Void) {
        self.seen = seen
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        head += buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 512 - head.count)) ?? []
        // The bytes go on first: the TLS handler behind must see them whatever this one decides.
        context.fireChannelRead(data)
        switch Self.cipherSuite(in: head) {
        case .found(let suite):
            seen(suite)
            finish(context: context)
        case .notServerHello:
            finish(context: context)
        case .needMore:
            if head.count >= 512 { finish(context: context) }
        }
    }

    private func finish(context: ChannelHandlerContext) {
        done = true
        head = []
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    enum Parse: Equatable {
        case found(UInt16)
        case notServerHello
        case needMore
    }

    /// The cipher suite of a ServerHello at the start of `bytes` (a TLS record of type handshake holding
    /// handshake type 2: version, 32 random bytes, the session id, then the suite).
    static func cipherSuite(in bytes: [UInt8]) -> Parse {
        guard bytes.count >= 6 else { return bytes.isEmpty || bytes[0] == 0x16 ? .needMore : .notServerHello }
        guard bytes[0] == 0x16, bytes[5] == 0x02 else { return .notServerHello }
        // record header 5, handshake header 4, legacy version 2, random 32
        let sessionIDLength = 5 + 4 + 2 + 32
        guard bytes.count > sessionIDLength else { return .needMore }
        let suite = sessionIDLength + 1 + Int(bytes[sessionIDLength])
        guard bytes.count >= suite + 2 else { return .needMore }
        return .found(UInt16(bytes[suite]) << 8 | UInt16(bytes[suite + 1]))
    }

    /// IANA names of the suites BoringSSL negotiates (TLS 1.3 and 1.2); others as their code point.
    static func name(_ suite: UInt16) -> String {
        switch suite {
        case 0x1301: "TLS_AES_128_GCM_SHA256"
        case 0x1302: "TLS_AES_256_GCM_SHA384"
        case 0x1303: "TLS_CHACHA20_POLY1305_SHA256"
        case 0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        case 0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        case 0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        case 0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        case 0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        case 0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        case 0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        case 0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        case 0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        case 0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        case 0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256"
        case 0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384"
        case 0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA"
        case 0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA"
        default: "0x" + String(suite, radix: 16, uppercase: true)
        }
    }
}
