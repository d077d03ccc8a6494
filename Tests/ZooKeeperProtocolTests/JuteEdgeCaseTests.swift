import NIOCore
import Testing
import ZooKeeperProtocol

/// Lengths and counts read from the wire are never trusted.
@Suite("Jute edge cases")
struct JuteEdgeCaseTests {
    func buffer(_ build: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        build(&buffer)
        return buffer
    }

    @Test func nullBufferAndStringReadAsNil() throws {
        var b = buffer {
            $0.writeJuteInt(-1)
            $0.writeJuteInt(-1)
            $0.writeJuteInt(-1)
            $0.writeJuteInt(-1)
        }
        #expect(try b.readJuteBuffer("buffer") == nil)
        #expect(try b.readJuteString("string") == nil)
        #expect(try b.readJuteBufferSlice("slice") == nil)
        // Fields that must not be null (paths) read a null as "".
        #expect(try b.readJuteNonNullString("path") == "")
        #expect(b.readableBytes == 0)
    }

    @Test func nilIsWrittenAsMinusOne() throws {
        var b = buffer {
            $0.writeJuteBuffer(nil as [UInt8]?)
            $0.writeJuteString(nil)
            $0.writeJuteStringVector(nil)
            $0.writeJuteRecordVector(nil as [ACL]?)
        }
        #expect(Array(b.readableBytesView) == [UInt8](repeating: 0xff, count: 16))
        #expect(try b.readJuteStringVector("v") == nil)
    }

    @Test func emptyValuesAreNotNull() throws {
        var b = buffer {
            $0.writeJuteBuffer([UInt8]())
            $0.writeJuteString("")
            $0.writeJuteStringVector([])
        }
        #expect(Array(b.readableBytesView) == [UInt8](repeating: 0, count: 12))
        #expect(try b.readJuteBuffer("b") == [])
        #expect(try b.readJuteString("s") == "")
        #expect(try b.readJuteStringVector("v") == [])
    }

    @Test(arguments: [Int32(-2), -100, Int32.min])
    func negativeLengthsAreRefused(_ length: Int32) {
        let bytes = buffer {
            $0.writeJuteInt(length)
            $0.writeBytes([UInt8](repeating: 0, count: 64))
        }
        let expected = JuteDecodingError(.negativeLength(length), field: "data")
        var b = bytes
        #expect(throws: expected) { try b.readJuteBuffer("data") }
        b = bytes
        #expect(throws: expected) { try b.readJuteBufferSlice("data") }
        b = bytes
        #expect(throws: expected) { try b.readJuteString("data") }
        b = bytes
        #expect(throws: expected) { try b.readJuteStringVector("data") }
        b = bytes
        #expect(throws: expected) { try b.readJuteRecordVector(ACL.self, "data", minimumRecordSize: 12) }
    }

    @Test func lengthPastTheFrameIsRefused() {
        var b = buffer {
            $0.writeJuteInt(5)
            $0.writeBytes([1, 2, 3, 4])
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(5), field: "data")) { try b.readJuteBuffer("data") }
        var s = buffer {
            $0.writeJuteInt(Int32.max)
            $0.writeString("abc")
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(Int32.max), field: "path")) {
            try s.readJuteString("path")
        }
    }

    @Test func lengthExactlyToTheEndIsAccepted() throws {
        var b = buffer {
            $0.writeJuteInt(4)
            $0.writeBytes([1, 2, 3, 4])
        }
        #expect(try b.readJuteBuffer("data") == [1, 2, 3, 4])
    }

    /// A count of 2^31 - 1 in a tiny frame is refused from the count alone. Reserving that many
    /// elements (tens of GiB) would trap, so getting the error back shows nothing was allocated.
    @Test func hugeVectorCountsAreRefusedBeforeAllocating() {
        var strings = buffer {
            $0.writeJuteInt(Int32.max)
            $0.writeJuteString("a")
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(Int32.max), field: "children")) {
            try strings.readJuteStringVector("children")
        }
        var acls = buffer {
            $0.writeJuteInt(Int32.max)
            ACL.openUnsafe[0].encode(into: &$0)
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(Int32.max), field: "acl")) {
            try acls.readJuteRecordVector(ACL.self, "acl", minimumRecordSize: 12)
        }
        // Just over what the bytes could hold: 3 strings need at least 12 bytes.
        var three = buffer {
            $0.writeJuteInt(3)
            $0.writeBytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(3), field: "v")) { try three.readJuteStringVector("v") }
    }

    @Test func hugeCountsInsideResponsesAreRefused() {
        var children = buffer { $0.writeJuteInt(0x0fff_ffff) }
        #expect(throws: JuteDecodingError.self) { try ZooKeeperResponse.decode(opCode: .getChildren, from: &children) }
        var whoAmI = buffer {
            $0.writeJuteInt(Int32.max)
            $0.writeJuteString("ip")
        }
        #expect(throws: JuteDecodingError(.lengthExceedsFrame(Int32.max), field: "WhoAmIResponse.clientInfo")) {
            try ZooKeeperResponse.decode(opCode: .whoAmI, from: &whoAmI)
        }
    }

    @Test func truncatedPrimitives() {
        var three = ByteBuffer(bytes: [0, 0, 0])
        #expect(throws: JuteDecodingError(.truncated, field: "i")) { try three.readJuteInt("i") }
        var seven = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0])
        #expect(throws: JuteDecodingError(.truncated, field: "l")) { try seven.readJuteLong("l") }
        var empty = ByteBuffer()
        #expect(throws: JuteDecodingError(.truncated, field: "b")) { try empty.readJuteBool("b") }
        var stat = ByteBuffer(bytes: [UInt8](repeating: 0, count: 67))
        #expect(throws: JuteDecodingError(.truncated, field: "Stat")) { try Stat(from: &stat) }
    }

    @Test func everyTruncationOfACapturedReplyFails() throws {
        // Cutting any byte off a body must give a decoding error, never a partial value or a crash.
        for exchange in [
            CapturedFixtures.getData, CapturedFixtures.multi, CapturedFixtures.whoAmI, CapturedFixtures.getACL,
        ] {
            let (_, body) = try Framing.reply(exchange.replyFrame)
            let bytes = Array(body.readableBytesView)
            for cut in 0..<bytes.count {
                var truncated = ByteBuffer(bytes: bytes[0..<cut])
                #expect(throws: JuteDecodingError.self, "\(exchange.name) cut at \(cut)") {
                    try ZooKeeperResponse.decode(opCode: OpCode(exchange.opCode!), from: &truncated)
                }
            }
        }
    }

    @Test func everyTruncationOfACapturedRequestFails() throws {
        for exchange in [
            CapturedFixtures.create, CapturedFixtures.multi, CapturedFixtures.setACL, CapturedFixtures.createTTL,
        ] {
            let (header, body) = try Framing.request(exchange.requestFrame)
            let bytes = Array(body.readableBytesView)
            for cut in 0..<bytes.count {
                var truncated = ByteBuffer(bytes: bytes[0..<cut])
                #expect(throws: JuteDecodingError.self, "\(exchange.name) cut at \(cut)") {
                    try ZooKeeperRequest.decode(opCode: header.type, from: &truncated)
                }
            }
        }
    }

    @Test func booleanIsAnyNonZeroByte() throws {
        var b = ByteBuffer(bytes: [0, 1, 2, 0xff])
        #expect(
            try [b.readJuteBool("a"), b.readJuteBool("b"), b.readJuteBool("c"), b.readJuteBool("d")] == [
                false, true, true, true,
            ]
        )
    }

    @Test func invalidUTF8IsReplacedLikeJava() throws {
        var b = buffer {
            $0.writeJuteInt(3)
            $0.writeBytes([0x61, 0xff, 0x62])
        }
        #expect(try b.readJuteString("s") == "a\u{FFFD}b")
    }

    @Test func stringLengthIsInBytesNotCharacters() throws {
        let b = buffer { $0.writeJuteString("é🙂") }
        #expect(b.getInteger(at: 0, as: Int32.self) == 6)
        #expect(b.readableBytes == 10)
    }

    @Test func bufferSliceSharesTheBytes() throws {
        var b = buffer { $0.writeJuteBuffer([9, 8, 7]) }
        #expect(try b.readJuteBufferSlice("s").map { Array($0.readableBytesView) } == [9, 8, 7])
    }

    @Test func multiRefusesOpsOfTheWrongFamily() {
        var readInWrite = buffer { MultiOperation.encode([.getData(path: "/a")], into: &$0) }
        #expect(throws: JuteDecodingError.self) { try ZooKeeperRequest.decode(opCode: .multi, from: &readInWrite) }
        var writeInRead = buffer { MultiOperation.encode([.delete(path: "/a", version: -1)], into: &$0) }
        #expect(throws: JuteDecodingError.self) { try ZooKeeperRequest.decode(opCode: .multiRead, from: &writeInRead) }
        var unknown = buffer {
            MultiHeader(type: .sync, done: false, err: ErrorCode(-1)).encode(into: &$0)
            $0.writeJuteString("/a")
        }
        #expect(throws: JuteDecodingError.self) { try ZooKeeperRequest.decode(opCode: .multi, from: &unknown) }
    }

    @Test func multiWithoutEndMarkerIsTruncated() {
        var b = buffer {
            MultiHeader(type: .check, done: false, err: ErrorCode(-1)).encode(into: &$0)
            $0.writeJuteString("/a")
            $0.writeJuteInt(1)
        }
        #expect(throws: JuteDecodingError(.truncated, field: "MultiHeader.type")) {
            try ZooKeeperRequest.decode(opCode: .multi, from: &b)
        }
    }

    @Test func multiResultOfUnknownTypeIsMalformed() {
        var b = buffer { MultiHeader(type: .sync, done: false, err: .ok).encode(into: &$0) }
        #expect(throws: JuteDecodingError.self) { try MultiResult.decodeAll(from: &b) }
    }

    @Test func opcodesAClientMayNotSendAreRefused() {
        for op in [OpCode.notification, .createSession, .error, .deleteContainer, OpCode(10), OpCode(Int32.max)] {
            var empty = ByteBuffer()
            #expect(throws: JuteDecodingError(.unknownOpCode(op.rawValue), field: "RequestHeader.type")) {
                try ZooKeeperRequest.decode(opCode: op, from: &empty)
            }
        }
    }

    @Test func errorDescriptionsNameTheField() {
        #expect(JuteDecodingError(.truncated, field: "Stat").description == "truncated record while reading Stat")
        #expect(JuteDecodingError(.negativeLength(-2), field: "x").description == "invalid length -2 for x")
        #expect(JuteDecodingError(.lengthExceedsFrame(9), field: "x").description == "length 9 for x exceeds the frame")
    }

    @Test func errorCodesHaveZooKeeperNames() {
        #expect(ErrorCode.noNode.description == "NONODE (-101)")
        #expect(ErrorCode(-9999).name == "ERROR(-9999)")
        #expect(ErrorCode.allKnown.first == .ok)
        #expect(ErrorCode.allKnown.count == 32)
    }
}
