import Testing
import ZooKeeperFiles

/// The raw Snappy block decoder on hand-made blocks: every element kind, overlapping copies, and every way
/// a block can lie (bad offsets, cut elements, lengths that do not add up).
@Suite struct SnappyBlockTests {
    /// The little-endian base-128 length preamble.
    func varint(_ value: Int) -> [UInt8] {
        var out: [UInt8] = []
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        return out + [UInt8(rest)]
    }

    /// A literal element: the tag holds length-1 below 60, else 60...63 say 1...4 length bytes follow.
    func literal(_ bytes: [UInt8]) -> [UInt8] {
        let n = bytes.count - 1
        if n < 60 { return [UInt8(n << 2)] + bytes }
        let extra = n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : n < 1 << 24 ? 3 : 4
        return [UInt8((59 + extra) << 2)] + (0..<extra).map { UInt8(n >> (8 * $0) & 0xff) } + bytes
    }

    /// Copy with a 1-byte offset: length 4...11, offset below 2048 (its top 3 bits in the tag).
    func copy1(length: Int, offset: Int) -> [UInt8] {
        [UInt8(1 | (length - 4) << 2 | (offset >> 8) << 5), UInt8(offset & 0xff)]
    }

    /// Copy with a 2-byte little-endian offset, length 1...64.
    func copy2(length: Int, offset: Int) -> [UInt8] {
        [UInt8(2 | (length - 1) << 2), UInt8(offset & 0xff), UInt8(offset >> 8)]
    }

    /// Copy with a 4-byte little-endian offset, length 1...64.
    func copy4(length: Int, offset: Int) -> [UInt8] {
        [UInt8(3 | (length - 1) << 2)] + (0..<4).map { UInt8(offset >> (8 * $0) & 0xff) }
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func literalsOfEveryLengthForm() throws {
        #expect(try SnappyBlock.decompress(varint(5) + literal(bytes("hello"))) == bytes("hello"))
        for count in [1, 60, 61, 200, 256, 300, 70_000] {
            let data = (0..<count).map { UInt8($0 * 7 & 0xff) }
            #expect(try SnappyBlock.decompress(varint(count) + literal(data)) == data, "\(count)")
        }
        // Two literals back to back, and the empty block.
        #expect(
            try SnappyBlock.decompress(varint(6) + literal(bytes("abc")) + literal(bytes("def"))) == bytes("abcdef")
        )
        #expect(try SnappyBlock.decompress([0]) == [])
    }

    @Test func copiesWithOneTwoAndFourByteOffsets() throws {
        let head = (0..<300).map { UInt8($0 & 0xff) }
        // 1-byte offset, including its 3 high bits in the tag (offset 300 = 0x12c).
        #expect(
            try SnappyBlock.decompress(varint(311) + literal(head) + copy1(length: 11, offset: 300))
                == head + head[0..<11]
        )
        #expect(
            try SnappyBlock.decompress(varint(8) + literal(bytes("abcd")) + copy1(length: 4, offset: 4))
                == bytes("abcdabcd")
        )
        #expect(
            try SnappyBlock.decompress(varint(364) + literal(head) + copy2(length: 64, offset: 290))
                == head + head[10..<74]
        )
        let long = (0..<70_000).map { UInt8($0 % 251) }
        #expect(
            try SnappyBlock.decompress(varint(70_032) + literal(long) + copy4(length: 32, offset: 70_000))
                == long + long[0..<32]
        )
    }

    @Test func overlappingCopiesRepeatTheirSource() throws {
        #expect(
            try SnappyBlock.decompress(varint(12) + literal(bytes("ab")) + copy2(length: 10, offset: 2))
                == bytes("abababababab")
        )
        #expect(
            try SnappyBlock.decompress(varint(65) + literal(bytes("x")) + copy2(length: 64, offset: 1))
                == Array(repeating: UInt8(ascii: "x"), count: 65)
        )
        #expect(
            try SnappyBlock.decompress(varint(10) + literal(bytes("abc")) + copy1(length: 7, offset: 3))
                == bytes("abcabcabca")
        )
    }

    func failure(_ block: [UInt8]) -> ZooKeeperFileError? {
        #expect(throws: ZooKeeperFileError.self) { try SnappyBlock.decompress(block, path: "block.snappy") }
    }

    @Test func badOffsetsAreMalformedAtTheCopy() throws {
        let prefix = varint(8) + literal(bytes("abcd"))
        for copy in [
            copy1(length: 4, offset: 0), copy1(length: 4, offset: 5), copy2(length: 4, offset: 1000),
            copy4(length: 4, offset: 1 << 30),
        ] {
            let error = failure(prefix + copy)
            #expect(error?.code == .malformed)
            #expect(error?.file == "block.snappy")
            #expect(error?.offset == Int64(prefix.count), "\(String(describing: error))")
            #expect(error?.message.contains("reaches outside") == true)
        }
    }

    @Test func truncatedAndInconsistentBlocks() throws {
        let whole = varint(12) + literal(bytes("ab")) + copy2(length: 10, offset: 2)
        // Cut inside the varint, the literal, the copy's offset; every cut names an offset inside the block.
        for cut in 0..<whole.count {
            let error = failure(Array(whole[..<cut]))
            #expect(error?.code == .truncated || error?.code == .malformed, "cut at \(cut)")
            #expect((error?.offset ?? -1) >= 0 && (error?.offset ?? .max) <= Int64(cut), "cut at \(cut)")
        }
        // Elements that overflow the declared length, or fall short of it.
        #expect(failure(varint(3) + literal(bytes("abcd")))?.message.contains("overflows") == true)
        #expect(
            failure(varint(5) + literal(bytes("ab")) + copy2(length: 10, offset: 2))?.message.contains("overflows")
                == true
        )
        #expect(failure(varint(9) + literal(bytes("abcd")))?.message.contains("declares 9") == true)
        // A varint longer than 32 bits, and a length no Snappy block of this size can expand to: refused
        // before anything is allocated.
        #expect(failure([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])?.code == .malformed)
        #expect(
            failure(varint(1 << 31) + literal(bytes("abcd")))?.message.contains("more than Snappy can expand") == true
        )
        #expect(
            throws: ZooKeeperFileError.self,
            "a declared length over the caller's limit"
        ) { try SnappyBlock.decompress(varint(100) + literal(Array(repeating: 1, count: 100)), limit: 50) }
    }
}
