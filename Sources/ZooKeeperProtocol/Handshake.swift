import NIOCore

/// The first frame a client sends: 45 bytes with `readOnly`, 44 without.
public struct ConnectRequest: JuteRecord, Hashable {
    public var protocolVersion: Int32
    public var lastZxidSeen: Int64
    public var timeOut: Int32
    public var sessionId: Int64
    public var password: [UInt8]
    /// nil when the client omitted the trailing flag (3.4 clients and older).
    public var readOnly: Bool?

    public init(
        protocolVersion: Int32 = 0,
        lastZxidSeen: Int64 = 0,
        timeOut: Int32,
        sessionId: Int64 = 0,
        password: [UInt8] = [UInt8](repeating: 0, count: 16),
        readOnly: Bool? = false
    ) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.password = password
        self.readOnly = readOnly
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        protocolVersion = try buffer.readJuteInt("ConnectRequest.protocolVersion")
        lastZxidSeen = try buffer.readJuteLong("ConnectRequest.lastZxidSeen")
        timeOut = try buffer.readJuteInt("ConnectRequest.timeOut")
        sessionId = try buffer.readJuteLong("ConnectRequest.sessionId")
        password = try buffer.readJuteBuffer("ConnectRequest.passwd") ?? []
        readOnly = buffer.readableBytes > 0 ? try buffer.readJuteBool("ConnectRequest.readOnly") : nil
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteLong(lastZxidSeen)
        buffer.writeJuteInt(timeOut)
        buffer.writeJuteLong(sessionId)
        buffer.writeJuteBuffer(password)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }
}

/// The server's handshake answer: 37 bytes with `readOnly`, 36 without (both occur on the wire).
public struct ConnectResponse: JuteRecord, Hashable {
    public var protocolVersion: Int32
    public var timeOut: Int32
    public var sessionId: Int64
    public var password: [UInt8]
    public var readOnly: Bool?

    public init(protocolVersion: Int32 = 0, timeOut: Int32, sessionId: Int64, password: [UInt8], readOnly: Bool?) {
        self.protocolVersion = protocolVersion
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.password = password
        self.readOnly = readOnly
    }

    /// The reply to a bad password or an expired session: zero timeout, zero session, zero password.
    public static func rejected(readOnly: Bool?) -> ConnectResponse {
        ConnectResponse(timeOut: 0, sessionId: 0, password: [UInt8](repeating: 0, count: 16), readOnly: readOnly)
    }

    public var isRejection: Bool { timeOut <= 0 || sessionId == 0 }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        protocolVersion = try buffer.readJuteInt("ConnectResponse.protocolVersion")
        timeOut = try buffer.readJuteInt("ConnectResponse.timeOut")
        sessionId = try buffer.readJuteLong("ConnectResponse.sessionId")
        password = try buffer.readJuteBuffer("ConnectResponse.passwd") ?? []
        readOnly = buffer.readableBytes > 0 ? try buffer.readJuteBool("ConnectResponse.readOnly") : nil
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteInt(timeOut)
        buffer.writeJuteLong(sessionId)
        buffer.writeJuteBuffer(password)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }
}

public struct RequestHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var type: OpCode

    public init(xid: Int32, type: OpCode) {
        self.xid = xid
        self.type = type
    }

    @inlinable
    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        guard let (xid, type) = buffer.readMultipleIntegers(endianness: .big, as: (Int32, Int32).self) else {
            throw JuteDecodingError(.truncated, field: "RequestHeader")
        }
        self.xid = xid
        self.type = OpCode(type)
    }

    @inlinable
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(xid, type.rawValue, endianness: .big)
    }
}

public struct ReplyHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var zxid: Int64
    public var err: ErrorCode

    public static let encodedSize = 16

    public init(xid: Int32, zxid: Int64, err: ErrorCode) {
        self.xid = xid
        self.zxid = zxid
        self.err = err
    }

    @inlinable
    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        guard
            let (xid, zxid, err) = buffer.readMultipleIntegers(endianness: .big, as: (Int32, Int64, Int32).self)
        else { throw JuteDecodingError(.truncated, field: "ReplyHeader") }
        self.xid = xid
        self.zxid = zxid
        self.err = ErrorCode(err)
    }

    @inlinable
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(xid, zxid, err.rawValue, endianness: .big)
    }
}

/// `AuthPacket` (xid -4, opcode 100).
public struct AuthPacket: JuteRecord, Hashable {
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]

    public init(type: Int32 = 0, scheme: String, auth: [UInt8]) {
        self.type = type
        self.scheme = scheme
        self.auth = auth
    }

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        type = try buffer.readJuteInt("AuthPacket.type")
        scheme = try buffer.readJuteNonNullString("AuthPacket.scheme")
        auth = try buffer.readJuteBuffer("AuthPacket.auth") ?? []
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteString(scheme)
        buffer.writeJuteBuffer(auth)
    }
}
