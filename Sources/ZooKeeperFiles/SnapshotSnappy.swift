import NIOCore

extension SnapshotReader {
    /// snappy-java's stream header (`SnappyCodec`): 0x82 "SNAPPY" 0x00, then int32 version and int32
    /// compatible version, big-endian (1 and 1).
    static let snappyMagic: [UInt8] = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let snappyHeaderSize = 16

    /// True when `raw` starts with snappy-java's stream header (`SnappyOutputStream`, which ZooKeeper's
    /// `SnapStream` uses for `zookeeper.snapshot.compression.method=snappy`).
    static func isSnappyStream(_ raw: ByteBuffer) -> Bool {
        raw.getBytes(at: raw.readerIndex, length: snappyMagic.count) == snappyMagic
    }

    /// Decompresses a `.snappy` snapshot: the 16-byte header, then blocks of an int32 big-endian compressed
    /// size and that many bytes of raw Snappy (SnappyBlock). A header may recur where a block size is
    /// expected (concatenated streams). Errors name the file and the compressed offset.
    static func unsnappy(_ raw: ByteBuffer, path: String) throws(ZooKeeperFileError) -> ByteBuffer {
        let result = raw.withUnsafeReadableBytes { input -> Result<ByteBuffer, ZooKeeperFileError> in
            Result { () throws(ZooKeeperFileError) in try unsnappy(input, path: path) }
        }
        return try result.get()
    }

    private static func unsnappy(_ input: UnsafeRawBufferPointer, path: String) throws(ZooKeeperFileError) -> ByteBuffer
    {
        func bigEndian(_ at: Int) -> Int32 {
            Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(input[at + $1]) })
        }
        func fail(_ code: ZooKeeperFileError.Code, _ at: Int, _ message: String) -> ZooKeeperFileError {
            ZooKeeperFileError(code, file: path, offset: Int64(at), "snappy: \(message) (compressed offset)")
        }
        // The header's first four bytes read as a block length: negative, so never a real block.
        let magicHead = Int32(bitPattern: 0x8253_4e41)
        var output = ByteBufferAllocator().buffer(capacity: min(input.count * 4, 1 << 20))
        var at = 0
        var expectHeader = true
        while at < input.count {
            if expectHeader || (input.count - at >= 4 && bigEndian(at) == magicHead) {
                guard input.count - at >= snappyHeaderSize else {
                    throw fail(.truncated, at, "the file ends inside the 16-byte snappy-java stream header")
                }
                guard snappyMagic.indices.allSatisfy({ input[at + $0] == snappyMagic[$0] }) else {
                    throw fail(.badMagic, at, "no snappy-java stream header (0x82 \"SNAPPY\" 0x00)")
                }
                let version = bigEndian(at + 8)
                guard version >= 1 else {
                    throw fail(.unsupportedVersion, at + 8, "snappy-java stream version \(version); version 1 is known")
                }
                at += snappyHeaderSize
                expectHeader = false
                continue
            }
            guard input.count - at >= 4 else {
                throw fail(.truncated, at, "the file ends inside a block's 4-byte length")
            }
            let size = Int(bigEndian(at))
            guard size > 0 else { throw fail(.malformed, at, "block length \(size) is not positive") }
            guard size <= input.count - at - 4 else {
                throw fail(
                    .truncated,
                    at,
                    "a block of \(size) bytes runs past the end of the file (\(input.count - at - 4) bytes left); "
                        + "the file is cut: use an older snapshot with the logs after it"
                )
            }
            let block = UnsafeRawBufferPointer(rebasing: input[(at + 4)..<(at + 4 + size)])
            let base = Int64(at + 4)
            let (length, preamble) = try SnappyBlock.uncompressedLength(block, path: path, base: base)
            guard length <= maximumUncompressedSize - output.readableBytes else {
                throw fail(.malformed, at, "the snapshot decompresses to more than \(maximumUncompressedSize) bytes")
            }
            var failure: ZooKeeperFileError?
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { free in
                do throws(ZooKeeperFileError) {
                    try SnappyBlock.decompress(
                        block,
                        preamble: preamble,
                        into: UnsafeMutableRawBufferPointer(rebasing: free[0..<length]),
                        path: path,
                        base: base
                    )
                    return length
                } catch {
                    failure = error
                    return 0
                }
            }
            if let failure { throw failure }
            at += 4 + size
        }
        if expectHeader { throw fail(.truncated, 0, "the file is empty") }
        return output
    }
}
