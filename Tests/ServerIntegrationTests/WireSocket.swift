import NIOCore
import ZooKeeperProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback TCP socket speaking raw ZooKeeper frames, so wire tests control every byte.
/// Reads time out (SO_RCVTIMEO) so a test fails rather than hangs.
final class WireSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var nextXid: Int32 = 1

    init(port: Int, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    func send(_ buffer: ByteBuffer) throws { try send(Array(buffer.readableBytesView)) }

    /// Reads exactly `count` bytes; nil if the peer closed first.
    func read(_ count: Int) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return nil }
            if n < 0 { throw Failure(description: "recv failed or timed out: errno \(errno)") }
            got += n
        }
        return out
    }

    /// Everything until the server closes (four-letter words).
    func readToEnd() throws -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 { throw Failure(description: "recv failed or timed out: errno \(errno)") }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Half-closes our side and reads until the server closes, so it processes everything sent
    /// (closing with unread replies would reset the connection and discard our unprocessed input).
    func finishAndDrain() {
        shutdown(fd, Int32(SHUT_WR))
        _ = isClosedByPeer()
    }

    /// True if the server closed the connection (EOF) within the read timeout.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// One frame's payload; nil if the peer closed.
    func readFrame() throws -> ByteBuffer? {
        guard let lengthBytes = try read(4) else { return nil }
        let length = Int(Int32(bigEndian: lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        guard let body = try read(length) else { return nil }
        return ByteBuffer(bytes: body)
    }

    @discardableResult
    func handshake(
        timeout: Int32 = 10_000,
        sessionID: Int64 = 0,
        password: [UInt8] = Array(repeating: 0, count: 16)
    )
        throws -> ConnectResponse
    {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(0))
        ConnectRequest(timeOut: timeout, sessionId: sessionID, password: password, readOnly: false).encode(
            into: &buffer
        )
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        try send(buffer)
        guard var frame = try readFrame() else { throw Failure(description: "closed during handshake") }
        return try ConnectResponse(from: &frame)
    }

    /// Sends a request and returns its reply, collecting any notifications that arrive first.
    func call(_ request: ZooKeeperRequest, events: inout [WatcherEvent]) throws -> (ReplyHeader, ZooKeeperResponse?) {
        let xid = nextXid
        nextXid += 1
        var buffer = ByteBuffer()
        request.encodeFrame(xid: xid, into: &buffer)
        try send(buffer)
        while true {
            guard var frame = try readFrame() else {
                throw Failure(description: "closed before reply to \(request.opCode)")
            }
            let header = try ReplyHeader(from: &frame)
            if header.xid == SpecialXid.notification {
                events.append(try WatcherEvent(from: &frame))
                continue
            }
            guard header.err == .ok else { return (header, nil) }
            return (header, try ZooKeeperResponse.decode(opCode: request.opCode, from: &frame))
        }
    }

    func call(_ request: ZooKeeperRequest) throws -> (ReplyHeader, ZooKeeperResponse?) {
        var events: [WatcherEvent] = []
        return try call(request, events: &events)
    }

    /// The next notification (fails on a reply or close).
    func nextEvent() throws -> WatcherEvent {
        guard var frame = try readFrame() else { throw Failure(description: "closed while waiting for an event") }
        let header = try ReplyHeader(from: &frame)
        guard header.xid == SpecialXid.notification else {
            throw Failure(description: "expected an event, got xid \(header.xid)")
        }
        return try WatcherEvent(from: &frame)
    }
}
