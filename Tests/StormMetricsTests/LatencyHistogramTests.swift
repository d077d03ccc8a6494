import Foundation
import Testing

@testable import StormMetrics

@Suite struct LatencyHistogramTests {
    @Test func percentilesFollowRecordedValues() {
        var h = LatencyHistogram()
        for us in 1...1000 { h.record(microseconds: UInt64(us)) }
        #expect(h.count == 1000)
        #expect(h.value(atPercentile: 50) == 500)
        #expect(h.value(atPercentile: 99) == 990)
        #expect(h.max == 1000)
        #expect(h.min == 1)
    }

    @Test func nanosecondsRoundToMicroseconds() {
        var h = LatencyHistogram()
        h.record(nanoseconds: 1_499)
        h.record(nanoseconds: 1_500)
        #expect(h.count(atOrBelow: 1) == 1)
        #expect(h.count(atOrBelow: 2) == 2)
    }

    @Test func valuesAboveSixtySecondsAreClampedAndCounted() {
        var h = LatencyHistogram()
        h.record(microseconds: 120_000_000)
        #expect(h.count == 1)
        #expect(h.saturatedCount == 1)
        #expect(h.max >= LatencyHistogram.highestMicroseconds)
    }

    @Test func mergeAddsCounts() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        a.record(microseconds: 100, count: 3)
        b.record(microseconds: 10_000, count: 1)
        a.merge(b)
        #expect(a.count == 4)
        #expect(a.value(atPercentile: 75) == 100)
        #expect(a.max == LatencyHistogram().withRecorded(10_000).max)
    }

    @Test func encodingIsLossless() throws {
        var h = LatencyHistogram()
        var seed: UInt64 = 42
        for _ in 0..<50_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            h.record(microseconds: 1 + (seed >> 33) % 5_000_000)
        }
        h.record(microseconds: 90_000_000)
        let text = h.encoded()
        #expect(text.hasPrefix("hdr1:"))
        let back = try LatencyHistogram(encoded: text)
        #expect(back == h)
        #expect(back.count == h.count)
        #expect(back.saturatedCount == 1)
        for p in [50.0, 90, 99, 99.9, 99.99, 100] {
            #expect(back.value(atPercentile: p) == h.value(atPercentile: p))
        }
    }

    @Test func emptyHistogramEncodesAndReportsZeros() throws {
        let h = LatencyHistogram()
        #expect(h.value(atPercentile: 99) == 0)
        #expect(h.max == 0)
        #expect(try LatencyHistogram(encoded: h.encoded()) == h)
    }

    @Test func badEncodingsAreRefused() {
        #expect(throws: LatencyHistogramDecodingError.self) { try LatencyHistogram(encoded: "nope") }
        #expect(throws: LatencyHistogramDecodingError.self) { try LatencyHistogram(encoded: "hdr1:!!!") }
        #expect(throws: LatencyHistogramDecodingError.self) { try LatencyHistogram(encoded: "hdr1:gA==") }
    }

    @Test func hgrmOutputHasPercentileTable() {
        var h = LatencyHistogram()
        for us in 1...100 { h.record(microseconds: UInt64(us * 10)) }
        let text = h.percentileDistribution()
        #expect(text.contains("Percentile"))
        #expect(text.contains("#[Max     ="))
    }
}

extension LatencyHistogram {
    fileprivate func withRecorded(_ us: UInt64) -> LatencyHistogram {
        var copy = self
        copy.record(microseconds: us)
        return copy
    }
}

@Suite struct LatencyHistogramBatchQueryTests {
    static func randomHistogram(seed: UInt64, count: Int) -> LatencyHistogram {
        var histogram = LatencyHistogram()
        var state = seed
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Log-uniform from 1 µs to about 70 s, so every bucket range and the clamp get values.
            let exponent = Double(state >> 11) / Double(1 << 53) * 18.1
            histogram.record(microseconds: UInt64(exp(exponent)))
        }
        return histogram
    }

    @Test(arguments: [1, 7, 1_000, 50_000])
    func oneQueryPerBoundAndOnePassAgree(count: Int) {
        let histogram = Self.randomHistogram(seed: UInt64(count), count: count)
        let bounds: [UInt64] = [
            1, 2, 25, 50, 100, 250, 1_000, 1_023, 1_024, 2_048, 2_500, 65_536, 1_000_000, 10_000_000, 60_000_000,
        ]
        let percentiles = [99.9, 0, 50, 90, 99, 100, 0.001, 99.999, 12.5]
        let distribution = histogram.distribution(bounds: bounds, percentiles: percentiles)
        #expect(distribution.cumulativeCounts == bounds.map { histogram.count(atOrBelow: $0) })
        #expect(distribution.percentileValues == percentiles.map { histogram.value(atPercentile: $0) })
        #expect(abs(distribution.sum - histogram.approximateSum) <= 1e-9 * histogram.approximateSum)
        #expect(distribution.count == histogram.count)
    }

    @Test func emptyHistogramGivesZeros() {
        let histogram = LatencyHistogram()
        let distribution = histogram.distribution(bounds: [1, 10], percentiles: [50, 100])
        #expect(distribution == .init(cumulativeCounts: [0, 0], percentileValues: [0, 0], sum: 0, count: 0))
    }
}
