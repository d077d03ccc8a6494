import Foundation
import Testing

@testable import StormMetrics

/// HdrHistogram's V2 encoding and interval-log lines (read back by Python `hdrh` in zkstormCLITests).
@Suite struct HdrIntervalLogTests {
    @Test func countsIndexFollowsHdrHistogramsLayoutForThreeDigits() {
        // Bucket 0 holds 0...2047 one by one; each later bucket holds 1024 sub-buckets of twice the width.
        #expect(HdrV2Encoding.countsIndex(1) == 1)
        #expect(HdrV2Encoding.countsIndex(2047) == 2047)
        #expect(HdrV2Encoding.countsIndex(2048) == 2048)
        #expect(HdrV2Encoding.countsIndex(2049) == 2048)
        #expect(HdrV2Encoding.countsIndex(4095) == 3071)
        #expect(HdrV2Encoding.countsIndex(4096) == 3072)
    }

    @Test func payloadHasTheV2HeaderAndZeroRunsAsNegativeNumbers() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: 3, count: 2)
        histogram.record(microseconds: 10)
        let bytes = HdrV2Encoding.payload(histogram)
        #expect(Array(bytes[0..<4]) == [0x1c, 0x84, 0x93, 0x13])
        #expect(Array(bytes[12..<16]) == [0, 0, 0, 3])
        // Counts: index 0..2 zero (run of 3 → -3 → zigzag 5), 2 at index 3 (→ 4), 6 zeros (→ 11), 1 (→ 2).
        #expect(Array(bytes[40...]) == [5, 4, 11, 2])
        #expect(Array(bytes[4..<8]) == [0, 0, 0, 4])
    }

    @Test func compressedLineStartsWithHISTFAndCarriesTheTagAndMax() throws {
        var histogram = LatencyHistogram()
        for value in stride(from: UInt64(100), to: 5000, by: 7) { histogram.record(microseconds: value) }
        let line = try HdrIntervalLogWriter.line(tag: "get", startSeconds: 1, lengthSeconds: 1, histogram: histogram)
        #expect(line.hasPrefix("Tag=get,1.000,1.000,"))
        #expect(line.contains(",HISTF"))
        #expect(line.hasSuffix("\n"))
    }

    @Test func subtractingLeavesWhatWasRecordedSinceTheEarlierHistogram() {
        var earlier = LatencyHistogram()
        for value in UInt64(1)...500 { earlier.record(microseconds: value * 13) }
        var later = earlier
        var interval = LatencyHistogram()
        for value in UInt64(1)...300 {
            later.record(microseconds: value * 29)
            interval.record(microseconds: value * 29)
        }
        #expect(later.subtracting(earlier) == interval)
        #expect(later.subtracting(later).isEmpty)
    }
}
