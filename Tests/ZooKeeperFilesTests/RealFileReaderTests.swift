import Foundation
import NIOCore
import StormEngine
import Testing
import ZooKeeperFiles
import ZooKeeperProtocol

/// The readers on files real ZooKeeper 3.8.0 wrote for a known kazoo workload (scripts/capture-txnlogs).
@Suite struct RealFileReaderTests {
    func allEntries() throws -> [TxnLogEntry] {
        var out: [TxnLogEntry] = []
        for name in FixtureFiles.names(prefix: "log.") {
            let reader = try TxnLogReader(path: FixtureFiles.path(name))
            #expect(reader.dbid == 0)
            while let entry = try reader.next() { out.append(entry) }
            guard case .zeroPadding = reader.end else {
                Issue.record("\(name) ended with \(String(describing: reader.end)), expected zero padding")
                continue
            }
        }
        return out
    }

    @Test func logsDecodeInZxidOrderWithDigests() throws {
        let entries = try allEntries()
        #expect(entries.count > 40)
        #expect(entries.map(\.header.zxid) == Array(1...Int64(entries.count)))
        // 3.8 appends the tree digest to every txn but the error txns of failed requests.
        #expect(entries.allSatisfy { ($0.digest != nil) == ($0.header.type != .error) })
        #expect(entries.contains { $0.header.type == .error })
        #expect(entries.first?.header.type == .createSession)
    }

    @Test func recordsMatchTheWorkload() throws {
        let entries = try allEntries()
        let creates = entries.compactMap { if case .create(let c) = $0.record { c } else { nil } }
        let config = creates.first { $0.path == "/app/config" }
        #expect(config.map { String(buffer: $0.data!) } == "v1")
        #expect(creates.contains { $0.path == "/app/queue/task-0000000002" && !$0.ephemeral })
        #expect(creates.contains { $0.path == "/app/live/member-0000000000" && $0.ephemeral })
        let sets = entries.compactMap { if case .setData(let p, _, let v) = $0.record { (p, v) } else { nil } }
        // setData logs the node's new version: five sets of /app/config give versions 1...5.
        #expect(sets.filter { $0.0 == "/app/config" }.map(\.1) == [1, 2, 3, 4, 5])
        let multis = entries.compactMap { if case .multi(let ops) = $0.record { ops } else { nil } }
        #expect(multis.count == 2)
        #expect(multis[0].count == 3 && !TxnRecord.multi(multis[0]).isFailedMulti)
        // The failed multi: the op before the failure keeps its type; the failing delete is error -101.
        #expect(TxnRecord.multi(multis[1]).isFailedMulti)
        #expect(multis[1].last == .error(.noNode))
        let closes = entries.compactMap { if case .closeSession(let p) = $0.record { p } else { nil } }
        #expect(closes.contains { Set($0) == ["/app/live/member-0000000000", "/app/live/leader"] })
        let acl = entries.compactMap { if case .setACL(let p, let acl, _) = $0.record { (p, acl) } else { nil } }
        #expect(acl.first?.0 == "/app/config" && acl.first?.1.count == 2)
    }

    @Test func inspectCountsEqualWhatTheWorkloadWrote() throws {
        let expected = try FixtureFiles.workload().expected
        let r = try TxnLogInspector.inspect([FixtureFiles.directory])
        for op in ["createSession", "closeSession", "create", "delete", "setData", "setACL", "multi", "error"] {
            #expect(r.opMix[op] == expected[op], "\(op)")
        }
        #expect(r.multis == expected["multi"])
        #expect(r.failedMultis == expected["multiFailed"])
        #expect(r.ephemeralCreates == expected["ephemeral"])
        #expect(r.sequentialCreates == expected["sequential"])
        #expect(r.files.count == FixtureFiles.names(prefix: "log.").count)
        #expect(r.files.allSatisfy { $0.end == "zero-padding" })
        #expect(r.hottestPaths.first?.path == "/app/config")
    }

    @Test func snapshotsAreSealedPreOrderTrees() throws {
        for name in FixtureFiles.names(prefix: "snapshot.") {
            let snapshot = try SnapshotReader.read(path: FixtureFiles.path(name))
            #expect(snapshot.dbid == -1)
            #expect(snapshot.nodes.first?.path == "")
            #expect(snapshot.digest != nil)
            var seen: Set<String> = [""]
            for node in snapshot.nodes.dropFirst() {
                let parent = String(node.path[..<node.path.lastIndex(of: "/")!])
                #expect(seen.contains(parent), "\(name): \(node.path) before its parent")
                seen.insert(node.path)
            }
        }
    }

    /// The state is the newest snapshot plus the logs from its zxid on: it equals the tree the server
    /// showed before it stopped.
    @Test func snapshotPlusLogsIsTheServersTree() throws {
        let workload = try FixtureFiles.workload()
        let newest = FixtureFiles.names(prefix: "snapshot.").last!
        let snapshotZxid = Int64(newest.split(separator: ".")[1], radix: 16)!
        var replica = TreeReplica(snapshot: try SnapshotReader.read(path: FixtureFiles.path(newest)))
        for entry in try allEntries() where entry.header.zxid > snapshotZxid { replica.apply(entry) }
        let app = replica.nodes.filter { $0.key == "/app" || $0.key.hasPrefix("/app/") }
            .mapValues { String($0.data.map { Character(Unicode.Scalar($0)) }) }
        #expect(app == workload.tree)

        var fromLogs = TreeReplica()
        for entry in try allEntries() { fromLogs.apply(entry) }
        #expect(
            fromLogs.nodes.filter { $0.key.hasPrefix("/app") }.mapValues {
                String($0.data.map { Character(Unicode.Scalar($0)) })
            } == workload.tree
        )
    }

    @Test func gzipSnapshotReadsLikeThePlainOne() throws {
        let newest = FixtureFiles.names(prefix: "snapshot.").last!
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gz = dir + "/" + newest + ".gz"
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(FixtureFiles.path(newest))' > '\(gz)'"]
        try gzip.run()
        gzip.waitUntilExit()
        let plain = try SnapshotReader.read(path: FixtureFiles.path(newest))
        let compressed = try SnapshotReader.read(path: gz)
        #expect(compressed.nodes == plain.nodes)
        #expect(compressed.sessions == plain.sessions)
    }
}
