/// Google Snappy's raw block format (snappy's format_description.txt): a little-endian base-128 varint
/// holding the uncompressed length, then elements, each a literal run or a back-reference copy into the
/// bytes this block has produced. Every malformed input is a `ZooKeeperFileError` naming the file and the
/// file offset of the element that broke; a length field never allocates more than the block can hold.
public enum SnappyBlock {
    /// The densest Snappy element is a 3-byte copy of 64 bytes, so a block's output is at most this many
    /// times its element bytes: a declared length above that is a lie, refused before anything is allocated.
    public static let maximumExpansion = 22
    /// Snappy's uncompressed lengths are 32-bit.
    public static let maximumBlockLength = Int(UInt32.max)

    /// The preamble: the declared uncompressed length and the bytes the varint took. `base` is the file
    /// offset of `input`'s first byte (for errors).
    public static func uncompressedLength(
        _ input: UnsafeRawBufferPointer,
        path: String,
        base: Int64
    ) throws(ZooKeeperFileError) -> (length: Int, preamble: Int) {
        var value = 0
        for index in 0..<5 {
            guard index < input.count else {
                throw ZooKeeperFileError(
                    .truncated,
                    file: path,
                    offset: base + Int64(index),
                    "snappy: the block ends inside its length varint (compressed offset)"
                )
            }
            let byte = input[index]
            value |= Int(byte & 0x7f) << (7 * index)
            if byte & 0x80 == 0 {
                guard value <= maximumBlockLength else { break }
                let elements = input.count - index - 1
                guard value <= elements * maximumExpansion else {
                    throw ZooKeeperFileError(
                        .malformed,
                        file: path,
                        offset: base,
                        "snappy: the block declares \(value) uncompressed bytes from \(elements) compressed bytes, "
                            + "more than Snappy can expand (compressed offset); the file is damaged"
                    )
                }
                return (value, index + 1)
            }
        }
        throw ZooKeeperFileError(
            .malformed,
            file: path,
            offset: base,
            "snappy: the block's length varint is longer than 32 bits (compressed offset); the file is damaged"
        )
    }

    /// Decodes the elements after the preamble into `output`, which must be exactly the declared length:
    /// the elements must fill it, no more and no less.
    public static func decompress(
        _ input: UnsafeRawBufferPointer,
        preamble: Int,
        into output: UnsafeMutableRawBufferPointer,
        path: String,
        base: Int64
    ) throws(ZooKeeperFileError) {
        let end = input.count
        let total = output.count
        var ip = preamble
        var op = 0
        func fail(_ code: ZooKeeperFileError.Code, _ at: Int, _ message: String) -> ZooKeeperFileError {
            ZooKeeperFileError(code, file: path, offset: base + Int64(at), "snappy: \(message) (compressed offset)")
        }
        func littleEndian(_ at: Int, _ count: Int) -> Int {
            var value = 0
            for index in 0..<count { value |= Int(input[at + index]) << (8 * index) }
            return value
        }
        while ip < end {
            let element = ip
            let tag = input[ip]
            ip += 1
            var length: Int
            let offset: Int
            switch tag & 3 {
            case 0:
                length = Int(tag >> 2)
                if length >= 60 {
                    let extra = length - 59
                    guard extra <= end - ip else {
                        throw fail(.truncated, element, "the block ends inside a literal's length")
                    }
                    length = littleEndian(ip, extra)
                    ip += extra
                }
                length += 1
                guard length <= end - ip else {
                    throw fail(.truncated, element, "a literal of \(length) bytes runs past the end of the block")
                }
                guard length <= total - op else {
                    throw fail(
                        .malformed,
                        element,
                        "a literal of \(length) bytes overflows the declared \(total) bytes"
                    )
                }
                output.baseAddress!.advanced(by: op).copyMemory(
                    from: input.baseAddress!.advanced(by: ip),
                    byteCount: length
                )
                op += length
                ip += length
                continue
            case 1:
                guard ip < end else { throw fail(.truncated, element, "the block ends inside a copy") }
                length = 4 + Int((tag >> 2) & 7)
                offset = Int(tag >> 5) << 8 | Int(input[ip])
                ip += 1
            case 2:
                guard 2 <= end - ip else { throw fail(.truncated, element, "the block ends inside a copy") }
                length = Int(tag >> 2) + 1
                offset = littleEndian(ip, 2)
                ip += 2
            default:
                guard 4 <= end - ip else { throw fail(.truncated, element, "the block ends inside a copy") }
                length = Int(tag >> 2) + 1
                offset = littleEndian(ip, 4)
                ip += 4
            }
            guard offset > 0, offset <= op else {
                throw fail(
                    .malformed,
                    element,
                    "a copy from \(offset) bytes back reaches outside the \(op) bytes decoded so far"
                )
            }
            guard length <= total - op else {
                throw fail(.malformed, element, "a copy of \(length) bytes overflows the declared \(total) bytes")
            }
            let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if offset >= length {
                (out + op).update(from: out + op - offset, count: length)
            } else {
                // Overlapping: the copy repeats the last `offset` bytes, so it goes byte by byte.
                for index in op..<(op + length) { out[index] = out[index - offset] }
            }
            op += length
        }
        guard op == total else {
            throw fail(.truncated, end, "the block decodes to \(op) bytes but declares \(total)")
        }
    }

    /// One whole block, for tests and the fuzzer: decodes `input` (preamble included). `limit` bounds the
    /// declared length.
    public static func decompress(
        _ input: [UInt8],
        limit: Int = maximumBlockLength,
        path: String = "snappy block"
    ) throws(ZooKeeperFileError) -> [UInt8] {
        let result = input.withUnsafeBytes { raw -> Result<[UInt8], ZooKeeperFileError> in
            Result { () throws(ZooKeeperFileError) in
                let (length, preamble) = try uncompressedLength(raw, path: path, base: 0)
                guard length <= limit else {
                    throw ZooKeeperFileError(
                        .malformed,
                        file: path,
                        offset: 0,
                        "snappy: the block declares \(length) bytes, over the limit of \(limit)"
                    )
                }
                var failure: ZooKeeperFileError?
                let output = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                    do throws(ZooKeeperFileError) {
                        try decompress(
                            raw,
                            preamble: preamble,
                            into: UnsafeMutableRawBufferPointer(
                                UnsafeMutableBufferPointer(rebasing: buffer[0..<length])
                            ),
                            path: path,
                            base: 0
                        )
                        initialized = length
                    } catch {
                        failure = error
                        initialized = 0
                    }
                }
                if let failure { throw failure }
                return output
            }
        }
        return try result.get()
    }
}
