import NIOCore
import Testing
import ZooKeeperProtocol

/// One request sent to the real ZooKeeper and every frame it sent back, as hex (see CapturedFixtures.swift).
struct CapturedExchange: Sendable, CustomTestStringConvertible {
    let name: String
    /// nil for the handshake, which has no RequestHeader.
    let opCode: Int32?
    let xid: Int32?
    /// The whole request frame, length prefix included.
    let request: String
    /// Every frame the server sent in answer, in arrival order (watch notifications first).
    let replies: [String]
    /// The server closed the connection after the reply.
    let serverClosed: Bool
    /// Fields whose values differ from run to run.
    let varies: String
    let note: String

    var testDescription: String { name }

    var requestFrame: [UInt8] { Hex.bytes(request) }
    var replyFrames: [[UInt8]] { replies.map(Hex.bytes) }
    /// The last frame: the reply to the request itself.
    var replyFrame: [UInt8] { Hex.bytes(replies[replies.count - 1]) }
}

enum Hex {
    /// Decodes hex digits, skipping whitespace (fixtures are wrapped over several lines).
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for scalar in hex.unicodeScalars {
            let nibble: UInt8
            switch scalar {
            case "0"..."9": nibble = UInt8(scalar.value - 48)
            case "a"..."f": nibble = UInt8(scalar.value - 87)
            case "A"..."F": nibble = UInt8(scalar.value - 55)
            case " ", "\n", "\t": continue
            default: preconditionFailure("not a hex digit in a fixture: \(scalar)")
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        precondition(high == nil, "odd number of hex digits in a fixture")
        return out
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A frame split off by ZooKeeperFrameDecoder, so every fixture also exercises the decoder.
enum Framing {
    struct NotOneFrame: Error, CustomStringConvertible {
        let bytes: [UInt8]
        var description: String { "expected exactly one frame in \(Hex.string(bytes))" }
    }

    static func body(of frame: [UInt8]) throws -> ByteBuffer {
        var decoder = ZooKeeperFrameDecoder()
        var buffer = ByteBuffer(bytes: frame)
        guard let body = try decoder.decode(buffer: &buffer), buffer.readableBytes == 0 else {
            throw NotOneFrame(bytes: frame)
        }
        return body
    }

    /// Splits a reply frame into its header and body.
    static func reply(_ frame: [UInt8]) throws -> (header: ReplyHeader, body: ByteBuffer) {
        var body = try body(of: frame)
        let header = try ReplyHeader(from: &body)
        return (header, body)
    }

    /// Splits a request frame into its header and body.
    static func request(_ frame: [UInt8]) throws -> (header: RequestHeader, body: ByteBuffer) {
        var body = try body(of: frame)
        let header = try RequestHeader(from: &body)
        return (header, body)
    }

    /// Encodes a request the way a client would put it on the wire.
    static func encode(_ request: ZooKeeperRequest, xid: Int32) -> [UInt8] {
        var buffer = ByteBuffer()
        request.encodeFrame(xid: xid, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Prefixes a record with its 4-byte length, as the handshake is sent.
    static func frame(_ record: some JuteRecord) -> [UInt8] {
        var body = record.encodedBytes()
        var buffer = ByteBuffer()
        buffer.writeJuteInt(Int32(body.readableBytes))
        buffer.writeBuffer(&body)
        return Array(buffer.readableBytesView)
    }
}
