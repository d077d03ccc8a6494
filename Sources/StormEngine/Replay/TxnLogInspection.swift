import Foundation
import NIOCore
import ZooKeeperFiles
import ZooKeeperProtocol

/// What `zkstorm txnlog inspect` reports about a set of transaction logs: integrity per file, the op
/// mix, sessions, the write rate over time, value-size and path-depth histograms, the hottest paths
/// and the multi failure rate. Built by `TxnLogInspector`, one entry at a time.
public struct TxnLogInspection: Sendable, Codable, Equatable {
    public struct FileSummary: Sendable, Codable, Equatable {
        public var path: String
        public var dbid: Int64?
        public var bytes: Int64
        public var entries: Int
        public var firstZxid: Int64?
        public var lastZxid: Int64?
        /// "end-of-file", "zero-padding", "torn" or "error".
        public var end: String
        public var endOffset: Int64
        /// Why the tail was torn, or the error that stopped reading the file.
        public var problem: String?
        public var skippedBytes: Int64
    }

    public struct Bucket: Sendable, Codable, Equatable {
        /// Inclusive lower bound of the bucket (bytes, or depth).
        public var from: Int
        public var count: Int
    }

    public struct PathCount: Sendable, Codable, Equatable {
        public var path: String
        public var writes: Int
    }

    public var files: [FileSummary] = []
    public var entries = 0
    public var bytesRead: Int64 = 0
    public var firstZxid: Int64?
    public var lastZxid: Int64?
    /// Leader wall-clock ms of the first and last entry.
    public var firstTime: Int64?
    public var lastTime: Int64?
    /// Top-level transactions by type name (createSession, create, setData, multi, error, ...).
    public var opMix: [String: Int] = [:]
    /// Writes inside multis by type name (failed multis' error records under "error").
    public var multiOps: [String: Int] = [:]
    public var multis = 0
    public var failedMultis = 0
    public var multiSizes: [Bucket] = []
    public var sessionsCreated = 0
    public var sessionsClosed = 0
    /// Distinct client ids that wrote anything.
    public var distinctSessions = 0
    public var ephemeralCreates = 0
    /// Creates whose final name ends in ZooKeeper's 10-digit sequence suffix.
    public var sequentialCreates = 0
    public var containerCreates = 0
    public var ttlCreates = 0
    /// Writes (creates, deletes, setData, setACL, committed multi ops) per second of leader time.
    public var writesPerSecond: [Int] = []
    /// Value sizes of creates and setData (power-of-two buckets).
    public var valueSizes: [Bucket] = []
    /// Depth of written paths (/a = 1, /a/b = 2).
    public var pathDepths: [Bucket] = []
    /// Distinct paths written.
    public var distinctPaths = 0
    public var hottestPaths: [PathCount] = []
    /// Share of writes that went to the most-written 20% of paths (0.2 when writes are uniform).
    public var hotShare: Double = 0

    public var multiFailureRate: Double { multis == 0 ? 0 : Double(failedMultis) / Double(multis) }
    public var durationSeconds: Double {
        guard let a = firstTime, let b = lastTime else { return 0 }
        return Double(b - a) / 1000
    }
    public var tornFiles: [FileSummary] { files.filter { $0.end == "torn" || $0.end == "error" } }
}

/// Accumulates a `TxnLogInspection` from entries (pure: feed it entries in any order of files).
public struct TxnLogInspector: Sendable {
    public var inspection = TxnLogInspection()
    private var writesBySecond: [Int64: Int] = [:]
    // The hot path counts into arrays and a one-second run, not dictionaries (inspect reads >200 MB/s).
    private var currentSecond: Int64 = .min
    private var currentSecondWrites = 0
    /// Index 0: empty values; index i: values of 2^(i-1) ..< 2^i bytes.
    private var valueSizes = [Int](repeating: 0, count: 65)
    private var depths = [Int](repeating: 0, count: 16)
    private var multiSizes: [Int: Int] = [:]
    private var pathWrites: [String: Int] = [:]
    private var clients: Set<Int64> = []
    private let hottest: Int

    public init(hottest: Int = 10) {
        self.hottest = hottest
    }

    public static func typeName(_ type: OpCode) -> String { type.name ?? "type(\(type.rawValue))" }

    public mutating func add(_ entry: TxnLogEntry) {
        let header = entry.header
        inspection.entries += 1
        if inspection.firstZxid == nil || header.zxid < inspection.firstZxid! { inspection.firstZxid = header.zxid }
        if inspection.lastZxid == nil || header.zxid > inspection.lastZxid! { inspection.lastZxid = header.zxid }
        if inspection.firstTime == nil || header.time < inspection.firstTime! { inspection.firstTime = header.time }
        if inspection.lastTime == nil || header.time > inspection.lastTime! { inspection.lastTime = header.time }
        inspection.opMix[Self.typeName(header.type), default: 0] += 1
        clients.insert(header.clientId)
        let second = header.time / 1000
        switch entry.record {
        case .createSession: inspection.sessionsCreated += 1
        case .closeSession: inspection.sessionsClosed += 1
        case .multi(let ops):
            inspection.multis += 1
            multiSizes[ops.count, default: 0] += 1
            let failed = entry.record.isFailedMulti
            if failed { inspection.failedMultis += 1 }
            for op in ops {
                inspection.multiOps[Self.name(of: op), default: 0] += 1
                if !failed { write(op, second: second) }
            }
        default:
            write(entry.record, second: second)
        }
    }

    static func name(of record: TxnRecord) -> String {
        switch record {
        case .createSession: "createSession"
        case .closeSession: "closeSession"
        case .create(let c):
            switch c.kind {
            case .persistentOrEphemeral: "create"
            case .container: "createContainer"
            case .ttl: "createTTL"
            }
        case .delete: "delete"
        case .setData: "setData"
        case .setACL: "setACL"
        case .check: "check"
        case .error: "error"
        case .multi: "multi"
        case .reconfig: "reconfig"
        case .unknown(let t): typeName(t)
        }
    }

    private mutating func write(_ record: TxnRecord, second: Int64) {
        let path: String
        switch record {
        case .create(let c):
            path = c.path
            valueSizes[Self.sizeIndex(c.dataLength)] += 1
            if c.ephemeral { inspection.ephemeralCreates += 1 }
            if Self.hasSequenceSuffix(c.path) { inspection.sequentialCreates += 1 }
            switch c.kind {
            case .container: inspection.containerCreates += 1
            case .ttl: inspection.ttlCreates += 1
            case .persistentOrEphemeral: break
            }
        case .setData(let p, let data, _):
            path = p
            valueSizes[Self.sizeIndex(data?.readableBytes ?? 0)] += 1
        case .delete(let p), .setACL(let p, _, _):
            path = p
        default:
            return
        }
        if second != currentSecond {
            flushSecond()
            currentSecond = second
        }
        currentSecondWrites += 1
        let depth = Self.depth(path)
        while depth >= depths.count { depths.append(0) }
        depths[depth] += 1
        pathWrites[path, default: 0] += 1
    }

    public static func hasSequenceSuffix(_ path: String) -> Bool {
        let utf8 = path.utf8
        guard utf8.count >= 10 else { return false }
        return utf8.suffix(10).allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    static func depth(_ path: String) -> Int { path.utf8.reduce(0) { $0 + ($1 == 0x2F ? 1 : 0) } }

    /// 0 for empty values; i for 2^(i-1) ..< 2^i bytes.
    static func sizeIndex(_ size: Int) -> Int {
        size <= 0 ? 0 : Int.bitWidth - size.leadingZeroBitCount
    }

    private mutating func flushSecond() {
        if currentSecondWrites > 0 { writesBySecond[currentSecond, default: 0] += currentSecondWrites }
        currentSecondWrites = 0
    }

    public mutating func addFile(_ summary: TxnLogInspection.FileSummary) {
        inspection.files.append(summary)
        inspection.bytesRead += summary.bytes
    }

    /// The finished inspection: histograms sorted, the timeline filled, the hottest paths ranked.
    public func finish() -> TxnLogInspection {
        var copy = self
        copy.flushSecond()
        return copy.finished()
    }

    private func finished() -> TxnLogInspection {
        var result = inspection
        result.distinctSessions = clients.count
        result.valueSizes = valueSizes.indices.filter { valueSizes[$0] > 0 }.map {
            .init(from: $0 == 0 ? 0 : 1 << ($0 - 1), count: valueSizes[$0])
        }
        result.pathDepths = depths.indices.filter { depths[$0] > 0 }.map { .init(from: $0, count: depths[$0]) }
        result.multiSizes = multiSizes.sorted { $0.key < $1.key }.map { .init(from: $0.key, count: $0.value) }
        result.distinctPaths = pathWrites.count
        let counts = pathWrites.values.sorted(by: >)
        let total = counts.reduce(0, +)
        if total > 0 {
            let hot = counts.prefix(max(1, counts.count / 5)).reduce(0, +)
            result.hotShare = Double(hot) / Double(total)
        }
        result.hottestPaths = pathWrites.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(hottest)
            .map { .init(path: $0.key, writes: $0.value) }
        if let first = writesBySecond.keys.min(), let last = writesBySecond.keys.max() {
            result.writesPerSecond = (first...last).map { writesBySecond[$0] ?? 0 }
        }
        return result
    }

    /// Reads every log in `paths` (files or version-2 directories), verifying checksums. Torn tails and
    /// unreadable entries are recorded in the file's summary, not thrown; a file that is not a log at
    /// all (bad magic, unreadable) is recorded too, so one bad file does not hide the others.
    public static func inspect(
        _ paths: [String],
        hottest: Int = 10,
        from: Int64? = nil,
        to: Int64? = nil
    ) throws(ZooKeeperFileError) -> TxnLogInspection {
        var inspector = TxnLogInspector(hottest: hottest)
        for path in try DataDirectory.files(paths, kind: .log) {
            inspector.addFile(inspector.read(path, from: from, to: to))
        }
        return inspector.finish()
    }

    mutating func read(_ path: String, from: Int64?, to: Int64?) -> TxnLogInspection.FileSummary {
        var summary = TxnLogInspection.FileSummary(
            path: path,
            dbid: nil,
            bytes: 0,
            entries: 0,
            firstZxid: nil,
            lastZxid: nil,
            end: "error",
            endOffset: 0,
            problem: nil,
            skippedBytes: 0
        )
        do {
            let reader = try TxnLogReader(path: path)
            summary.dbid = reader.dbid
            while let entry = try reader.next() {
                summary.entries += 1
                if summary.firstZxid == nil { summary.firstZxid = entry.header.zxid }
                summary.lastZxid = entry.header.zxid
                if let from, entry.header.zxid < from { continue }
                if let to, entry.header.zxid > to { continue }
                add(entry)
            }
            summary.bytes = reader.bytesRead
            switch reader.end! {
            case .endOfFile(let o):
                summary.end = "end-of-file"
                summary.endOffset = o
            case .zeroPadding(let o):
                summary.end = "zero-padding"
                summary.endOffset = o
            case .torn(let o, let reason, let skipped):
                summary.end = "torn"
                summary.endOffset = o
                summary.problem = reason
                summary.skippedBytes = skipped
            }
        } catch {
            summary.end = "error"
            summary.endOffset = error.offset
            summary.problem = error.description
        }
        return summary
    }
}
