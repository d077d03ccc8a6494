import NIOCore
import ZooKeeperProtocol

/// How a transaction log ended.
public enum TxnLogEnd: Sendable, Hashable {
    /// The last entry ended exactly at the end of the file.
    case endOfFile(offset: Int64)
    /// A zero length (ZooKeeper's preallocated padding) ended the log at `offset`.
    case zeroPadding(offset: Int64)
    /// The entry at `offset` is incomplete or corrupt; it and everything after it (`skippedBytes`) were
    /// skipped, as ZooKeeper itself does when it loads the log.
    case torn(offset: Int64, reason: String, skippedBytes: Int64)

    public var offset: Int64 {
        switch self {
        case .endOfFile(let o), .zeroPadding(let o), .torn(let o, _, _): o
        }
    }
}

/// Streams a ZooKeeper transaction log (`log.<hex zxid>`, FileTxnLog's format): a header
/// {int magic "ZKLG", int version 2, long dbid}, then entries {long Adler32(payload), int length,
/// payload, byte 'B'} until a zero length, the end of the file or a torn entry.
/// Every entry's checksum is verified before it is decoded.
public final class TxnLogReader {
    public static let magic: Int32 = 0x5A4B_4C47
    public static let headerSize = 16

    public let path: String
    public let version: Int32
    public let dbid: Int64
    /// Set once `next()` has returned nil.
    public private(set) var end: TxnLogEnd?
    private let file: FileChunks

    public var fileSize: Int64 { file.fileSize }
    /// Bytes consumed so far (header and entries).
    public var bytesRead: Int64 { file.offset }

    public init(path: String) throws(ZooKeeperFileError) {
        self.path = path
        file = try FileChunks(path: path)
        let available = try file.ensure(Self.headerSize)
        var header = file.buffer
        guard available >= 4, let magic = header.readInteger(endianness: .big, as: Int32.self) else {
            throw ZooKeeperFileError(
                .truncated,
                file: path,
                offset: Int64(available),
                "file is \(available) bytes, too short for a transaction log header (16 bytes)"
            )
        }
        guard magic == Self.magic else {
            throw ZooKeeperFileError(
                .badMagic,
                file: path,
                offset: 0,
                "not a ZooKeeper transaction log: magic \(hex(magic)), expected 0x5a4b4c47 (\"ZKLG\")"
            )
        }
        guard available >= Self.headerSize,
            let version = header.readInteger(endianness: .big, as: Int32.self),
            let dbid = header.readInteger(endianness: .big, as: Int64.self)
        else {
            throw ZooKeeperFileError(
                .truncated,
                file: path,
                offset: Int64(available),
                "file ends inside the transaction log header (16 bytes)"
            )
        }
        guard version == 2 else {
            throw ZooKeeperFileError(
                .unsupportedVersion,
                file: path,
                offset: 4,
                "transaction log version \(version); this reader knows version 2 (ZooKeeper 3.x)"
            )
        }
        self.version = version
        self.dbid = dbid
        file.skip(Self.headerSize)
    }

    /// The next verified entry, or nil at the end (see `end`). Throws only for an entry whose checksum
    /// is right but whose record cannot be decoded, or for an I/O error.
    public func next() throws(ZooKeeperFileError) -> TxnLogEntry? {
        if end != nil { return nil }
        let start = file.offset
        let available = try file.ensure(12)
        if available == 0 {
            end = .endOfFile(offset: start)
            return nil
        }
        if available < 12 {
            return try finishPartial(start, "the file ends inside an entry header (\(available) of 12 bytes)")
        }
        var view = file.buffer
        let checksum = view.readInteger(endianness: .big, as: Int64.self)!
        let length = view.readInteger(endianness: .big, as: Int32.self)!
        if length == 0 {
            if checksum == 0 {
                end = .zeroPadding(offset: start)
                return nil
            }
            return torn(start, "length 0 after a non-zero checksum")
        }
        let remaining = fileSize - start - 13
        if length < 0 || Int64(length) > remaining {
            return try finishPartial(
                start,
                "entry length \(length) runs past the end of the file (\(max(remaining, 0)) bytes left)"
            )
        }
        let total = 12 + Int(length) + 1
        guard try file.ensure(total) >= total else {
            return torn(start, "the file ends inside the entry")
        }
        view = file.buffer
        view.moveReaderIndex(forwardBy: 12)
        let payload = view.readSlice(length: Int(length))!
        let computed = payload.withUnsafeReadableBytes { Adler32.checksum($0) }
        guard checksum == Int64(computed) else {
            return torn(start, "checksum mismatch: logged \(hex(checksum)), computed \(hex(Int64(computed)))")
        }
        let marker = view.readInteger(as: UInt8.self)!
        guard marker == 0x42 else {
            return torn(start, "entry does not end with 'B' (found \(hex(marker)))")
        }
        let entry: TxnLogEntry
        do {
            entry = try TxnLogEntry.decode(payload: payload, offset: start, size: total)
        } catch {
            throw ZooKeeperFileError(
                .malformed,
                file: path,
                offset: start + 12,
                "entry with a valid checksum holds a malformed transaction: \(error)"
            )
        }
        file.skip(total)
        return entry
    }

    /// A short tail is ZooKeeper's padding when it is all zeros, a torn entry otherwise.
    private func finishPartial(_ start: Int64, _ reason: String) throws(ZooKeeperFileError) -> TxnLogEntry? {
        if try file.restIsZero() {
            end = .zeroPadding(offset: start)
            return nil
        }
        return torn(start, reason)
    }

    private func torn(_ start: Int64, _ reason: String) -> TxnLogEntry? {
        end = .torn(offset: start, reason: reason, skippedBytes: fileSize - start)
        return nil
    }
}

func hex<T: FixedWidthInteger>(_ value: T) -> String {
    "0x" + String(UInt64(truncatingIfNeeded: value) & (T.bitWidth == 64 ? ~0 : (1 << T.bitWidth) - 1), radix: 16)
}
