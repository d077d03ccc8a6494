import Foundation

/// A ZooKeeper data file named by its zxid: `log.<hex>` or `snapshot.<hex>[.gz|.snappy]`.
public struct ZooKeeperDataFile: Sendable, Hashable, Comparable {
    public enum Kind: Sendable, Hashable { case log, snapshot }
    public var path: String
    public var kind: Kind
    /// The zxid in the name: a log's first zxid, or the zxid a snapshot was started at.
    public var zxid: Int64

    /// Recognises a file by its name; nil for anything else (e.g. `acceptedEpoch`, `.tmp` files).
    public init?(path: String) {
        let name = (path as NSString).lastPathComponent
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let zxid = UInt64(parts[1], radix: 16) else { return nil }
        switch (parts[0], parts.count) {
        case ("log", 2): kind = .log
        case ("snapshot", 2): kind = .snapshot
        case ("snapshot", 3) where parts[2] == "gz" || parts[2] == "snappy": kind = .snapshot
        default: return nil
        }
        self.path = path
        self.zxid = Int64(bitPattern: zxid)
    }

    public static func < (a: Self, b: Self) -> Bool { (a.zxid, a.path) < (b.zxid, b.path) }
}

public enum DataDirectory {
    /// Expands each argument: a file is taken as it is (its kind from its name, a log when the name says
    /// nothing); a directory (a `version-2` directory, or a dataDir holding one) gives its logs and
    /// snapshots. Results are sorted by zxid within each directory.
    public static func files(
        _ arguments: [String],
        kind: ZooKeeperDataFile.Kind
    ) throws(ZooKeeperFileError) -> [String] {
        var out: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw ZooKeeperFileError(.unreadable, file: argument, offset: 0, "no such file or directory")
            }
            guard isDirectory.boolValue else {
                out.append(argument)
                continue
            }
            var directory = argument
            let nested = (argument as NSString).appendingPathComponent("version-2")
            if FileManager.default.fileExists(atPath: nested) { directory = nested }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw ZooKeeperFileError(.unreadable, file: directory, offset: 0, "cannot list: \(error)")
            }
            let found = names.compactMap { ZooKeeperDataFile(path: (directory as NSString).appendingPathComponent($0)) }
                .filter { $0.kind == kind }.sorted()
            if found.isEmpty {
                let what = kind == .log ? "transaction logs (log.*)" : "snapshots (snapshot.*)"
                throw ZooKeeperFileError(
                    .unreadable,
                    file: directory,
                    offset: 0,
                    "holds no \(what); pass ZooKeeper's dataDir/version-2"
                )
            }
            out += found.map(\.path)
        }
        return out
    }
}
