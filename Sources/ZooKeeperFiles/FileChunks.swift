import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file front to back into a sliding `ByteBuffer`, so a multi-gigabyte log needs only as much
/// memory as its largest entry. Not Sendable: one reader, one task.
final class FileChunks {
    let path: String
    private let fd: Int32
    let fileSize: Int64
    /// Unread bytes; `buffer.readerIndex` corresponds to file offset `offset`.
    private(set) var buffer: ByteBuffer
    /// File offset of `buffer.readerIndex`.
    private(set) var offset: Int64 = 0
    private var endOfFile = false
    static let chunk = 1 << 20

    init(path: String) throws(ZooKeeperFileError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ZooKeeperFileError(.unreadable, file: path, offset: 0, "cannot open: \(reason)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ZooKeeperFileError(.unreadable, file: path, offset: 0, "not a regular file")
        }
        self.fd = fd
        self.fileSize = Int64(info.st_size)
        self.buffer = ByteBufferAllocator().buffer(capacity: Self.chunk)
    }

    deinit { close(fd) }

    /// Makes at least `count` bytes readable unless the file ends first; returns the bytes readable.
    @discardableResult
    func ensure(_ count: Int) throws(ZooKeeperFileError) -> Int {
        while buffer.readableBytes < count && !endOfFile {
            if buffer.readerIndex > 0 && buffer.writableBytes < max(count - buffer.readableBytes, Self.chunk) {
                buffer.discardReadBytes()
            }
            let want = max(count - buffer.readableBytes, Self.chunk)
            let result = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw -> Int in
                let n = read(fd, raw.baseAddress, raw.count)
                return n < 0 ? -Int(errno) : n
            }
            if result < 0 {
                let reason = String(cString: strerror(Int32(-result)))
                throw ZooKeeperFileError(.unreadable, file: path, offset: offset, "read failed: \(reason)")
            }
            if result == 0 { endOfFile = true }
        }
        return buffer.readableBytes
    }

    func skip(_ count: Int) {
        buffer.moveReaderIndex(forwardBy: count)
        offset += Int64(count)
    }

    /// True when every byte from here to the end of the file is zero (reads the rest in chunks).
    func restIsZero() throws(ZooKeeperFileError) -> Bool {
        while true {
            try ensure(1)
            if buffer.readableBytes == 0 { return true }
            let zero = buffer.withUnsafeReadableBytes { raw in raw.allSatisfy { $0 == 0 } }
            if !zero { return false }
            skip(buffer.readableBytes)
        }
    }
}
