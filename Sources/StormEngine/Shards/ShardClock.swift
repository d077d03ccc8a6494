import ZooKeeperClient
import ZooKeeperProtocol

#if canImport(Glibc)
import CoreFoundation
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One clock's offset to another with its error bar: the other clock read `offsetNanoseconds` less
/// than this one, give or take `errorNanoseconds`.
package struct ClockOffset: Codable, Sendable, Equatable {
    package var offsetNanoseconds: Int64
    package var errorNanoseconds: UInt64

    package init(offsetNanoseconds: Int64, errorNanoseconds: UInt64) {
        self.offsetNanoseconds = offsetNanoseconds
        self.errorNanoseconds = errorNanoseconds
    }

    package static let zero = ClockOffset(offsetNanoseconds: 0, errorNanoseconds: 0)

    /// This clock against `other`'s, both measured against the same reference: offsets subtract and
    /// error bars add.
    package func relative(to other: ClockOffset) -> ClockOffset {
        ClockOffset(
            offsetNanoseconds: offsetNanoseconds &- other.offsetNanoseconds,
            errorNanoseconds: errorNanoseconds &+ other.errorNanoseconds
        )
    }

    enum CodingKeys: String, CodingKey {
        case offsetNanoseconds = "offset_ns"
        case errorNanoseconds = "error_ns"
    }
}

/// Estimates this process's wall clock against the target's: each sample sets a znode and reads the
/// time ZooKeeper stamped on it (`mtime`, wall-clock ms, taken between the request's send and its
/// reply, from the leader's clock in a quorum). The server's ms lies in the sample's round trip, so its
/// midpoint is the best guess and half the round trip plus half a millisecond (mtime is truncated) the
/// error bar; the sample with the shortest round trip wins. Two shards' offsets to the target give
/// their offset to each other (`ClockOffset.relative(to:)`).
package enum ShardClock {
    /// Wall clock now, ns since 1970.
    package static func wallNow() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Wall clock minus the run's monotonic clock (RunClock), ns: `wall = mono + this`.
    package static func wallMinusMonotonic() -> Int64 {
        // The pair with the tightest bracket of two monotonic reads around one wall read.
        var best: (width: UInt64, value: Int64) = (.max, 0)
        for _ in 0..<5 {
            let before = RunClock.now()
            let wall = wallNow()
            let after = RunClock.now()
            let width = after &- before
            if width < best.width { best = (width, wall &- Int64(bitPattern: before &+ width / 2)) }
        }
        return best.value
    }

    /// Samples `samples` round trips against `path` (created if missing, under the run root).
    package static func offsetToTarget(
        client: ZooKeeperClient,
        path: String,
        acl: [ACL],
        samples: Int = 12
    ) async throws -> ClockOffset {
        do {
            _ = try await client.create(path, data: [], acl: acl)
        } catch let error as ZooKeeperError where error.code == .nodeExists {
            // Left by an earlier sample of this shard: set again below.
        }
        var best: ClockOffset?
        for sample in 0..<samples {
            let sent = wallNow()
            let stat = try await client.setData(path, data: Array("clock \(sample)".utf8))
            let received = wallNow()
            let halfTrip = UInt64(max(0, received - sent)) / 2
            let server = stat.mtime * 1_000_000 + 500_000
            let candidate = ClockOffset(
                offsetNanoseconds: (sent + received) / 2 - server,
                errorNanoseconds: halfTrip + 500_000
            )
            if best == nil || candidate.errorNanoseconds < best!.errorNanoseconds { best = candidate }
        }
        return best ?? .zero
    }
}
