import Histogram

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A latency distribution in microseconds, 1 µs to 60 s at three significant digits (HdrHistogram).
///
/// Recording is allocation-free once created. Values above the range are clamped to the top and counted
/// in `saturatedCount`, so nothing recorded is ever dropped silently. `encoded()` is lossless, so
/// results from many workers merge into one exact distribution.
public struct LatencyHistogram: Sendable {
    public static let lowestMicroseconds: UInt64 = 1
    public static let highestMicroseconds: UInt64 = 60_000_000

    @usableFromInline
    var histogram: Histogram<UInt64>
    /// Recordings above 60 s, clamped to 60 s.
    @usableFromInline
    var saturated: UInt64 = 0
    public var saturatedCount: UInt64 { saturated }

    public init() {
        histogram = Histogram<UInt64>(
            lowestDiscernibleValue: Self.lowestMicroseconds,
            highestTrackableValue: Self.highestMicroseconds,
            numberOfSignificantValueDigits: .three
        )
    }

    @inlinable
    public mutating func record(microseconds: UInt64, count: UInt64 = 1) {
        if microseconds > Self.highestMicroseconds {
            saturated &+= count
            _ = histogram.record(Self.highestMicroseconds, count: count)
        } else {
            _ = histogram.record(microseconds, count: count)
        }
    }

    /// Records a duration given in nanoseconds, rounded to the nearest microsecond.
    @inlinable
    public mutating func record(nanoseconds: UInt64) {
        record(microseconds: (nanoseconds &+ 500) / 1000)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        saturated &+= other.saturated
    }

    public mutating func reset() {
        histogram.reset()
        saturated = 0
    }

    public var count: UInt64 { histogram.totalCount }
    public var isEmpty: Bool { histogram.totalCount == 0 }
    /// Smallest recorded value (µs), 0 when empty.
    public var min: UInt64 { isEmpty ? 0 : histogram.min }
    /// Largest recorded value (µs, highest equivalent of its bucket), 0 when empty.
    public var max: UInt64 { isEmpty ? 0 : histogram.max }
    public var mean: Double { isEmpty ? 0 : histogram.mean }
    public var standardDeviation: Double { isEmpty ? 0 : histogram.stdDeviation }

    /// The value (µs) at `percentile` (0...100); 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        isEmpty ? 0 : histogram.valueAtPercentile(percentile)
    }

    /// How many recorded values are at or below `microseconds` (for cumulative Prometheus buckets).
    public func count(atOrBelow microseconds: UInt64) -> UInt64 {
        if isEmpty { return 0 }
        return histogram.count(within: 0...microseconds)
    }

    /// What one Prometheus histogram and summary need, read in a single pass over the recorded buckets.
    public struct Distribution: Sendable, Equatable {
        /// `count(atOrBelow:)` of each bound.
        public var cumulativeCounts: [UInt64]
        /// `value(atPercentile:)` of each percentile (µs).
        public var percentileValues: [UInt64]
        /// Sum of all values in µs from bucket midpoints, as `approximateSum`.
        public var sum: Double
        public var count: UInt64
    }

    /// `count(atOrBelow:)` for each of `bounds` (ascending), `value(atPercentile:)` for each of
    /// `percentiles` (any order) and the sum, in one pass instead of one pass per question: the
    /// exposition asks these of every histogram at every interval.
    public func distribution(bounds: [UInt64], percentiles: [Double]) -> Distribution {
        var result = Distribution(
            cumulativeCounts: [UInt64](repeating: 0, count: bounds.count),
            percentileValues: percentiles.map { _ in 0 },
            sum: 0,
            count: count
        )
        if isEmpty { return result }
        let lowestRecorded = histogram.min
        let highestRecorded = histogram.maxRecorded
        // The same rank rule as HdrHistogram's valueAtPercentile, so both agree exactly.
        let ranks: [UInt64?] = percentiles.map { percentile in
            guard percentile > 0, percentile < 100 else { return nil }
            let requested = Swift.min(Swift.max(percentile.nextDown, 0), 100)
            return Swift.max(1, UInt64((requested * Double(result.count) / 100).rounded(.up)))
        }
        for (index, percentile) in percentiles.enumerated() where ranks[index] == nil {
            result.percentileValues[index] = percentile <= 0 ? lowestRecorded : highestRecorded
        }
        let rankOrder = ranks.indices.filter { ranks[$0] != nil }.sorted { ranks[$0]! < ranks[$1]! }
        var nextRank = 0
        var nextBound = 0
        var running: UInt64 = 0
        for bucket in histogram.recordedValues() {
            // A bucket counts at or below a bound when the bound falls in or after it.
            let lowest = histogram.lowestEquivalentForValue(bucket.value)
            while nextBound < bounds.count && bounds[nextBound] < lowest {
                result.cumulativeCounts[nextBound] = running
                nextBound += 1
            }
            running += UInt64(bucket.count)
            result.sum += Double(histogram.medianEquivalentForValue(bucket.value)) * Double(bucket.count)
            while nextRank < rankOrder.count && running >= ranks[rankOrder[nextRank]]! {
                result.percentileValues[rankOrder[nextRank]] = Swift.max(
                    Swift.min(bucket.value, highestRecorded),
                    lowestRecorded
                )
                nextRank += 1
            }
        }
        while nextBound < bounds.count {
            result.cumulativeCounts[nextBound] = running
            nextBound += 1
        }
        return result
    }

    /// Sum of all recorded values in µs, from bucket midpoints (exact to the histogram's precision).
    public var approximateSum: Double { mean * Double(count) }

    /// Every non-empty bucket as (value µs, count), ascending.
    public var recordedBuckets: [(value: UInt64, count: UInt64)] {
        histogram.recordedValues().map { ($0.value, UInt64($0.count)) }
    }

    /// HdrHistogram's `.hgrm` percentile distribution, values in milliseconds (as HistogramLogAnalyzer expects).
    public func percentileDistribution() -> String {
        var out = ""
        histogram.outputPercentileDistribution(to: &out, outputValueUnitScalingRatio: 1000)
        return out
    }
}

extension LatencyHistogram: Equatable {
    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.saturatedCount == rhs.saturatedCount && lhs.recordedBuckets.elementsEqual(rhs.recordedBuckets, by: ==)
    }
}

// MARK: - Lossless text encoding

/// `LatencyHistogram.encoded()` could not be read back.
public struct LatencyHistogramDecodingError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "invalid encoded histogram: \(reason)" }
}

extension LatencyHistogram {
    static let encodingPrefix = "hdr1:"

    /// A compact lossless text form: "hdr1:" + base64 of varints — saturated count, exact min and max,
    /// then for each non-empty bucket the delta of its lowest value from the previous one and its count.
    public func encoded() -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        Self.appendVarint(saturated, to: &bytes)
        Self.appendVarint(histogram.min, to: &bytes)
        Self.appendVarint(histogram.maxRecorded, to: &bytes)
        var previous: UInt64 = 0
        for bucket in histogram.recordedValues() {
            let value = histogram.lowestEquivalentForValue(bucket.value)
            Self.appendVarint(value - previous, to: &bytes)
            Self.appendVarint(UInt64(bucket.count), to: &bytes)
            previous = value
        }
        return Self.encodingPrefix + Data(bytes).base64EncodedString()
    }

    public init(encoded text: String) throws(LatencyHistogramDecodingError) {
        guard text.hasPrefix(Self.encodingPrefix) else {
            throw LatencyHistogramDecodingError(reason: "missing \"hdr1:\" prefix")
        }
        guard let data = Data(base64Encoded: String(text.dropFirst(Self.encodingPrefix.count))) else {
            throw LatencyHistogramDecodingError(reason: "not base64")
        }
        let bytes = [UInt8](data)
        self.init()
        var index = 0
        let saturated = try Self.readVarint(bytes, &index)
        let exactMin = try Self.readVarint(bytes, &index)
        let exactMax = try Self.readVarint(bytes, &index)
        var value: UInt64 = 0
        var first = true
        while index < bytes.count {
            value += try Self.readVarint(bytes, &index)
            var count = try Self.readVarint(bytes, &index)
            let last = index >= bytes.count
            // Record the exact extremes inside their own buckets so min, max and p100 survive too.
            if first && count > 0 {
                try record(exactMin, inBucketOf: value)
                count -= 1
            }
            if last && count > 0 && !(first && exactMin == exactMax) {
                try record(exactMax, inBucketOf: value)
                count -= 1
            }
            if count > 0 {
                guard histogram.record(value, count: count) else {
                    throw LatencyHistogramDecodingError(reason: "value \(value) µs outside 1 µs...60 s")
                }
            }
            first = false
        }
        self.saturated = saturated
    }

    private mutating func record(_ exact: UInt64, inBucketOf value: UInt64) throws(LatencyHistogramDecodingError) {
        guard histogram.valuesAreEquivalent(exact, value), histogram.record(exact) else {
            throw LatencyHistogramDecodingError(reason: "extreme \(exact) µs does not match bucket \(value)")
        }
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private static func readVarint(_ bytes: [UInt8], _ index: inout Int) throws(LatencyHistogramDecodingError) -> UInt64
    {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            guard shift < 64 else { break }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw LatencyHistogramDecodingError(reason: "truncated varint at byte \(index)")
    }
}
