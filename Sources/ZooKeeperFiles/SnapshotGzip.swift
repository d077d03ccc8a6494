import GzipCodec
import NIOCore

extension SnapshotReader {
    /// Inflates a `.gz` snapshot (the project's one gzip, GzipCodec); errors name the file and the
    /// compressed offset where the stream broke.
    static func inflate(_ raw: ByteBuffer, path: String) throws(ZooKeeperFileError) -> ByteBuffer {
        let result = raw.withUnsafeReadableBytes { bytes -> Result<[UInt8], GzipError> in
            Result { () throws(GzipError) in
                try Gzip.decompress(bytes.bindMemory(to: UInt8.self), limit: maximumUncompressedSize)
            }
        }
        switch result {
        case .success(let inflated):
            return ByteBuffer(bytes: inflated)
        case .failure(let error):
            let reason: ZooKeeperFileError.Code = error.truncated ? .truncated : .malformed
            throw ZooKeeperFileError(
                reason,
                file: path,
                offset: Int64(error.inputOffset),
                "gzip: \(error.message) (compressed offset)"
            )
        }
    }
}
