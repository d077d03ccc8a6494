import Foundation
import ZooKeeperProtocol

/// Every znode path a run uses, computed once so the hot path only retains shared strings.
///
/// ```
/// <root>/keys/k<i>          the key space
/// <root>/watched/w<i>       storm targets (children c<round> for child watches)
/// <root>/herd/h<i>          the tree the herd's caches follow
/// <root>/<under>/...        directories named by ops' `under`
/// ```
package final class RunLayout: Sendable {
    package let root: String
    package let keysDirectory: String
    package let keys: [String]
    package let watchedDirectory: String
    package let watched: [String]
    package let herdDirectory: String
    package let herd: [String]
    /// `under` → absolute directory, for every directory an op names.
    package let directories: [String: String]
    /// The value written by set/create/multi: `valueSize` bytes.
    package let value: [UInt8]
    /// The ACL of every znode the run creates (the root included): open, or the run's own identities.
    package let acl: [ACL]

    package init(root: String, workload: Workload, acl: [ACL] = ACL.openUnsafe) {
        self.root = root
        self.acl = acl
        keysDirectory = root + "/keys"
        // A pure watch storm reads and writes no keys: creating them would only load the target.
        keys = workload.groups.isEmpty ? [] : (0..<workload.keyspace.count).map { "\(root)/keys/k\($0)" }
        watchedDirectory = root + "/watched"
        watched = (0..<(workload.watches?.znodes ?? 0)).map { "\(root)/watched/w\($0)" }
        herdDirectory = root + "/herd"
        herd = (0..<(workload.herd?.znodes ?? 0)).map { "\(root)/herd/h\($0)" }
        var directories: [String: String] = [:]
        for group in workload.groups {
            for op in group.operations {
                if let under = op.under { directories[under] = root + "/" + under }
            }
        }
        self.directories = directories
        // A recognisable, compressible-but-not-constant value: the byte pattern of "zkstorm".
        let pattern = Array("zkstorm-".utf8)
        value = (0..<workload.keyspace.valueSize).map { pattern[$0 % pattern.count] }
    }

    package func directory(for op: OperationSpec) -> String {
        op.under.flatMap { directories[$0] } ?? keysDirectory
    }

    /// True for the root itself and anything below it: the only paths a run may write or delete.
    package func contains(_ path: String) -> Bool {
        path == root || path.hasPrefix(root + "/")
    }

    /// Every directory to create before the run, parents first.
    package var setupDirectories: [String] {
        var result: [String] = keys.isEmpty ? [] : [keysDirectory]
        if !watched.isEmpty { result.append(watchedDirectory) }
        if !herd.isEmpty { result.append(herdDirectory) }
        for (under, _) in directories.sorted(by: { $0.key < $1.key }) {
            var path = root
            for component in under.split(separator: "/") {
                path += "/" + component
                if !result.contains(path) { result.append(path) }
            }
        }
        return result
    }
}

/// Identifies one run: in the root path, the result file, and Prometheus' `run` label.
public enum RunIdentifier {
    public static func make(date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        var generator = SystemRandomNumberGenerator()
        let suffix = String(generator.next() & 0xFFFF, radix: 16)
        return "\(formatter.string(from: date))-\(String(repeating: "0", count: 4 - suffix.count))\(suffix)"
    }
}
