import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import ZooKeeperProtocol

@Suite("Frame decoder")
struct FrameDecoderTests {
    /// Captured reply frames of every shape (handshakes, error-only, Stat, multi, notification, ping) as
    /// input, their bodies as expected output. A subset: the verifier drip-feeds each byte ten times.
    static var capturedPairs: [(ByteBuffer, [ByteBuffer])] {
        let exchanges = [
            CapturedFixtures.handshake, CapturedFixtures.handshakeWithoutReadOnly, CapturedFixtures.existsMiss,
            CapturedFixtures.getData, CapturedFixtures.multi, CapturedFixtures.setDataFiringWatch,
            CapturedFixtures.whoAmI, CapturedFixtures.ping,
        ]
        return exchanges.flatMap(\.replyFrames).map { frame in
            (ByteBuffer(bytes: frame), [ByteBuffer(bytes: frame.dropFirst(4))])
        }
    }

    @Test func verifierAcceptsCapturedFrames() throws {
        // Drip-fed byte by byte, whole, and many frames in one buffer, in shuffled orders.
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: Self.capturedPairs) { ZooKeeperFrameDecoder() }
    }

    @Test func verifierAcceptsEmptyAndSplitFrames() throws {
        let empty = ByteBuffer(bytes: [0, 0, 0, 0])
        var two = ByteBuffer(bytes: [0, 0, 0, 2, 0xaa, 0xbb])
        two.writeBytes([0, 0, 0, 1, 0xcc])
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (empty, [ByteBuffer()]),
                (two, [ByteBuffer(bytes: [0xaa, 0xbb]), ByteBuffer(bytes: [0xcc])]),
            ]
        ) { ZooKeeperFrameDecoder() }
    }

    @Test func manyFramesInOneBufferComeOutInOrder() throws {
        let frames = CapturedFixtures.all.flatMap(\.replyFrames)
        var stream = ByteBuffer(bytes: frames.flatMap { $0 })
        let processor = NIOSingleStepByteToMessageProcessor(ZooKeeperFrameDecoder())
        var bodies: [[UInt8]] = []
        try processor.process(buffer: stream) { bodies.append(Array($0.readableBytesView)) }
        #expect(bodies == frames.map { Array($0.dropFirst(4)) })
        stream.clear()
    }

    @Test func partialFramesWaitForMoreBytes() throws {
        var decoder = ZooKeeperFrameDecoder()
        let frame = CapturedFixtures.getData.replyFrame
        for cut in 0..<frame.count {
            var partial = ByteBuffer(bytes: frame[0..<cut])
            #expect(try decoder.decode(buffer: &partial) == nil, "cut at \(cut)")
            #expect(partial.readableBytes == cut, "a partial frame must not be consumed")
            #expect(try decoder.decodeLast(buffer: &partial, seenEOF: true) == nil)
        }
    }

    @Test func largestAllowedFrameIsAccepted() throws {
        var decoder = ZooKeeperFrameDecoder()
        var buffer = ByteBuffer()
        buffer.writeJuteInt(Int32(zooKeeperMaxFrameLength))
        buffer.writeRepeatingByte(0x42, count: zooKeeperMaxFrameLength)
        let body = try #require(try decoder.decode(buffer: &buffer))
        #expect(body.readableBytes == 0xfffff)
        #expect(buffer.readableBytes == 0)
    }

    @Test func frameOver1MiBIsRefusedWithItsBytes() throws {
        var decoder = ZooKeeperFrameDecoder()
        var buffer = ByteBuffer()
        buffer.writeJuteInt(0x10_0000)
        buffer.writeBytes(Array(1...20))
        let expectedHead: [UInt8] = [0x00, 0x10, 0x00, 0x00] + Array(1...12)
        // Refused from the prefix alone, before the megabyte arrives.
        #expect(throws: FrameLengthError(length: 0x10_0000, limit: 0xfffff, head: expectedHead)) {
            try decoder.decode(buffer: &buffer)
        }
        let error = FrameLengthError(length: 0x10_0000, limit: 0xfffff, head: expectedHead)
        #expect(
            error.description
                == "frame length 1048576 is outside 0...1048575 (first bytes: 00 10 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c)"
        )
    }

    @Test func negativeLengthIsRefusedWithItsBytes() throws {
        var decoder = ZooKeeperFrameDecoder()
        var buffer = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xfe, 0x01])
        #expect(
            throws: FrameLengthError(length: -2, limit: zooKeeperMaxFrameLength, head: [0xff, 0xff, 0xff, 0xfe, 0x01])
        ) {
            try decoder.decode(buffer: &buffer)
        }
    }

    @Test func theProcessorSurfacesTheErrorAfterGoodFrames() throws {
        let processor = NIOSingleStepByteToMessageProcessor(ZooKeeperFrameDecoder())
        var bodies = 0
        var stream = ByteBuffer(bytes: CapturedFixtures.ping.replyFrame)
        stream.writeBytes([0x80, 0, 0, 0])
        #expect(throws: FrameLengthError.self) { try processor.process(buffer: stream) { _ in bodies += 1 } }
        #expect(bodies == 1)
    }

    @Test func aChannelPipelineDeliversFramesThenTheError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ZooKeeperFrameDecoder()))
        let ping = CapturedFixtures.ping.replyFrame
        // Half a frame, then the rest together with an oversized length prefix.
        try channel.writeInbound(ByteBuffer(bytes: ping.prefix(7)))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        var rest = ByteBuffer(bytes: ping.dropFirst(7))
        rest.writeBytes([0x00, 0x20, 0x00, 0x00, 0xab])
        #expect(throws: FrameLengthError(length: 0x20_0000, limit: 0xfffff, head: [0x00, 0x20, 0x00, 0x00, 0xab])) {
            try channel.writeInbound(rest)
        }
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: ping.dropFirst(4)))
        _ = try? channel.finish()
    }

    @Test func smallerLimitIsHonoured() {
        var decoder = ZooKeeperFrameDecoder(maxFrameLength: 8)
        var buffer = ByteBuffer(bytes: [0, 0, 0, 9] + [UInt8](repeating: 0, count: 9))
        #expect(throws: FrameLengthError.self) { try decoder.decode(buffer: &buffer) }
    }
}

@Suite("Four-letter words")
struct FourLetterWordTests {
    @Test func capturedRuokIsDetectedFromTheLengthPrefix() throws {
        let bytes = Hex.bytes(CapturedFixtures.ruokRequest)
        let length = try #require(ByteBuffer(bytes: bytes).getInteger(at: 0, as: Int32.self))
        #expect(FourLetterWord(length: length) == .ruok)
        #expect(String(decoding: Hex.bytes(CapturedFixtures.ruokReply), as: UTF8.self) == "imok")
    }

    @Test(arguments: FourLetterWord.allCases)
    func everyWordLooksLikeAnOversizedFrame(_ word: FourLetterWord) throws {
        var buffer = ByteBuffer(string: word.rawValue)
        #expect(word.asLength == buffer.getInteger(at: 0, as: Int32.self))
        #expect(FourLetterWord(length: word.asLength) == word)
        // So a server must look for a word before the frame decoder refuses the "length".
        var decoder = ZooKeeperFrameDecoder()
        #expect(throws: FrameLengthError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test func realLengthsAreNotWords() {
        for length: Int32 in [0, 12, 45, 44, 0xfffff, -1, Int32.max, Int32.min] {
            #expect(FourLetterWord(length: length) == nil)
        }
        #expect(FourLetterWord(length: 0x7275_6f6c) == nil)  // "ruol"
    }
}
