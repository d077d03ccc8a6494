import CZlib

/// zlib could not compress or decompress a buffer.
public struct GzipError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var message: String
    /// Compressed bytes consumed when it failed (where in the input the problem is).
    public var inputOffset: Int
    /// The input ended before the gzip stream did (as opposed to corrupt data or a limit).
    public var truncated: Bool
    public var description: String { "gzip \(operation) failed (zlib code \(code)): \(message)" }

    public init(operation: String, code: Int32, message: String, inputOffset: Int = 0, truncated: Bool = false) {
        self.operation = operation
        self.code = code
        self.message = message
        self.inputOffset = inputOffset
        self.truncated = truncated
    }
}

/// gzip (RFC 1952) over zlib, both directions, for every module: Pushgateway request bodies
/// (`Content-Encoding: gzip`, StormMetrics) and `.gz` ZooKeeper snapshots (ZooKeeperFiles).
public enum Gzip {
    /// The two magic bytes every gzip member starts with.
    public static let magic: [UInt8] = [0x1f, 0x8b]

    public static func compress(_ input: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        var status = zkstorm_deflate_init_gzip(&stream, level)
        guard status == Z_OK else {
            throw GzipError(operation: "deflateInit2", code: status, message: "cannot initialise")
        }
        defer { deflateEnd(&stream) }
        // deflateBound is exact enough that one call with Z_FINISH always completes.
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                status = deflate(&stream, Z_FINISH)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else {
            throw GzipError(operation: "deflate", code: status, message: message(of: stream))
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Inflates one or more concatenated gzip members; `limit` bounds the output against gzip bombs.
    public static func decompress(_ input: [UInt8], limit: Int = 64 << 20) throws(GzipError) -> [UInt8] {
        try input.withUnsafeBufferPointer { buffer throws(GzipError) in try decompress(buffer, limit: limit) }
    }

    /// Inflates gzip members read straight from memory (a file's bytes, without copying them first).
    public static func decompress(
        _ input: UnsafeBufferPointer<UInt8>,
        limit: Int = 64 << 20
    ) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        var status = zkstorm_inflate_init_gzip(&stream)
        guard status == Z_OK else {
            throw GzipError(operation: "inflateInit2", code: status, message: "cannot initialise")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: GzipError?
        do {
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return outBuffer.count - Int(stream.avail_out)
                }
                output += chunk[0..<produced]
                if output.count > limit {
                    failure = GzipError(
                        operation: "inflate",
                        code: Z_BUF_ERROR,
                        message: "output exceeds \(limit) bytes",
                        inputOffset: input.count - Int(stream.avail_in)
                    )
                    break
                }
                if status == Z_STREAM_END {
                    // Another member may follow (gzip allows concatenation).
                    if stream.avail_in == 0 { break }
                    status = inflateReset(&stream)
                    guard status == Z_OK else { break }
                    continue
                }
                if status != Z_OK { break }
                if stream.avail_in == 0 && produced == 0 {
                    status = Z_BUF_ERROR
                    break
                }
            }
            if failure == nil && status != Z_STREAM_END {
                let truncated = status == Z_BUF_ERROR || status == Z_OK
                failure = GzipError(
                    operation: "inflate",
                    code: status,
                    message: truncated ? "truncated input" : message(of: stream),
                    inputOffset: input.count - Int(stream.avail_in),
                    truncated: truncated
                )
            }
        }
        if let failure { throw failure }
        return output
    }

    private static func message(of stream: z_stream) -> String {
        stream.msg.map { String(cString: $0) } ?? "no detail from zlib"
    }
}
