import CZlib
import Foundation

/// HdrHistogram's V2 compressed histogram encoding (`HISTF…` in base64), the form its interval logs
/// carry and its own tools (HistogramLogProcessor, HistogramLogAnalyzer, Python `hdrh`) decode.
public enum HdrV2Encoding {
    /// V2 encoding cookie with the TLZE word-size bits (0x10).
    static let encodingCookie: UInt32 = 0x1c84_9303 | 0x10
    static let compressedCookie: UInt32 = 0x1c84_9304 | 0x10
    static let significantDigits: UInt32 = 3
    /// log2 of half the sub-bucket count for 3 significant digits (2048 sub-buckets).
    static let subBucketHalfCountMagnitude = 10
    static let subBucketMask: UInt64 = 2047

    /// The index of `value`'s bucket in HdrHistogram's counts array (lowest 1, three digits).
    static func countsIndex(_ value: UInt64) -> Int {
        let bucket = 53 - (value | subBucketMask).leadingZeroBitCount
        let subBucket = Int(value >> UInt64(bucket))
        return ((bucket + 1) << subBucketHalfCountMagnitude) + subBucket - (1 << subBucketHalfCountMagnitude)
    }

    /// The uncompressed V2 payload: 40-byte header, then the counts as ZigZag LEB128 with runs of
    /// zeros as one negative number.
    public static func payload(_ histogram: LatencyHistogram) -> [UInt8] {
        var counts: [UInt64] = []
        for bucket in histogram.recordedBuckets {
            let index = countsIndex(bucket.value)
            if index >= counts.count { counts.append(contentsOf: repeatElement(0, count: index + 1 - counts.count)) }
            counts[index] += bucket.count
        }
        var body: [UInt8] = []
        var index = 0
        while index < counts.count {
            if counts[index] == 0 {
                var zeros: Int64 = 0
                while index < counts.count && counts[index] == 0 {
                    zeros += 1
                    index += 1
                }
                appendZigZag(zeros > 1 ? -zeros : 0, to: &body)
            } else {
                appendZigZag(Int64(clamping: counts[index]), to: &body)
                index += 1
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40 + body.count)
        appendBigEndian(UInt64(encodingCookie), width: 4, to: &bytes)
        appendBigEndian(UInt64(body.count), width: 4, to: &bytes)
        appendBigEndian(0, width: 4, to: &bytes)  // normalizing index offset
        appendBigEndian(UInt64(significantDigits), width: 4, to: &bytes)
        appendBigEndian(LatencyHistogram.lowestMicroseconds, width: 8, to: &bytes)
        appendBigEndian(LatencyHistogram.highestMicroseconds, width: 8, to: &bytes)
        appendBigEndian((1.0 as Double).bitPattern, width: 8, to: &bytes)  // integer-to-double ratio
        return bytes + body
    }

    /// The compressed form, base64: what one interval-log line carries.
    public static func compressedBase64(_ histogram: LatencyHistogram) throws(GzipError) -> String {
        let raw = payload(histogram)
        var length = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(length))
        let status = compress2(&compressed, &length, raw, uLong(raw.count), Z_DEFAULT_COMPRESSION)
        guard status == Z_OK else {
            throw GzipError(operation: "compress2", code: status, message: "cannot compress an HdrHistogram payload")
        }
        var bytes: [UInt8] = []
        appendBigEndian(UInt64(compressedCookie), width: 4, to: &bytes)
        appendBigEndian(UInt64(length), width: 4, to: &bytes)
        bytes += compressed.prefix(Int(length))
        return Data(bytes).base64EncodedString()
    }

    static func appendZigZag(_ value: Int64, to bytes: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    static func appendBigEndian(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8((value >> UInt64(shift)) & 0xff))
        }
    }
}

/// Writes HdrHistogram's interval log (format 1.3): `#[StartTime:` and `#[BaseTime:` headers, the
/// legend, then one `Tag=NAME,start,length,max,HISTF…` line per tag and interval. Values are µs; the
/// max column is in ms (HdrHistogram's tools' default unit ratio for µs recordings is 1000).
/// `zkstorm run --hlog` and `zkstorm replay --hlog` write it at the live line's interval.
public final class HdrIntervalLogWriter: Sendable {
    public let path: String
    private let handle: FileHandle
    private let startUnixSeconds: Double

    /// Creates (truncates) `path` and writes the headers; times are relative to `start`.
    public init(path: String, start: Date) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.path = path
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        startUnixSeconds = start.timeIntervalSince1970
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let header = """
            #[Logged with zkstorm]
            #[Histogram log format version 1.3]
            #[StartTime: \(String(format: "%.3f", startUnixSeconds)) (seconds since epoch), \(formatter.string(from: start))]
            #[BaseTime: \(String(format: "%.3f", startUnixSeconds)) (seconds since epoch)]
            "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"

            """
        try handle.write(contentsOf: Data(header.utf8))
    }

    /// One line: `histogram` holds what `tag` recorded from `startSeconds` (since the start) for
    /// `lengthSeconds`. An empty histogram is written too, so every tag has every interval.
    public func append(tag: String, startSeconds: Double, lengthSeconds: Double, histogram: LatencyHistogram) throws {
        let line = try Self.line(
            tag: tag,
            startSeconds: startSeconds,
            lengthSeconds: lengthSeconds,
            histogram: histogram
        )
        try handle.write(contentsOf: Data(line.utf8))
    }

    static func line(
        tag: String,
        startSeconds: Double,
        lengthSeconds: Double,
        histogram: LatencyHistogram
    ) throws
        -> String
    {
        let encoded = try HdrV2Encoding.compressedBase64(histogram)
        return String(
            format: "Tag=%@,%.3f,%.3f,%.3f,%@\n",
            tag as NSString,
            startSeconds,
            lengthSeconds,
            Double(histogram.max) / 1000,
            encoded as NSString
        )
    }

    public func close() throws {
        try handle.synchronize()
        try handle.close()
    }
}

extension LatencyHistogram {
    /// What was recorded into `self` since it was `earlier` (a cumulative histogram at an earlier
    /// time): bucket counts subtracted, for interval histograms from cumulative ones.
    public func subtracting(_ earlier: LatencyHistogram) -> LatencyHistogram {
        var before: [UInt64: UInt64] = [:]
        for bucket in earlier.recordedBuckets { before[bucket.value] = bucket.count }
        var interval = LatencyHistogram()
        for bucket in recordedBuckets {
            let count = bucket.count - Swift.min(bucket.count, before[bucket.value] ?? 0)
            if count > 0 { interval.record(microseconds: bucket.value, count: count) }
        }
        return interval
    }
}
