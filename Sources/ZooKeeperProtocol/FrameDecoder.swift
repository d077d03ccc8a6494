import NIOCore

/// ZooKeeper's frame limit (`jute.maxbuffer` default): 0xfffff bytes.
public let zooKeeperMaxFrameLength = 0xfffff

/// A frame announced a length ZooKeeper refuses; the connection must be closed.
public struct FrameLengthError: Error, Sendable, Hashable, CustomStringConvertible {
    public var length: Int32
    public var limit: Int
    /// The first bytes of the offending frame, to show what arrived.
    public var head: [UInt8]

    public init(length: Int32, limit: Int, head: [UInt8]) {
        self.length = length
        self.limit = limit
        self.head = head
    }

    public var description: String {
        let hex = head.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
        return "frame length \(length) is outside 0...\(limit) (first bytes: \(hex))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Splits a byte stream into frames: a 4-byte big-endian length, then that many bytes.
/// Survives partial frames; refuses negative lengths and lengths over `maxFrameLength`.
public struct ZooKeeperFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameLength: Int

    public init(maxFrameLength: Int = zooKeeperMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return nil
        }
        guard length >= 0, Int(length) <= maxFrameLength else {
            let head = buffer.getBytes(at: buffer.readerIndex, length: min(16, buffer.readableBytes)) ?? []
            throw FrameLengthError(length: length, limit: maxFrameLength, head: head)
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

/// The four-letter admin words, sent in place of a length prefix on a fresh connection.
public enum FourLetterWord: String, CaseIterable, Sendable {
    case ruok, srvr, stat, cons, crst, mntr, wchs, wchc, wchp, envi, conf, isro, dump, srst, dirs, gtmk, stmk

    /// The word's four bytes as the big-endian Int32 a frame decoder would read as a length.
    public var asLength: Int32 {
        let b = Array(rawValue.utf8)
        return Int32(bitPattern: UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
    }

    /// The word a length prefix spells, if it spells one.
    public init?(length: Int32) {
        guard let word = FourLetterWord.allCases.first(where: { $0.asLength == length }) else { return nil }
        self = word
    }
}
