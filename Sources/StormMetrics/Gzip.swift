import CZlib

/// zlib could not compress or decompress a buffer.
public struct GzipError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var message: String
    public var description: String { "gzip \(operation) failed (zlib code \(code)): \(message)" }
}

/// gzip (RFC 1952) over zlib, for Pushgateway request bodies (`Content-Encoding: gzip`).
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
        var stream = z_stream()
        var status = zkstorm_inflate_init_gzip(&stream)
        guard status == Z_OK else {
            throw GzipError(operation: "inflateInit2", code: status, message: "cannot initialise")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        var failure: GzipError?
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
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
                        message: "output exceeds \(limit) bytes"
                    )
                    return
                }
                if status == Z_STREAM_END {
                    // Another member may follow (gzip allows concatenation).
                    if stream.avail_in == 0 { return }
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
            let reason = status == Z_BUF_ERROR ? "truncated input" : message(of: stream)
            failure = GzipError(operation: "inflate", code: status, message: reason)
        }
        if let failure { throw failure }
        return output
    }

    private static func message(of stream: z_stream) -> String {
        stream.msg.map { String(cString: $0) } ?? "no detail from zlib"
    }
}
