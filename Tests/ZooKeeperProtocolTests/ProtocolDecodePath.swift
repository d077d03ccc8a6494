import NIOCore
import ZooKeeperProtocol

/// The decode path that untrusted bytes take, driven by both the libFuzzer harness
/// (Fuzz/Sources/RequestParsing, which links this same file) and the in-suite fuzz test.
///
/// Bytes are split by ZooKeeperFrameDecoder; each frame is read as a ConnectRequest, as a request
/// (RequestHeader + ZooKeeperRequest.decode, under its own opcode and optionally every opcode), and as
/// a reply (ReplyHeader + ZooKeeperResponse / WatcherEvent / ConnectResponse). Whatever decodes is
/// re-encoded and decoded again: the second decode must equal the first, or `check` fails.
enum ProtocolDecodePath {
    /// A decoded value that did not survive encode → decode. Never expected; the fuzzers stop on it.
    struct Mismatch: Error, CustomStringConvertible {
        let what: String
        let first: String
        let second: String
        var description: String { "\(what) changed on re-encode: \(first) became \(second)" }
    }

    struct Outcome {
        var frames = 0
        var decoded = 0
        var juteErrors = 0
        var frameErrors = 0
    }

    /// Every opcode ZooKeeperRequest.decode / ZooKeeperResponse.decode know, plus a few they refuse.
    static let opCodes: [OpCode] = [
        .notification, .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync,
        .ping, .getChildren2, .check, .multi, .create2, .reconfig, .checkWatches, .removeWatches,
        .createContainer, .deleteContainer, .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals,
        .getAllChildrenNumber, .setWatches2, .addWatch, .whoAmI, .createSession, .closeSession, .error,
    ]

    /// Runs `bytes` through the whole path. Throws only `Mismatch`; decoding errors are counted.
    /// `allOpCodes` also decodes each frame's body under every opcode (slower, wider).
    static func check(_ bytes: ByteBuffer, allOpCodes: Bool) throws(Mismatch) -> Outcome {
        var outcome = Outcome()
        var stream = bytes
        var decoder = ZooKeeperFrameDecoder()
        while true {
            let frame: ByteBuffer?
            do {
                frame = try decoder.decode(buffer: &stream)
            } catch is FrameLengthError {
                outcome.frameErrors += 1
                return outcome
            } catch {
                // ZooKeeperFrameDecoder throws nothing else; a new error type must be handled here.
                fatalError("ZooKeeperFrameDecoder threw \(type(of: error)): \(error)")
            }
            guard let frame else { break }
            outcome.frames += 1
            try checkFrame(frame, allOpCodes: allOpCodes, outcome: &outcome)
        }
        // What a connection would do with the remainder at EOF.
        if (try? decoder.decodeLast(buffer: &stream, seenEOF: true)) != nil {
            outcome.frames += 1
        }
        return outcome
    }

    static func checkFrame(_ frame: ByteBuffer, allOpCodes: Bool, outcome: inout Outcome) throws(Mismatch) {
        try record(ConnectRequest.self, frame, &outcome)
        try record(ConnectResponse.self, frame, &outcome)

        var request = frame
        if let header = count(&outcome, { () throws(JuteDecodingError) in try RequestHeader(from: &request) }) {
            try checkRequest(opCode: header.type, xid: header.xid, body: request, outcome: &outcome)
            if allOpCodes {
                for op in opCodes where op != header.type {
                    try checkRequest(opCode: op, xid: header.xid, body: request, outcome: &outcome)
                }
            }
        }

        var reply = frame
        if count(&outcome, { () throws(JuteDecodingError) in try ReplyHeader(from: &reply) }) != nil {
            try record(WatcherEvent.self, reply, &outcome)
            // A reply carries no opcode: a client knows it from its pending request. Try the richest
            // bodies and one more picked by the frame's size, so every opcode gets its turn.
            let replyOps = allOpCodes ? opCodes : [.multi, .getData, opCodes[frame.readableBytes % opCodes.count]]
            for op in replyOps {
                try checkResponse(opCode: op, body: reply, outcome: &outcome)
            }
        }
    }

    static func checkRequest(opCode: OpCode, xid: Int32, body: ByteBuffer, outcome: inout Outcome) throws(Mismatch) {
        var first = body
        guard
            let decoded = count(
                &outcome,
                { () throws(JuteDecodingError) in try ZooKeeperRequest.decode(opCode: opCode, from: &first) }
            )
        else { return }
        if let path = decoded.path {
            // Paths from the wire go through the same checks a server applies.
            _ = try? ZooKeeperPath.validate(path)
            _ = try? ZooKeeperPath.validate(path, sequential: true)
            _ = ZooKeeperPath.parent(of: path)
            _ = ZooKeeperPath.name(of: path)
        }
        var encoded = ByteBuffer()
        decoded.encodeFrame(xid: xid, into: &encoded)
        var decoder = ZooKeeperFrameDecoder()
        let again: ZooKeeperRequest?
        do {
            guard var frame = try decoder.decode(buffer: &encoded), encoded.readableBytes == 0 else {
                throw Mismatch(what: "request \(opCode) frame", first: "\(decoded)", second: "no single frame")
            }
            let header = try RequestHeader(from: &frame)
            guard header == RequestHeader(xid: xid, type: decoded.opCode) else {
                throw Mismatch(what: "request \(opCode) header", first: "\(xid) \(decoded.opCode)", second: "\(header)")
            }
            again = try ZooKeeperRequest.decode(opCode: header.type, from: &frame)
        } catch let mismatch as Mismatch {
            throw mismatch
        } catch is FrameLengthError {
            // A valid request can outgrow the 1 MiB limit only if its input did; inputs are smaller.
            throw Mismatch(what: "request \(opCode)", first: "\(decoded)", second: "an oversized frame")
        } catch {
            throw Mismatch(what: "request \(opCode)", first: "\(decoded)", second: "\(error)")
        }
        guard again == decoded else {
            throw Mismatch(what: "request \(opCode)", first: "\(decoded)", second: "\(String(describing: again))")
        }
    }

    static func checkResponse(opCode: OpCode, body: ByteBuffer, outcome: inout Outcome) throws(Mismatch) {
        var first = body
        guard
            let decoded = count(
                &outcome,
                { () throws(JuteDecodingError) in try ZooKeeperResponse.decode(opCode: opCode, from: &first) }
            )
        else { return }
        var encoded = ByteBuffer()
        decoded.encode(into: &encoded, replyingTo: opCode)
        let again = try? ZooKeeperResponse.decode(opCode: opCode, from: &encoded)
        guard again == decoded, encoded.readableBytes == 0 else {
            throw Mismatch(what: "response \(opCode)", first: "\(decoded)", second: "\(String(describing: again))")
        }
    }

    static func record<R: JuteRecord & Equatable>(
        _ type: R.Type,
        _ bytes: ByteBuffer,
        _ outcome: inout Outcome
    )
        throws(Mismatch)
    {
        var input = bytes
        guard let decoded = count(&outcome, { () throws(JuteDecodingError) in try R(from: &input) }) else { return }
        var encoded = decoded.encodedBytes()
        let again = try? R(from: &encoded)
        guard again == decoded, encoded.readableBytes == 0 else {
            throw Mismatch(what: "\(R.self)", first: "\(decoded)", second: "\(String(describing: again))")
        }
    }

    /// Runs one decode; its typed throw is the proof that no other error type escapes.
    static func count<T>(_ outcome: inout Outcome, _ decode: () throws(JuteDecodingError) -> T) -> T? {
        do {
            let value = try decode()
            outcome.decoded += 1
            return value
        } catch {
            outcome.juteErrors += 1
            return nil
        }
    }
}
