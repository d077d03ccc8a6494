import CZlib
import NIOCore

/// Inflates a gzip snapshot into memory. StormMetrics has the project's gzip for request bodies; this
/// reader cannot depend on it (ZooKeeperFiles sits below it), and it needs offsets in its errors.
enum GzipInflate {
    static func inflate(_ input: ByteBuffer, path: String, limit: Int) throws(ZooKeeperFileError) -> ByteBuffer {
        var stream = z_stream()
        guard zkstorm_inflate_init_gzip(&stream) == Z_OK else {
            throw ZooKeeperFileError(.unreadable, file: path, offset: 0, "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output = ByteBufferAllocator().buffer(capacity: max(input.readableBytes * 4, 1 << 16))
        var status = Z_OK
        var failure: ZooKeeperFileError?
        input.withUnsafeReadableBytes { raw in
            stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(raw.count)
            while true {
                let produced = output.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { out -> Int in
                    stream.next_out = out.bindMemory(to: UInt8.self).baseAddress
                    stream.avail_out = uInt(out.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                if output.readableBytes > limit {
                    failure = ZooKeeperFileError(
                        .malformed,
                        file: path,
                        offset: Int64(stream.total_in),
                        "gzip stream inflates past \(limit) bytes"
                    )
                    return
                }
                if status == Z_STREAM_END { return }
                if status != Z_OK || (stream.avail_in == 0 && produced == 0) {
                    let detail = stream.msg.map { String(cString: $0) } ?? "the compressed data ends early"
                    failure = ZooKeeperFileError(
                        status == Z_OK || status == Z_BUF_ERROR ? .truncated : .malformed,
                        file: path,
                        offset: Int64(stream.total_in),
                        "gzip: \(detail) (compressed offset)"
                    )
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
