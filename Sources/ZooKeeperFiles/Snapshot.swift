import NIOCore
import ZooKeeperProtocol

/// `StatPersisted`: a node's stat as a snapshot stores it (no dataLength or numChildren).
public struct StatPersisted: Sendable, Hashable {
    public var czxid: Int64
    public var mzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var cversion: Int32
    public var aversion: Int32
    /// The owning session of an ephemeral; 0 for persistent nodes; a special value for containers and TTL nodes.
    public var ephemeralOwner: Int64
    public var pzxid: Int64

    init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        czxid = try buffer.readJuteLong("StatPersisted.czxid")
        mzxid = try buffer.readJuteLong("StatPersisted.mzxid")
        ctime = try buffer.readJuteLong("StatPersisted.ctime")
        mtime = try buffer.readJuteLong("StatPersisted.mtime")
        version = try buffer.readJuteInt("StatPersisted.version")
        cversion = try buffer.readJuteInt("StatPersisted.cversion")
        aversion = try buffer.readJuteInt("StatPersisted.aversion")
        ephemeralOwner = try buffer.readJuteLong("StatPersisted.ephemeralOwner")
        pzxid = try buffer.readJuteLong("StatPersisted.pzxid")
    }

    /// EphemeralType: containers have owner 0x8000000000000000; TTL nodes 0xFF in the top byte.
    public var isContainer: Bool { ephemeralOwner == Int64.min }
    public var isTTL: Bool { (UInt64(bitPattern: ephemeralOwner) >> 56) == 0xFF }
    public var isEphemeral: Bool { ephemeralOwner != 0 && !isContainer && !isTTL }
}

/// One node of a snapshot; `path` is "" for the root.
public struct SnapshotNode: Sendable, Hashable {
    public var path: String
    public var data: ByteBuffer?
    /// Index into the snapshot's ACL cache (-1: open ACL).
    public var aclIndex: Int64
    public var stat: StatPersisted

    public var dataLength: Int { data?.readableBytes ?? 0 }
}

public struct SnapshotSession: Sendable, Hashable {
    public var id: Int64
    public var timeout: Int32
}

/// A whole snapshot (`FileSnap`): header, sessions, ACL cache, nodes in pre-order, verified seal.
public struct Snapshot: Sendable {
    public var path: String
    public var dbid: Int64
    public var sessions: [SnapshotSession]
    public var acls: [Int64: [ACL]]
    /// Pre-order: a parent before its children; the root ("") first.
    public var nodes: [SnapshotNode]
    /// The zxid and tree digest appended by 3.6+ servers (after the first seal), if present.
    public var digest: (zxid: Int64, version: Int32, digest: Int64)?
    /// The uncompressed size read.
    public var size: Int
}

/// Reads `snapshot.<hex zxid>` files: plain, gzip (`.gz`) or snappy-java (`.snappy`), told apart by their
/// first bytes as ZooKeeper's `SnapStream` writes them.
public enum SnapshotReader {
    public static let magic: Int32 = 0x5A4B_534E
    /// A bound against decompression bombs and garbage lengths: larger snapshots are refused with a clear error.
    public static let maximumUncompressedSize = 8 << 30

    public static func read(path: String) throws(ZooKeeperFileError) -> Snapshot {
        try decode(readWholeFile(path), path: path)
    }

    /// Decompresses `raw` (a whole file's bytes) when it is gzip or snappy-java, then parses it. `path`
    /// names the source in errors.
    public static func decode(_ raw: ByteBuffer, path: String) throws(ZooKeeperFileError) -> Snapshot {
        var bytes = raw
        if raw.readableBytes >= 2 && raw.getInteger(at: raw.readerIndex, as: UInt16.self) == 0x1f8b {
            bytes = try inflate(raw, path: path)
        } else if isSnappyStream(raw) {
            bytes = try unsnappy(raw, path: path)
        } else if path.hasSuffix(".gz") || path.hasSuffix(".snappy") {
            let what = path.hasSuffix(".gz") ? "gzip" : "snappy-java"
            throw ZooKeeperFileError(
                .badMagic,
                file: path,
                offset: 0,
                "named as a compressed snapshot but has no \(what) header; the file is damaged or misnamed"
            )
        }
        return try parse(bytes, path: path)
    }

    /// Parses snapshot bytes (already decompressed). `path` names the source in errors.
    public static func parse(_ bytes: ByteBuffer, path: String) throws(ZooKeeperFileError) -> Snapshot {
        var buffer = bytes
        let base = buffer.readerIndex
        var at = 0
        func fail(_ code: ZooKeeperFileError.Code, _ message: String) -> ZooKeeperFileError {
            ZooKeeperFileError(code, file: path, offset: Int64(at), message)
        }
        do {
            guard buffer.readableBytes >= 16 else {
                at = buffer.readableBytes
                throw fail(
                    .truncated,
                    "file is \(buffer.readableBytes) bytes, too short for a snapshot header (16 bytes)"
                )
            }
            let magic = try buffer.readJuteInt("FileHeader.magic")
            guard magic == Self.magic else {
                throw fail(.badMagic, "not a ZooKeeper snapshot: magic \(hex(magic)), expected 0x5a4b534e (\"ZKSN\")")
            }
            let version = try buffer.readJuteInt("FileHeader.version")
            guard version == 2 else {
                at = 4
                throw fail(.unsupportedVersion, "snapshot version \(version); this reader knows version 2")
            }
            let dbid = try buffer.readJuteLong("FileHeader.dbid")

            at = buffer.readerIndex - base
            let sessionCount = try buffer.readJuteInt("sessions.count")
            guard sessionCount >= 0, Int(sessionCount) <= buffer.readableBytes / 12 else {
                throw fail(.malformed, "impossible session count \(sessionCount)")
            }
            var sessions: [SnapshotSession] = []
            sessions.reserveCapacity(Int(sessionCount))
            for _ in 0..<sessionCount {
                at = buffer.readerIndex - base
                sessions.append(
                    SnapshotSession(
                        id: try buffer.readJuteLong("session.id"),
                        timeout: try buffer.readJuteInt("session.timeout")
                    )
                )
            }

            at = buffer.readerIndex - base
            let aclCount = try buffer.readJuteInt("acls.map")
            guard aclCount >= 0, Int(aclCount) <= buffer.readableBytes / 12 else {
                throw fail(.malformed, "impossible ACL cache size \(aclCount)")
            }
            var acls: [Int64: [ACL]] = [:]
            for _ in 0..<aclCount {
                at = buffer.readerIndex - base
                let index = try buffer.readJuteLong("acls.index")
                acls[index] = try buffer.readJuteRecordVector(ACL.self, "acls.list", minimumRecordSize: 12) ?? []
            }

            var nodes: [SnapshotNode] = []
            while true {
                at = buffer.readerIndex - base
                let nodePath = try buffer.readJuteNonNullString("node.path")
                if nodePath == "/" { break }
                let data = try buffer.readJuteBufferSlice("node.data")
                let acl = try buffer.readJuteLong("node.acl")
                let stat = try StatPersisted(from: &buffer)
                if !nodes.isEmpty {
                    guard nodePath.hasPrefix("/") else {
                        throw fail(.malformed, "node path \"\(nodePath.prefix(80))\" is not absolute")
                    }
                }
                nodes.append(SnapshotNode(path: nodePath, data: data, aclIndex: acl, stat: stat))
            }

            at = buffer.readerIndex - base
            try verifySeal(&buffer, whole: bytes, at: &at, path: path)
            var digest: (Int64, Int32, Int64)?
            if buffer.readableBytes >= 20 {
                at = buffer.readerIndex - base
                let zxid = try buffer.readJuteLong("ZxidDigest.zxid")
                let digestVersion = try buffer.readJuteInt("ZxidDigest.digestVersion")
                let value = try buffer.readJuteLong("ZxidDigest.digest")
                digest = (zxid, digestVersion, value)
                at = buffer.readerIndex - base
                try verifySeal(&buffer, whole: bytes, at: &at, path: path)
            }
            return Snapshot(
                path: path,
                dbid: dbid,
                sessions: sessions,
                acls: acls,
                nodes: nodes,
                digest: digest,
                size: bytes.readableBytes
            )
        } catch let error as ZooKeeperFileError {
            throw error
        } catch let error as JuteDecodingError {
            let code: ZooKeeperFileError.Code = error.reason == .truncated ? .truncated : .malformed
            let what = error.reason == .truncated ? "the snapshot ends inside a record" : "malformed record"
            throw ZooKeeperFileError(
                code,
                file: path,
                offset: Int64(at),
                "\(what) (\(error)); the file is cut or damaged: use an older snapshot with the logs after it"
            )
        } catch {
            throw ZooKeeperFileError(.malformed, file: path, offset: Int64(at), "\(error)")
        }
    }

    /// `SnapStream.sealStream`: long Adler32 of every byte before it, then the string "/".
    private static func verifySeal(
        _ buffer: inout ByteBuffer,
        whole: ByteBuffer,
        at: inout Int,
        path: String
    ) throws {
        let base = whole.readerIndex
        let covered = buffer.readerIndex - base
        let computed = whole.getSlice(at: base, length: covered)!.withUnsafeReadableBytes { Adler32.checksum($0) }
        let stored = try buffer.readJuteLong("seal.checksum")
        guard stored == Int64(computed) else {
            throw ZooKeeperFileError(
                .checksumMismatch,
                file: path,
                offset: Int64(covered),
                "snapshot checksum mismatch: stored \(hex(stored)), computed \(hex(Int64(computed))) "
                    + "over \(covered) bytes; the file is damaged: use an older snapshot with the logs after it"
            )
        }
        at = buffer.readerIndex - base
        let slash = try buffer.readJuteNonNullString("seal.path")
        guard slash == "/" else {
            throw ZooKeeperFileError(.malformed, file: path, offset: Int64(at), "seal is not followed by \"/\"")
        }
    }

    static func readWholeFile(_ path: String) throws(ZooKeeperFileError) -> ByteBuffer {
        let file = try FileChunks(path: path)
        guard file.fileSize <= Int64(maximumUncompressedSize) else {
            throw ZooKeeperFileError(
                .unreadable,
                file: path,
                offset: 0,
                "file is \(file.fileSize) bytes, larger than this reader's limit"
            )
        }
        try file.ensure(Int(file.fileSize) + 1)
        return file.buffer
    }
}
