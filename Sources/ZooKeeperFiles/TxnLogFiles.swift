/// Reads the entries of several transaction logs in the order given, one file open at a time, so memory
/// stays within one read chunk (and the largest entry) however long the logs are.
///
/// An entry whose zxid is not above the last one read (a log passed twice, or overlapping logs from
/// different servers) is passed over and counted in `outOfOrder`, so the entries come out in strictly
/// rising zxid order. Torn tails end their file and are described in `notes`.
public final class TxnLogFiles {
    public let paths: [String]
    /// One line per file whose tail was torn: the file, the offset, the reason and the bytes skipped.
    public private(set) var notes: [String] = []
    /// Entries passed over because their zxid was not above the previous one.
    public private(set) var outOfOrder = 0
    /// Highest zxid read so far.
    public private(set) var lastZxid: Int64?
    /// Log bytes consumed so far, over every file.
    public private(set) var bytesRead: Int64 = 0
    private var index = 0
    private var reader: TxnLogReader?

    public init(paths: [String]) {
        self.paths = paths
    }

    /// The next entry in zxid order, or nil after the last file. Throws for a file that is not a
    /// readable log or holds an entry that cannot be decoded (the error names the file and offset).
    public func next() throws(ZooKeeperFileError) -> TxnLogEntry? {
        while true {
            if reader == nil {
                guard index < paths.count else { return nil }
                reader = try TxnLogReader(path: paths[index])
                index += 1
            }
            let current = reader!
            guard let entry = try current.next() else {
                bytesRead += current.bytesRead
                if case .torn(let offset, let reason, let skipped) = current.end {
                    notes.append("\(current.path): torn tail at byte \(offset) (\(reason)); \(skipped) bytes skipped")
                }
                reader = nil
                continue
            }
            if let last = lastZxid, entry.header.zxid <= last {
                outOfOrder += 1
                continue
            }
            lastZxid = entry.header.zxid
            return entry
        }
    }
}
