import Foundation
import StormMetrics

/// `.hgrm` percentile-distribution files, one per histogram, for HdrHistogram's plotter.
package enum HgrmWriter {
    /// Writes `<dir>/<key with : replaced by _>.hgrm` for every histogram; returns the paths written.
    package static func write(_ result: RunResult, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        for key in result.histograms.keys.sorted() {
            guard let histogram = result.histogram(key), !histogram.isEmpty else { continue }
            let file = key.replacingOccurrences(of: ":", with: "_") + ".hgrm"
            let path = (directory as NSString).appendingPathComponent(file)
            try histogram.percentileDistribution().write(toFile: path, atomically: true, encoding: .utf8)
            written.append(path)
        }
        return written
    }
}
