/// A ZooKeeper data file could not be read: names the file, the byte offset and what to do.
public struct ZooKeeperFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The file could not be opened or read (missing, permission, I/O).
        case unreadable
        /// The first bytes are not a transaction log or snapshot header.
        case badMagic
        /// A header version this reader does not know.
        case unsupportedVersion
        /// The bytes end before the structure does.
        case truncated
        /// A checksum does not match its bytes.
        case checksumMismatch
        /// A record inside a checksummed entry or snapshot is malformed.
        case malformed
    }

    public var code: Code
    public var file: String
    /// Offset from the start of the file (of the decompressed stream for a parse error in a .gz or
    /// .snappy snapshot; of the compressed file when the decompression itself fails, as the message says).
    public var offset: Int64
    public var message: String

    public init(_ code: Code, file: String, offset: Int64, _ message: String) {
        self.code = code
        self.file = file
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(file): at byte \(offset): \(message)" }
}
