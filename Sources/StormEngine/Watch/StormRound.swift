/// What one watch-storm round measured. Times are ns of lag (notification decoded − write sent).
public struct StormRoundSummary: Sendable, Equatable, Codable {
    public var round: Int
    /// Notifications expected: watchers × watched znodes.
    public var expected: Int
    public var notified: Int
    /// Expected notifications that had not arrived when the round timed out.
    public var missing: Int
    /// Notifications beyond the first for the same watcher and znode in this round.
    public var duplicates: Int
    public var firstNanoseconds: UInt64?
    public var medianNanoseconds: UInt64?
    /// The fan-out time: when the last watcher heard of the write.
    public var lastNanoseconds: UInt64?
    /// Writes of this round that failed (connection lost before the reply): their notifications are
    /// expected only if they arrive (the write may or may not have been applied); the watch ledger
    /// settles it by version.
    public var writesFailed: Int?
    /// Watchers the round went to, when stages ramp the storm (nil: every watcher).
    public var watchers: Int?
    /// When the round's writes went out, seconds since measurement began.
    public var atS: Double?

    enum CodingKeys: String, CodingKey {
        case round, expected, notified, missing, duplicates, watchers
        case atS = "at_s"
        case writesFailed = "writes_failed"
        case firstNanoseconds = "first_ns"
        case medianNanoseconds = "median_ns"
        case lastNanoseconds = "last_ns"
    }
}

/// Tracks one round: which (watcher, znode) pairs have been notified and when. Pure arithmetic on
/// monotonic timestamps, so the lag rules are tested without a network.
public struct StormRoundTracker: Sendable {
    public let round: Int
    public let watchers: Int
    public let znodes: Int
    /// Monotonic ns at which the write of each znode was sent; nil until the writer has sent it.
    public private(set) var writeSentAt: [UInt64?]
    /// First arrival per pair, index `watcher * znodes + znode`.
    private var firstArrival: [UInt64?]
    public private(set) var notified = 0
    public private(set) var duplicates = 0
    /// Per znode: its write failed; and how many watchers heard of it.
    public private(set) var writeFailed: [Bool]
    private var notifiedPerZnode: [Int]

    public init(round: Int, watchers: Int, znodes: Int) {
        self.round = round
        self.watchers = watchers
        self.znodes = znodes
        writeSentAt = Array(repeating: nil, count: znodes)
        firstArrival = Array(repeating: nil, count: watchers * znodes)
        writeFailed = Array(repeating: false, count: znodes)
        notifiedPerZnode = Array(repeating: 0, count: znodes)
    }

    public mutating func writeFailed(znode: Int) {
        writeFailed[znode] = true
    }

    /// Nothing more to wait for: every znode's write failed, or was sent and heard by every watcher.
    public var isSettled: Bool {
        (0..<znodes).allSatisfy { z in
            writeFailed[z] || (writeSentAt[z] != nil && notifiedPerZnode[z] == watchers)
        }
    }

    /// Notifications due: every watcher for each write that succeeded, plus those that arrived for a
    /// write that failed (it was applied after all).
    public var due: Int {
        (0..<znodes).reduce(0) { $0 + (writeFailed[$1] ? notifiedPerZnode[$1] : watchers) }
    }

    public var expected: Int { watchers * znodes }
    public var isComplete: Bool { notified == expected }

    public mutating func writeSent(znode: Int, at time: UInt64) {
        writeSentAt[znode] = time
    }

    /// Records a notification; returns false for a duplicate.
    @discardableResult
    public mutating func notification(watcher: Int, znode: Int, receivedAt: UInt64) -> Bool {
        let index = watcher * znodes + znode
        if firstArrival[index] != nil {
            duplicates += 1
            return false
        }
        firstArrival[index] = receivedAt
        notified += 1
        notifiedPerZnode[znode] += 1
        return true
    }

    /// Lag of every notification received so far, ns, in (watcher, znode) order. A notification decoded
    /// before the write's send stamp (possible only across clocks) counts as 0.
    public var lags: [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(notified)
        for (index, arrival) in firstArrival.enumerated() {
            guard let arrival, let sent = writeSentAt[index % znodes] else { continue }
            result.append(arrival > sent ? arrival - sent : 0)
        }
        return result
    }

    public func summary() -> StormRoundSummary {
        let sorted = lags.sorted()
        return StormRoundSummary(
            round: round,
            expected: due,
            notified: notified,
            missing: due - notified,
            duplicates: duplicates,
            firstNanoseconds: sorted.first,
            medianNanoseconds: sorted.isEmpty ? nil : sorted[(sorted.count - 1) / 2],
            lastNanoseconds: sorted.last,
            writesFailed: writeFailed.contains(true) ? writeFailed.filter { $0 }.count : nil
        )
    }
}

/// The payload a storm writer puts in the watched znode: writer id, sequence and wall-clock ns, so a
/// watcher (even in another process) can tell which write it saw and how many it missed.
public struct StormPayload: Sendable, Equatable {
    public var writer: UInt32
    public var sequence: UInt64
    public var wallClockNanoseconds: UInt64

    public init(writer: UInt32, sequence: UInt64, wallClockNanoseconds: UInt64) {
        self.writer = writer
        self.sequence = sequence
        self.wallClockNanoseconds = wallClockNanoseconds
    }

    /// Text so the znode is readable in zkCli: `zkstorm w=<writer> seq=<n> ns=<wall clock>`.
    public var bytes: [UInt8] { Array("zkstorm w=\(writer) seq=\(sequence) ns=\(wallClockNanoseconds)".utf8) }

    public init?(bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count == 4, fields[0] == "zkstorm",
            fields[1].hasPrefix("w="), let writer = UInt32(fields[1].dropFirst(2)),
            fields[2].hasPrefix("seq="), let sequence = UInt64(fields[2].dropFirst(4)),
            fields[3].hasPrefix("ns="), let ns = UInt64(fields[3].dropFirst(3))
        else { return nil }
        self.init(writer: writer, sequence: sequence, wallClockNanoseconds: ns)
    }
}

/// One-shot watches: versions written between the event and the re-arm go unseen by that watcher.
public enum RearmArithmetic {
    /// `armedVersion` is the znode version the watcher saw when it armed; the event was caused by the
    /// next write (`armedVersion + 1`); the re-arming read returned `rearmVersion`.
    public static func versionsMissed(armedVersion: Int32, rearmVersion: Int32) -> UInt64 {
        let missed = Int64(rearmVersion) - Int64(armedVersion) - 1
        return missed > 0 ? UInt64(missed) : 0
    }
}
